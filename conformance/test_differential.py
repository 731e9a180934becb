"""Differential conformance: the same bundle under runc 1.1.5 (the oracle) and under pyrunc.

Each case is a config (a variation of the default spec, or a real client's config.json with
its host-specific parts rewritten). Both runtimes run it in the foreground with the probe of
``conformance/probe.py`` as the process, and what the process saw (ids, umask, capability
sets, no_new_privs, rlimits, oom_score_adj, mounts with their options, /dev, hostname, id
maps, cwd, environment, open fds, cgroups, network devices) must be equal field by field.

Each runtime gets its own pristine copy of the same rootfs (a runtime creates mount points in
it), and the configs differ only where they must: ``root.path`` when a client config gives an
absolute one, and a unique ``linux.cgroupsPath`` per run.

Normalizations, each for a documented reason:
  * the container id and cgroupsPath are replaced by placeholders (unique per run);
  * the probe itself drops what no runtime decides (mount ids, device numbers of anonymous
    filesystems, peer group ids, dates, link counts: see probe.py);
  * ``known_differences``: deliberate pyrunc behaviour that is not runc 1.1.5's, each with
    its reason; asserted to be exactly the documented difference, so a change on either side
    shows up instead of being hidden.
"""

import copy
import glob
import json
import os
import resource
import shutil
import tempfile
import uuid

import pytest

from conformance import probe
from tests import helpers

CLIENTS = os.path.join(helpers.SHARED, "reference", "clients")

# -- cases --------------------------------------------------------------------------------


def _user_groups_umask(c, w):
    c["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 1002, 5],
                            "umask": 0o027}
    c["process"]["cwd"] = "/home/nobody/work"  # missing: created by the runtime


def _caps_root(c, w):
    s = ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_SETUID"]
    c["process"]["capabilities"] = {
        "bounding": s + ["CAP_KILL"], "effective": s[:2], "permitted": s,
        "inheritable": s[1:3], "ambient": ["CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_KILL"]}


def _caps_user_ambient(c, w):
    _caps_root(c, w)
    c["process"]["user"] = {"uid": 1000, "gid": 1000}
    c["process"]["noNewPrivileges"] = False


def _caps_none(c, w):
    c["process"]["capabilities"] = {}


def _rlimits(c, w):
    c["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 500, "hard": 19000},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_NPROC", "soft": 100, "hard": 200},
        {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 2 ** 64 - 1},
        {"type": "RLIMIT_MSGQUEUE", "soft": 1000, "hard": 2000},
    ]
    c["process"]["oomScoreAdj"] = 500


def _readonly_root(c, w):
    c["root"]["readonly"] = True


def _masked_readonly(c, w):
    c["linux"]["maskedPaths"] = ["/proc/kcore", "/proc/acpi", "/etc/passwd", "/nonexistent",
                                 "/sys/firmware"]
    c["linux"]["readonlyPaths"] = ["/proc/sys", "/etc", "/nonexistent/x", "/proc/sysrq-trigger"]


def _tmpfs(c, w):
    c["mounts"] += [
        {"destination": "/data", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=700", "uid=5", "gid=6",
                     "noatime"]},
        {"destination": "/data2", "type": "tmpfs", "source": "tmpfs",
         "options": ["ro", "strictatime", "nr_inodes=100"]},
        {"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
         "options": ["tmpcopyup", "nosuid", "mode=755"]},
    ]


def _binds(c, w):
    d = os.path.join(w, "bind-dir")
    os.makedirs(os.path.join(d, "sub"), exist_ok=True)
    with open(os.path.join(w, "bind-file"), "w") as f:
        f.write("hello\n")
    c["mounts"] += [
        {"destination": "/b/dir", "type": "bind", "source": d,
         "options": ["rbind", "ro", "nosuid"]},
        {"destination": "/b/file", "type": "none", "source": os.path.join(w, "bind-file"),
         "options": ["bind", "rprivate", "noexec"]},
        # a relative source is relative to the bundle (runc chdirs into it)
        {"destination": "/b/rel", "type": "bind", "source": "rootfs/etc",
         "options": ["rbind", "ro", "nodev"]},
    ]


