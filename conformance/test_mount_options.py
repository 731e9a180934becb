"""Differential conformance of the Linux mount options (config.md, "Linux mount options").

One test per option of the spec's table: the same bundle, with one mount carrying that option,
runs under runc 1.1.5 (the oracle) and under pyrunc, and what the container observes must be
the same:

  * the mount's lines in /proc/self/mountinfo (per-mount options, propagation tags such as
    shared/master/unbindable, source, superblock options), through ``probe.parse_mountinfo``
    which drops what legitimately differs (mount ids, device numbers, peer group ids);
  * cheap behavioural probes in every mounted directory: can a file be created (ro/rw), can
    a script run (exec/noexec), can a character device be written (dev/nodev), is a symlink
    followed (symfollow/nosymfollow), who owns a file (idmap/ridmap).

Where the option is a plain mount(2) flag, the mount is a fresh tmpfs, and its options are also
checked against what mount(8) makes of the same option string on the host (the spec says the
MUST options "correspond to mount(8)"). Options that clear a flag (async, atime, dev, rw...)
come after the option they undo, so that clearing is visible. Options that only mean something
on a bind (propagation, the recursive ``r*`` options, idmap) bind a host tree with submounts:

    tree/          tmpfs, shared (so that the container's copy is a slave: master tag)
    tree/plain     tmpfs, shared, default flags      (recursive "set" options must reach it)
    tree/locked    tmpfs, shared, bind-remounted ro,nosuid,nodev,noexec,noatime,nodiratime,
                   nosymfollow                      (recursive "clear" options must reach it)

Each directory holds a script ``x``, a character device ``null`` (1:3) and a symlink ``link``.

Where runc 1.1.5 departs from the spec (``RUNC_DEPARTURES``), runc's exact behaviour is asserted
(so a runc upgrade shows up) and pyrunc is held to what the spec (and mount(8)) says instead.
Where pyrunc departs, the case is a strict xfail naming the difference.

Not observable on this host, and so checked only as "both runtimes accept it and the mountinfo
is the same": iversion/noiversion (tmpfs; mountinfo never shows SB_I_VERSION), silent/loud
(MS_SILENT is not kept), sync/async/dirsync/lazytime/mand beyond their superblock flag.
mand, nomand and tmpcopyup are MAY options: tested, but conformance/requirements.tsv has no
row for them.
"""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conformance import probe
from conformance.test_differential import observe

# -- the host tree (propagation, recursive options, binds) --------------------------------

LOCKED = "ro,nosuid,nodev,noexec,noatime,nodiratime,nosymfollow"


def _run(*argv):
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30)


def _fill(d):
    with open(os.path.join(d, "x"), "w") as f:
        f.write("#!/bin/sh\necho ran\n")
    os.chmod(os.path.join(d, "x"), 0o755)
    os.mknod(os.path.join(d, "null"), 0o666 | 0o020000, os.makedev(1, 3))
    os.chmod(os.path.join(d, "null"), 0o666)
    os.symlink("x", os.path.join(d, "link"))


@pytest.fixture(scope="module")
def tree():
    base = tempfile.mkdtemp(prefix="pyrunc-mopt-tree-", dir="/tmp")
    os.chmod(base, 0o755)
    t = os.path.join(base, "tree")
    os.mkdir(t)
    try:
        _run("mount", "-t", "tmpfs", "-o", "mode=755", "mopt-tree", t)
        _run("mount", "--make-shared", t)
        _fill(t)
        for sub in ("plain", "locked"):
            d = os.path.join(t, sub)
            os.mkdir(d)
            _run("mount", "-t", "tmpfs", "-o", "mode=755", "mopt-" + sub, d)
            _run("mount", "--make-shared", d)
            _fill(d)
        # per-mount flags only (a bind remount): rrw/rdev/... can clear them
        _run("mount", "-o", "remount,bind," + LOCKED, os.path.join(t, "locked"))
        yield t
    finally:
        subprocess.run(["umount", "-R", t], capture_output=True, timeout=30)
        if os.path.ismount(t):
            subprocess.run(["umount", "-R", "-l", t], capture_output=True, timeout=30)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="pyrunc-mopt-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