def _devices(c, w):
    c["linux"]["devices"] = [
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o600,
         "uid": 1, "gid": 2},
        {"path": "/dev/sub/loopx", "type": "b", "major": 7, "minor": 0},
        {"path": "/dev/fifo", "type": "p"},
    ]


def _hostname(c, w):
    # no domainname: runc 1.1.5 ignores it (it came in runc 1.2), see test_namespaces
    c["hostname"] = "probe-host"


def _sysctl(c, w):
    c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "100",
                            "net.ipv4.ping_group_range": "0 2147483647"}


def _no_netns(c, w):
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]


def _userns(c, w):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def _cgroupns(c, w):
    c["linux"]["namespaces"].append({"type": "cgroup"})


def _propagation_shared(c, w):
    c["linux"]["rootfsPropagation"] = "shared"


def _propagation_private(c, w):
    c["linux"]["rootfsPropagation"] = "rprivate"


def _env_cwd(c, w):
    c["process"]["env"] = ["Z=1", "PATH=/bin:/usr/bin", "A=2", "Z=3", "EMPTY="]
    c["process"]["cwd"] = "/tmp"


def _symlink_destinations(c, w):
    with open(os.path.join(w, "bind-file"), "w") as f:
        f.write("hello\n")
    c["mounts"] += [
        {"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/evil2/y", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/evil3", "type": "bind", "source": os.path.join(w, "bind-file"),
         "options": ["bind"]},
        {"destination": "/dangling/sub", "type": "tmpfs", "source": "tmpfs"},
    ]


def _symlink_rootfs(rootfs):
    # symlinks in the image that point outside it: mounts must land inside the rootfs
    os.symlink("/", os.path.join(rootfs, "evil"))
    os.symlink("../../../../../..", os.path.join(rootfs, "evil2"))
    os.symlink("/zfile", os.path.join(rootfs, "evil3"))          # dangling, a file bind
    os.symlink("../made/dir", os.path.join(rootfs, "dangling"))  # dangling, a directory


def _cwd_root_only(c, w):
    c["process"]["user"] = {"uid": 1000, "gid": 1000}
    c["process"]["cwd"] = "/root"


def _root_0700(rootfs):
    os.chmod(os.path.join(rootfs, "root"), 0o700)


ROOTFS_SETUP = {"symlink-destinations": _symlink_rootfs, "cwd-only-root-may-enter": _root_0700}

CASES = {
    "default": None,
    "user-groups-umask": _user_groups_umask,
    "caps-root": _caps_root,
    "caps-user-ambient": _caps_user_ambient,
    "caps-none": _caps_none,
    "rlimits-oom": _rlimits,
    "readonly-root": _readonly_root,
    "masked-readonly-paths": _masked_readonly,
    "tmpfs-options": _tmpfs,
    "binds": _binds,
    "devices": _devices,
    "hostname": _hostname,
    "sysctl": _sysctl,
    "no-network-ns": _no_netns,
    "user-namespace": _userns,
    "cgroup-namespace": _cgroupns,
    "rootfs-propagation-shared": _propagation_shared,
    "rootfs-propagation-rprivate": _propagation_private,
    "env-cwd": _env_cwd,
    "symlink-destinations": _symlink_destinations,
    "cwd-only-root-may-enter": _cwd_root_only,
}

# -- the real clients' configs --------------------------------------------------------------

CLIENT_CONFIGS = sorted(glob.glob(os.path.join(CLIENTS, "*-config.json")) +
                        glob.glob(os.path.join(CLIENTS, "examples", "*-config.json")))

# pyrunc implements seccomp now: keep the clients' profiles (podman's with defaultErrnoRet
# and three architectures, docker's); the probe shows Seccomp/Seccomp_filters and what a
# filtered unshare(2) returns
KEEP_SECCOMP = True

_FILE_BINDS = {"hostname", "hosts", "resolv.conf", ".containerenv", "podman-init"}


def adapt_client_config(c, w):
    """Make a client's config.json runnable here, changing only host-specific parts."""
    c = copy.deepcopy(c)
    c["root"]["path"] = "@ROOTFS@"  # each runtime's own copy (absolute, like podman/docker)
    p = c["process"]
    p["args"] = probe.args()
    p["terminal"] = False       # no console socket here; the probe prints to stdout
    p.pop("consoleSize", None)
    p.pop("apparmorProfile", None)
    p.pop("selinuxLabel", None)
    hard_now = {}
    for rl in p.get("rlimits") or ():
        # root has no CAP_SYS_RESOURCE on this VM: raising a hard limit would fail (podman's
        # 1048576 does, see CONTRACT.md §7), so cap at what this process may set
        num = getattr(resource, rl["type"])
        hard = hard_now.setdefault(num, resource.getrlimit(num)[1])
        if hard != resource.RLIM_INFINITY:
            rl["hard"] = min(rl["hard"], hard)
            rl["soft"] = min(rl["soft"], rl["hard"])
    c.pop("hooks", None)        # docker's prestart hook is dockerd's own binary
    linux = c.setdefault("linux", {})
    if not KEEP_SECCOMP:
        linux.pop("seccomp", None)
    linux.pop("mountLabel", None)
    for ns in linux.get("namespaces") or ():
        ns.pop("path", None)    # /run/netns/... and /proc/<infra>/ns/* are gone
    sources = {}
    for m in c.get("mounts") or ():
        opts = m.get("options") or ()
        if m.get("type") == "bind" or "bind" in opts or "rbind" in opts:
            src = m["source"]
            if src not in sources:
                new = os.path.join(w, "src%d-%s" % (len(sources), os.path.basename(src)))
                if os.path.basename(m["destination"]) in _FILE_BINDS:
                    with open(new, "w") as f:
                        f.write("content of %s\n" % os.path.basename(src))
                else:
                    os.makedirs(new)
                sources[src] = new
            m["source"] = sources[src]
    return c


def _client_case_id(path):
    return os.path.basename(path)[:-len("-config.json")]


# -- running ----------------------------------------------------------------------------