# -- the probe ----------------------------------------------------------------------------

DIRS = ("/m", "/m/plain", "/m/locked")

# one section per mounted directory; files are made only in a mount of the container's own
# (a tmpfs) where the tree does not already have them
SCRIPT = r"""
t() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }
echo '@@ mounts'; grep -E ' /(m|rel)(/| )' /proc/self/mountinfo
for d in %s; do
  awk -v d=$d '$5 == d {f = 1} END {exit !f}' /proc/self/mountinfo || continue
  echo "@@ $d"
  [ -e $d/x ] || { printf '#!/bin/sh\necho ran\n' > $d/x; chmod 755 $d/x; ln -s x $d/link
                   mknod -m 666 $d/null c 1 3; } 2>/dev/null
  echo "write $(t touch $d/.probe-w)"; rm -f $d/.probe-w 2>/dev/null
  echo "exec $(t $d/x)"
  echo "dev $(t sh -c "echo > $d/null")"
  echo "symfollow $(t cat $d/link)"
  echo "owner $(stat -c %%u:%%g $d/x 2>/dev/null)"
done
echo '@@ end'
""" % " ".join(DIRS)


def _config(mounts):
    from tests import helpers
    c = helpers.default_config(["sh", "-c", SCRIPT])
    caps = c["process"]["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        caps[k] = caps[k] + ["CAP_MKNOD"]  # the probe makes a device node in a tmpfs
    c["mounts"] += mounts
    return c


def _parse(out):
    raw = probe.parse(out)
    obs = {"mounts": raw["mounts"]}
    for d in DIRS:
        if d in raw:
            obs[d] = dict(line.split(" ", 1) for line in raw[d].splitlines())
    return obs


def _observe(rt, config, workdir, template):
    """(Result, observation or None) of the probe in ``config`` under ``rt``."""
    r = observe(rt, config, workdir, template, expect_ok=False)
    assert rt.ids() == [], "%s left a container behind" % rt.name
    if r.code != 0:
        return r, None
    assert "@@ end" in r.out, r
    return r, _parse(r.out)


def _mount_line(obs, dest):
    """The single mountinfo entry at ``dest``."""
    lines = [m for m in obs["mounts"] if m[0] == dest]
    assert len(lines) == 1, "expected one mount at %s: %r" % (dest, obs["mounts"])
    return lines[0]


# -- mount(8) as a second oracle for the flag options ------------------------------------


def _mount8(options):
    """(per-mount options, superblock options) of a tmpfs mount(8) makes with ``options``."""
    d = tempfile.mkdtemp(prefix="pyrunc-mopt-mount8-", dir="/tmp")
    try:
        cp = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "mopt-m8", d],
                            capture_output=True, text=True, timeout=30)
        assert cp.returncode == 0, "mount(8) -o %s: %s" % (",".join(options), cp.stderr)
        try:
            with open("/proc/self/mountinfo") as f:
                got = [m for m in probe.parse_mountinfo(f.read().splitlines()) if m[0] == d]
        finally:
            subprocess.run(["umount", d], capture_output=True, timeout=30)
        assert len(got) == 1, got
        return got[0][2], got[0][5]
    finally:
        os.rmdir(d)


# -- the cases ----------------------------------------------------------------------------


class Case:
    """One option. ``mounts``: what config.json gets ('@TREE@' is the host tree).
    ``expect``: {dir: {key: value}} that pyrunc's observation must show, keys: a behaviour
    (write/exec/dev/symfollow/owner: 'yes'/'no'/'u:g'), 'has'/'lacks' (per-mount options),
    'prop' (propagation tags), 'sopts' (superblock options). ``mount8``: also compare the
    tmpfs with mount(8)'s: "all" its per-mount and superblock options, "per-mount" only
    the former."""

    def __init__(self, mounts, expect=None, mount8=None):
        self.mounts = mounts
        self.expect = expect or {}
        self.mount8 = mount8