@pytest.fixture
def workdir():
    """A directory every user can traverse: a user namespace's root (host uid 100000) must
    reach the rootfs, and pytest's own tmp_path is under a 0700 directory."""
    d = tempfile.mkdtemp(prefix="pyrunc-diff-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _host_id(mappings, cid=0):
    for m in mappings or ():
        if m["containerID"] <= cid < m["containerID"] + m["size"]:
            return m["hostID"] + cid - m["containerID"]
    return None


def _chown_for_userns(rootfs, cfg):
    """What podman does for --uidmap: the image belongs to the container's root, so that
    root can create mount points in it (e.g. /etc/hosts for a file bind)."""
    linux = cfg.get("linux") or {}
    uid, gid = _host_id(linux.get("uidMappings")), _host_id(linux.get("gidMappings"))
    if uid is None or gid is None:
        return
    for dirpath, dirs, files in os.walk(rootfs):
        for name in [dirpath] + [os.path.join(dirpath, n) for n in dirs + files]:
            os.lchown(name, uid, gid)


def observe(rt, config, workdir, template, run_args=(), rootfs_setup=None, expect_ok=True):
    """Run the probe in ``config`` under ``rt``; (observations dict, placeholders)."""
    bdir = os.path.join(workdir, "bundle-" + rt.name)
    os.mkdir(bdir)
    os.chmod(bdir, 0o755)
    shutil.copytree(template, os.path.join(bdir, "rootfs"), symlinks=True)
    if rootfs_setup is not None:
        rootfs_setup(os.path.join(bdir, "rootfs"))
    cfg = copy.deepcopy(config)
    _chown_for_userns(os.path.join(bdir, "rootfs"), cfg)
    if cfg["root"]["path"] == "@ROOTFS@":
        cfg["root"]["path"] = os.path.join(bdir, "rootfs")
    cid = "diff-%s-%s" % (rt.name, uuid.uuid4().hex[:10])
    cg = None
    if cfg.get("linux", {}).get("cgroupsPath"):
        cg = "/pyrunc-difftest-%s" % cid  # one level: no parent cgroup left behind
        cfg["linux"]["cgroupsPath"] = cg
    with open(os.path.join(bdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    try:
        r = rt.cmd("run", *run_args, "--bundle", bdir, cid, timeout=60)
    finally:
        rt.cleanup()
    if not expect_ok:
        return r
    assert r.code == 0, "%s failed: %r" % (rt.name, r)
    assert "@@ end" in r.out, r
    return probe.parse(r.out), {cid: "<id>", cg: "<cgroupsPath>"}


def _placeholders(value, subst):
    if isinstance(value, str):
        for k, v in subst.items():
            if k:
                value = value.replace(k, v)
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_placeholders(x, subst) for x in value)
    return value


def _placeholders_all(obs, subst, config):
    out = {k: _placeholders(v, subst) for k, v in obs.items()}
    if not any(n["type"] == "network" for n in (config.get("linux") or {}).get("namespaces")
               or ()):
        # the host's interfaces: other processes on this host add and remove them
        out.pop("netdev", None)
    return out


def _cgroup_mount_dests(config):
    return {os.path.normpath(m["destination"]) for m in config.get("mounts") or ()
            if m.get("type") == "cgroup"}


def known_differences(a, b, config):
    """Deliberate pyrunc behaviour that is not runc 1.1.5's (reported to the lead).

    Each is asserted to be exactly what is documented here, then pyrunc's observation is
    rewritten to runc's form; if either side changes, this fails and says which entry to drop.
    """
    if "mounts" not in a or "mounts" not in b:
        return
    ma = {m[0]: m for m in a["mounts"]}
    mb = {m[0]: m for m in b["mounts"]}
    for dest in _cgroup_mount_dests(config):
        # 1. On a hybrid host pyrunc also binds the cgroup2 hierarchy at <dest>/unified (so
        #    systemd in the container sees the hybrid layout); runc 1.1.5 leaves it out.
        uni = os.path.join(dest, "unified")
        if uni in mb or uni in ma:
            assert uni not in ma and mb[uni][1] == "cgroup2", \
                "KNOWN difference 1 changed (%s): drop it from known_differences" % uni
            del mb[uni]
        # 2. With "ro", pyrunc also makes the tmpfs holding the hierarchies read-only; runc
        #    1.1.5 leaves that tmpfs rw (only the per-controller mounts are ro).
        if dest in ma and ma[dest][1] == "tmpfs" and ma[dest][2] != mb[dest][2]:
            ta, tb = ma[dest], mb[dest]
            assert ta[2].startswith("rw,") and tb[2].startswith("ro,") and \
                tb[2][3:] == ta[2][3:], \
                "KNOWN difference 2 changed (%r / %r): drop it from known_differences" % (ta, tb)
            mb[dest] = ta[:2] + ("rw," + tb[2][3:],) + tb[3:5] + ("rw," + tb[5][3:],)
    # 3. rootfsPropagation "shared": pyrunc makes the container's / a shared mount, as the
    #    spec says ("sets the rootfs's mount propagation") and later runc versions do; runc
    #    1.1.5 only applies it to the host's / before bind-mounting the rootfs, which then
    #    ends up private.
    if (config.get("linux") or {}).get("rootfsPropagation") in ("shared", "rshared"):
        assert ma["/"][3] == "private" and mb["/"][3] == "shared", \
            "KNOWN difference 3 changed (%r / %r): drop it" % (ma["/"], mb["/"])
        mb["/"] = mb["/"][:3] + ("private",) + mb["/"][4:]
    b["mounts"] = sorted(mb.values())


def _diff(a, b):
    lines = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if va == vb:
            continue
        lines.append("[%s]" % k)
        if isinstance(va, list) and isinstance(vb, list):
            lines += ["  runc only:   %r" % (x,) for x in va if x not in vb]
            lines += ["  pyrunc only: %r" % (x,) for x in vb if x not in va]
            if all(x in vb for x in va) and all(x in va for x in vb):
                lines.append("  order: runc %r / pyrunc %r" % (va, vb))
        else:
            lines.append("  runc:   %r" % (va,))
            lines.append("  pyrunc: %r" % (vb,))
    return lines


def compare(runc, pyrunc, config, workdir, template, run_args=(), rootfs_setup=None):
    a, sa = observe(runc, config, workdir, template, run_args, rootfs_setup)
    b, sb = observe(pyrunc, config, workdir, template, run_args, rootfs_setup)
    a, b = _placeholders_all(a, sa, config), _placeholders_all(b, sb, config)
    known_differences(a, b, config)
    diff = _diff(a, b)
    assert not diff, "runc and pyrunc saw different things:\n" + "\n".join(diff)
    return a, b


@pytest.mark.parametrize("case", list(CASES))
def test_same_as_runc(case, runc, pyrunc, workdir, rootfs_template):
    config = helpers.default_config(probe.args())
    if CASES[case] is not None:
        CASES[case](config, workdir)
    compare(runc, pyrunc, config, workdir, rootfs_template,
            rootfs_setup=ROOTFS_SETUP.get(case))


def test_same_as_runc_no_pivot(runc, pyrunc, workdir, rootfs_template):
    config = helpers.default_config(probe.args())
    compare(runc, pyrunc, config, workdir, rootfs_template, run_args=("--no-pivot",))


@pytest.mark.parametrize("path", CLIENT_CONFIGS, ids=_client_case_id)
def test_client_config_same_as_runc(path, runc, pyrunc, workdir, rootfs_template):
    with open(path) as f:
        config = adapt_client_config(json.load(f), workdir)
    a, _ = compare(runc, pyrunc, config, workdir, rootfs_template)
    if "seccomp" in config["linux"]:
        assert "Seccomp:\t2" in a["status"], a["status"]  # the filter is really on


# -- configs both runtimes must refuse ----------------------------------------------------


def _dup_ns(c, w):
    c["linux"]["namespaces"].append({"type": "ipc"})


def _bad_rlimit(c, w):
    c["process"]["rlimits"] = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]


def _rlimit_above_hard(c, w):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard + 1, "hard": hard + 1}]


def _no_bind_source(c, w):
    c["mounts"].append({"destination": "/data", "type": "bind",
                        "source": os.path.join(w, "does-not-exist"), "options": ["rbind"]})


def _no_exec(c, w):
    c["process"]["args"] = ["no-such-program"]


def _no_rootfs(c, w):
    c["root"]["path"] = "no-such-rootfs"


def _relative_cwd(c, w):
    c["process"]["cwd"] = "relative/dir"


def _oom_lower(c, w):
    c["process"]["oomScoreAdj"] = -999  # needs CAP_SYS_RESOURCE, which root lacks here


REFUSED = {
    "duplicate-namespace": (_dup_ns, ()),
    "bad-rlimit-type": (_bad_rlimit, ()),
    "rlimit-above-hard-limit": (_rlimit_above_hard, ()),
    "missing-bind-source": (_no_bind_source, ()),
    "executable-not-found": (_no_exec, ()),
    "missing-rootfs": (_no_rootfs, ()),
    "relative-cwd": (_relative_cwd, ()),
    "oom-score-adj-lowered": (_oom_lower, ()),
    "no-pivot-rprivate": (_propagation_private, ("--no-pivot",)),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_by_both(case, runc, pyrunc, workdir, rootfs_template):
    config = helpers.default_config(probe.args())
    fn, run_args = REFUSED[case]
    fn(config, workdir)
    ra = observe(runc, config, workdir, rootfs_template, run_args, expect_ok=False)
    rb = observe(pyrunc, config, workdir, rootfs_template, run_args, expect_ok=False)
    assert ra.code != 0, "runc accepted it: %r" % ra
    assert rb.code != 0, "pyrunc accepted it (runc: %s)" % ra.err.strip()
    assert rb.out == "" and len(rb.err.strip().splitlines()) == 1, rb
    assert runc.ids() == [] and pyrunc.ids() == []