def tmpfs(*options, mount8="all", **kw):
    return Case([{"destination": "/m", "type": "tmpfs", "source": "tmpfs",
                  "options": list(options)}], mount8=mount8, **kw)


def on_tree(*options, extra=None, **kw):
    m = {"destination": "/m", "type": "bind", "source": "@TREE@", "options": list(options)}
    m.update(extra or {})
    return Case([m], **kw)


ALL = DIRS
SUBS = ("/m/plain", "/m/locked")


def each(dirs, **want):
    return {d: dict(want) for d in dirs}


def merge(*dicts):
    out = {}
    for d in dicts:
        for k, v in d.items():
            out.setdefault(k, {}).update(v)
    return out


# the locked submount's flags, for the recursive options that leave it alone
LOCKED_SAME = each(["/m/locked"], has=set(LOCKED.split(",")))

IDMAPS = {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
          "gidMappings": [{"containerID": 0, "hostID": 2000, "size": 1}]}

CASES = {
    # -- mount(2) flags and their opposites, on a fresh tmpfs --------------------------------
    "async": tmpfs("sync", "async", expect=each(["/m"], sopts="rw")),
    "atime": tmpfs("noatime", "atime", expect=each(["/m"], has={"relatime"}, lacks={"noatime"})),
    # mount(8): "defaults" sets nothing (noexec,defaults stays noexec)
    "defaults": tmpfs("noexec", "defaults", expect=each(["/m"], has={"rw", "noexec"})),
    "dev": tmpfs("nodev", "dev", expect=each(["/m"], lacks={"nodev"}, dev="yes")),
    "diratime": tmpfs("nodiratime", "diratime", expect=each(["/m"], lacks={"nodiratime"})),
    "dirsync": tmpfs("dirsync", expect=each(["/m"], sopts="rw,dirsync")),
    "exec": tmpfs("noexec", "exec", expect=each(["/m"], lacks={"noexec"}, exec="yes")),
    "iversion": tmpfs("iversion", expect=each(["/m"], write="yes")),
    "lazytime": tmpfs("lazytime", expect=each(["/m"], sopts="rw,lazytime")),
    "loud": tmpfs("silent", "loud", expect=each(["/m"], write="yes")),
    "mand": tmpfs("mand", expect=each(["/m"], sopts="rw,mand")),
    "noatime": tmpfs("noatime", expect=each(["/m"], has={"noatime"})),
    "nodev": tmpfs("nodev", expect=each(["/m"], has={"nodev"}, dev="no")),
    "nodiratime": tmpfs("nodiratime", expect=each(["/m"], has={"nodiratime"})),
    "noexec": tmpfs("noexec", expect=each(["/m"], has={"noexec"}, exec="no")),
    "noiversion": tmpfs("iversion", "noiversion", expect=each(["/m"], write="yes")),
    "nolazytime": tmpfs("lazytime", "nolazytime", expect=each(["/m"], sopts="rw")),
    "nomand": tmpfs("mand", "nomand", expect=each(["/m"], sopts="rw")),
    "norelatime": tmpfs("noatime", "norelatime", expect=each(["/m"], has={"noatime"})),
    "nostrictatime": tmpfs("strictatime", "nostrictatime",
                           expect=each(["/m"], has={"relatime"})),
    "nosuid": tmpfs("nosuid", expect=each(["/m"], has={"nosuid"})),
    "nosymfollow": tmpfs("nosymfollow", expect=each(["/m"], has={"nosymfollow"},
                                                     symfollow="no")),
    # relatime is the kernel's default, and does not undo noatime (nor does mount(8))
    "relatime": tmpfs("relatime", expect=each(["/m"], has={"relatime"})),
    # like runc, pyrunc mounts a read-only tmpfs rw (mount points go in it), then makes the
    # mount read-only: its superblock stays rw where mount(8)'s is ro
    "ro": tmpfs("ro", expect=each(["/m"], has={"ro"}, sopts="rw", write="no"),
                mount8="per-mount"),
    "rw": tmpfs("ro", "rw", expect=each(["/m"], has={"rw"}, write="yes")),
    "silent": tmpfs("silent", expect=each(["/m"], write="yes")),
    "strictatime": tmpfs("strictatime",
                         expect=each(["/m"], lacks={"relatime", "noatime"})),
    "suid": tmpfs("nosuid", "suid", expect=each(["/m"], lacks={"nosuid"})),
    "symfollow": tmpfs("nosymfollow", "symfollow", expect=each(["/m"], lacks={"nosymfollow"},
                                                               symfollow="yes")),
    "sync": tmpfs("sync", expect=each(["/m"], sopts="rw,sync")),
    "tmpcopyup": Case([{"destination": "/m", "type": "tmpfs", "source": "tmpfs",
                        "options": ["tmpcopyup"]}], expect=each(["/m"], write="yes")),
    # -- binds ------------------------------------------------------------------------------
    "bind": on_tree("bind", expect=merge(each(["/m"], prop="master", exec="yes"))),
    "rbind": on_tree("rbind", expect=merge(each(["/m", "/m/plain"], prop="master"),
                                           LOCKED_SAME)),
    # remount: a later entry changes the options of the mount an earlier entry made
    "remount": Case([
        {"destination": "/m", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
        {"destination": "/m", "type": "tmpfs", "source": "tmpfs",
         "options": ["remount", "ro", "size=2m"]}],
        expect=each(["/m"], has={"ro"}, sopts="rw,size=2048k", write="no")),
    "remount-bind": Case([
        {"destination": "/m", "type": "bind", "source": "@TREE@", "options": ["rbind"]},
        {"destination": "/m", "type": "bind", "source": "@TREE@",
         "options": ["bind", "remount", "ro"]}],
        expect=merge(each(["/m"], has={"ro"}, write="no"),
                     each(["/m/plain"], has={"rw"}, write="yes"), LOCKED_SAME)),
    # -- propagation, on a bind of the (shared) host tree: a slave of it in the container ------
    "private": on_tree("rbind", "private", expect=merge(each(["/m"], prop="private"),
                                                         each(SUBS, prop="master"))),
    "rprivate": on_tree("rbind", "rprivate", expect=each(ALL, prop="private")),
    "shared": on_tree("rbind", "shared", expect=merge(each(["/m"], prop="master,shared"),
                                                       each(SUBS, prop="master"))),
    "rshared": on_tree("rbind", "rshared", expect=each(ALL, prop="master,shared")),
    "slave": on_tree("rbind", "slave", expect=each(ALL, prop="master")),
    "rslave": on_tree("rbind", "rslave", expect=each(ALL, prop="master")),
    "unbindable": on_tree("rbind", "unbindable", expect=merge(
        each(["/m"], prop="unbindable"), each(SUBS, prop="master"))),
    "runbindable": on_tree("rbind", "runbindable", expect=each(ALL, prop="unbindable")),
    # -- recursive attributes (mount_setattr AT_RECURSIVE) ------------------------------------
    "rro": on_tree("rbind", "rro", expect=each(ALL, has={"ro"}, write="no")),
    "rrw": on_tree("rbind", "rrw", expect=merge(each(ALL, has={"rw"}),
                                                 each(["/m/locked"], write="yes"))),
    "rnosuid": on_tree("rbind", "rnosuid", expect=each(ALL, has={"nosuid"})),
    "rsuid": on_tree("rbind", "rsuid", expect=each(ALL, lacks={"nosuid"})),
    "rnodev": on_tree("rbind", "rnodev", expect=each(ALL, has={"nodev"}, dev="no")),
    "rdev": on_tree("rbind", "rdev", expect=each(ALL, lacks={"nodev"}, dev="yes")),
    "rnoexec": on_tree("rbind", "rnoexec", expect=each(ALL, has={"noexec"}, exec="no")),
    "rexec": on_tree("rbind", "rexec", expect=merge(each(ALL, lacks={"noexec"}),
                                                     each(["/m/locked"], exec="yes"))),
    "rnodiratime": on_tree("rbind", "rnodiratime", expect=each(ALL, has={"nodiratime"})),
    "rdiratime": on_tree("rbind", "rdiratime", expect=each(ALL, lacks={"nodiratime"})),
    "rrelatime": on_tree("rbind", "rrelatime", expect=each(ALL, has={"relatime"},
                                                            lacks={"noatime"})),
    # mount(8): noatime,norelatime stays noatime, and so must the locked submount
    "rnorelatime": on_tree("rbind", "rnorelatime", expect=merge(
        each(["/m", "/m/plain"], has={"relatime"}), LOCKED_SAME)),
    "rnoatime": on_tree("rbind", "rnoatime", expect=each(ALL, has={"noatime"},
                                                          lacks={"relatime"})),
    # mount(8): noatime,atime gives relatime
    "ratime": on_tree("rbind", "ratime", expect=each(ALL, has={"relatime"},
                                                      lacks={"noatime"})),
    "rstrictatime": on_tree("rbind", "rstrictatime", expect=each(
        ALL, lacks={"relatime", "noatime"})),
    # mount(8): noatime,nostrictatime stays noatime, and so must the locked submount
    "rnostrictatime": on_tree("rbind", "rnostrictatime", expect=merge(
        each(["/m", "/m/plain"], has={"relatime"}), LOCKED_SAME)),
    "rnosymfollow": on_tree("rbind", "rnosymfollow", expect=each(
        ALL, has={"nosymfollow"}, symfollow="no")),
    "rsymfollow": on_tree("rbind", "rsymfollow", expect=each(
        ALL, lacks={"nosymfollow"}, symfollow="yes")),
    # -- idmapped mounts: on-disk 0:0 seen through the mount's mapping as 1000:2000 ---------
    # idmap maps the mount itself; ridmap the whole tree ("applied recursively")
    "idmap": on_tree("rbind", "idmap", extra=IDMAPS, expect=merge(
        each(["/m"], owner="1000:2000"), each(SUBS, owner="0:0"))),
    "ridmap": on_tree("rbind", "ridmap", extra=IDMAPS, expect=each(ALL, owner="1000:2000")),
    # an idmapped mount is a slave of the host's shared source, like every other bind
    # (rootfs made rslave), not a peer of it
    "ridmap-propagation": on_tree("rbind", "ridmap", extra=IDMAPS,
                                  expect=each(ALL, prop="master")),
}

# runc 1.1.5's departures from the spec: {option: (what runc does, check(result, obs))}.
# runc's behaviour is asserted exactly (drop the entry when a runc upgrade fixes it); pyrunc is
# then held to the case's spec expectation alone.


def _fails_with(text):
    def check(r, obs):
        assert r.code != 0 and text in r.err, \
            "KNOWN runc difference changed (runc now %r): drop it from RUNC_DEPARTURES" % (r,)
    return check


def _ignores_idmap(dirs):
    def check(r, obs):
        assert r.code == 0 and obs is not None, r
        got = {d: obs.get(d, {}).get("owner") for d in dirs}
        assert got == {d: "0:0" for d in dirs}, \
            "KNOWN runc difference changed (owners %r): drop it from RUNC_DEPARTURES" % got
    return check


RUNC_DEPARTURES = {
    "defaults": ("not in runc 1.1.5's option table: passed to tmpfs as data, which "
                 "refuses it (EINVAL)", _fails_with("data: defaults: invalid argument")),
    "ratime": ("mount_setattr with attr_clr=MOUNT_ATTR_NOATIME alone, which the kernel "
               "refuses (EINVAL: an atime bit in attr_clr needs all of MOUNT_ATTR__ATIME)",
               _fails_with("invalid argument")),
    "rnostrictatime": ("mount_setattr with attr_clr=MOUNT_ATTR_STRICTATIME alone: EINVAL, as "
                       "for ratime", _fails_with("invalid argument")),
    "idmap": ("runc 1.1.5 (spec 1.0.2) knows neither the option nor the mount's uid/gid "
              "mappings: a plain bind, files keep their on-disk owner",
              _ignores_idmap(["/m"])),
    "ridmap": ("as for idmap", _ignores_idmap(ALL)),
    "ridmap-propagation": ("as for idmap", _ignores_idmap(ALL)),
}

# pyrunc's departures: strict xfails (reported)
PYRUNC_BUGS = {
    "rnorelatime": "pyrunc puts all of MOUNT_ATTR__ATIME in attr_clr, turning the noatime "
                   "submount relatime; runc leaves it noatime, as mount(8) does for "
                   "noatime,norelatime",
    "rnostrictatime": "pyrunc puts all of MOUNT_ATTR__ATIME in attr_clr, turning the noatime "
                      "submount relatime; mount(8) keeps noatime for noatime,nostrictatime "
                      "(runc 1.1.5 fails: see RUNC_DEPARTURES)",
}
# fixed after this test found them: remount (a second mount instead of a remount), idmap with
# rbind (every submount mapped), and the idmapped clone joining the host source's peer group
# (mounts propagating between the container and the host both ways)


def _params():
    out = []
    for name in CASES:
        marks = ()
        if name in PYRUNC_BUGS:
            marks = (pytest.mark.xfail(strict=True, raises=AssertionError,
                                       reason=PYRUNC_BUGS[name]),)
        out.append(pytest.param(name, id=name, marks=marks))
    return out


def _check_expect(obs, expect, name):
    for d, want in expect.items():
        assert d in obs, "%s: %s is not a mount in the container: %r" % (name, d,
                                                                        obs["mounts"])
        line = _mount_line(obs, d)
        opts = set(line[2].split(","))
        for k, v in want.items():
            where = "%s: %s %s (mount %r, probes %r)" % (name, d, k, line, obs[d])
            if k == "has":
                assert v <= opts, where
            elif k == "lacks":
                assert not (v & opts), where
            elif k == "prop":
                assert line[3] == v, where
            elif k == "sopts":
                assert line[5] == v, where
            else:
                assert obs[d].get(k) == v, where


def _bind_sources(config, tree):
    return json.loads(json.dumps(config).replace("@TREE@", tree))


@pytest.mark.parametrize("name", _params())
def test_mount_option(name, runc, pyrunc, workdir, rootfs_template, tree):
    case = CASES[name]
    config = _bind_sources(_config(case.mounts), tree)
    ra, a = _observe(runc, config, workdir, rootfs_template)
    shutil.rmtree(os.path.join(workdir, "bundle-runc"), ignore_errors=True)
    rb, b = _observe(pyrunc, config, workdir, rootfs_template)
    if name in RUNC_DEPARTURES:
        RUNC_DEPARTURES[name][1](ra, a)
        assert rb.code == 0, "pyrunc failed: %r" % (rb,)
    else:
        assert (ra.code == 0) == (rb.code == 0), "runc %r / pyrunc %r" % (ra, rb)
        assert ra.code == 0, "runc refused it: %r" % (ra,)
        assert a == b, "runc and pyrunc saw different things:\n  runc:   %r\n  pyrunc: %r" % (
            a, b)
    _check_expect(b, case.expect, name)
    if case.mount8:
        line = _mount_line(b, "/m")
        mnt, sb = _mount8(case.mounts[0]["options"])
        want = (mnt, sb) if case.mount8 == "all" else (mnt, line[5])
        assert (line[2], line[5]) == want, \
            "%s: pyrunc's tmpfs %r is not what mount(8) makes: %r" % (name, line, (mnt, sb))


def test_relative_destination_is_under_root(runc, pyrunc, workdir, rootfs_template):
    """A relative mount destination is relative to '/': rel/dir lands at /rel/dir."""
    config = _config([{"destination": "rel/dir", "type": "tmpfs", "source": "tmpfs",
                       "options": ["size=1m"]}])
    ra, a = _observe(runc, config, workdir, rootfs_template)
    shutil.rmtree(os.path.join(workdir, "bundle-runc"), ignore_errors=True)
    rb, b = _observe(pyrunc, config, workdir, rootfs_template)
    assert ra.code == 0 and rb.code == 0, (ra, rb)
    assert a == b
    assert [m[:2] for m in b["mounts"]] == [("/rel/dir", "tmpfs")], b["mounts"]
