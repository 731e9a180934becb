"""Fuzzing pyrunc's inputs: config.json, process.json and command lines.

Shared by tests/security/test_fuzz.py (a bounded run inside the test suite, driven by
hypothesis) and tests/security/fuzz_configs.py (a long campaign driven by random.Random).
The mutation code takes a *chooser* (``RandomChooser`` or ``DataChooser``) so hypothesis can
shrink a failing input.

The property, for every input: pyrunc either accepts it or fails with ONE line on stderr and
a non-zero status; never a Python traceback, never "internal error"; and nothing is left
behind (no state directory, no cgroup, no mount, no process).

Real runs are made *safe* before they run (``make_safe``): hooks, namespace paths, sysctls,
netDevices, seccomp listener sockets, intelRdt and "cgroup.*" unified keys are dropped (they
act on the host by design), bind sources point into a scratch directory, the cgroup path is a
test-specific one, a mount namespace is always there, and the program is harmless. Those
fields are still fuzzed at the validation level, in-process.
"""

import copy
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)

from tests import helpers  # noqa: E402

SHARED = helpers.SHARED
SEED_GLOBS = (os.path.join(SHARED, "reference", "clients", "*-config.json"),
              os.path.join(SHARED, "reference", "clients", "examples", "*-config.json"))

# values that tend to matter to a runtime
STRINGS = [
    "", "/", ".", "..", "../../..", "/proc", "/proc/self/fd/3", "/proc/1/root", "/dev/null",
    "/sys", "/sys/fs/cgroup", "/tmp", "relative/path", "//double//slash", "/a/../../b",
    "a\x00b", "\udcff", "\u202e", "x" * 300, "😀", "\n", " ", "-1", "0", "true",
    "tmpfs", "bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "rprivate", "rshared",
    "rslave", "private", "shared", "slave", "unbindable", "tmpcopyup", "idmap", "ridmap",
    "mode=755", "size=1k", "uid=0", "gid=5", "newinstance", "ptmxmode=0666", "strictatime",
    "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", "overlay", "none", "nfs",
    "CAP_SYS_ADMIN", "CAP_KILL", "CAP_NET_RAW", "CAP_BOGUS", "cap_chown", "RLIMIT_NOFILE",
    "RLIMIT_CORE", "RLIMIT_FOO", "pid", "network", "mount", "ipc", "uts", "user", "cgroup",
    "time", "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_NOTIFY",
    "SCMP_ARCH_X86_64", "SCMP_CMP_EQ", "SCHED_FIFO", "SCHED_DEADLINE", "IOPRIO_CLASS_RT",
    "LINUX", "LINUX32", "c", "b", "u", "p", "a", "rwm", "PATH=/bin", "=", "A=", "HOME=",
    "1.2.0", "1.0.0", "0.1", "monotonic", "boottime", "/bin/true", "true",
]
INTS = [0, 1, -1, 2, 3, 5, 7, 1000, 65534, 65535, 65536, 2 ** 31 - 1, 2 ** 31, -2 ** 31,
        2 ** 32, 2 ** 53, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64, -2 ** 63, 10 ** 30]
FLOATS = [0.5, -0.0, 1e300, -1e-300, 3.0]
KEYS = [
    "ociVersion", "root", "path", "readonly", "process", "args", "env", "cwd", "user", "uid",
    "gid", "umask", "additionalGids", "terminal", "consoleSize", "height", "width",
    "capabilities", "bounding", "effective", "permitted", "inheritable", "ambient",
    "rlimits", "type", "soft", "hard", "noNewPrivileges", "oomScoreAdj", "scheduler",
    "policy", "nice", "priority", "flags", "runtime", "deadline", "period", "ioPriority",
    "class", "apparmorProfile", "selinuxLabel", "hostname", "domainname", "mounts",
    "destination", "source", "options", "uidMappings", "gidMappings", "containerID",
    "hostID", "size", "linux", "namespaces", "devices", "major", "minor", "fileMode",
    "resources", "memory", "limit", "swap", "pids", "cpu", "shares", "quota", "cpus", "mems",
    "blockIO", "weight", "hugepageLimits", "pageSize", "network", "classID", "unified",
    "cgroupsPath", "sysctl", "seccomp", "defaultAction", "architectures", "syscalls",
    "names", "action", "errnoRet", "args", "index", "value", "valueTwo", "op",
    "rootfsPropagation", "maskedPaths", "readonlyPaths", "mountLabel", "personality",
    "domain", "timeOffsets", "secs", "nanosecs", "annotations", "hooks", "prestart",
    "createRuntime", "poststop", "timeout", "intelRdt", "netDevices", "name", "memoryPolicy",
    "mode", "nodes", "zzz-unknown",
]


class RandomChooser:
    """Choices from random.Random (the long campaign)."""

    def __init__(self, rnd):
        self.rnd = rnd

    def choice(self, seq):
        return self.rnd.choice(list(seq))

    def randint(self, a, b):
        return self.rnd.randint(a, b)

    def text(self):
        n = self.rnd.randint(0, 12)
        alphabet = "abcXYZ019/._-= \x00\u00e9\u4e2d\U0001f600\udcff\n"
        return "".join(self.rnd.choice(alphabet) for _ in range(n))


class DataChooser:
    """Choices drawn from hypothesis (``st.data()``): shrinkable."""

    def __init__(self, data):
        from hypothesis import strategies as st
        self.data, self.st = data, st

    def choice(self, seq):
        seq = list(seq)
        return seq[self.data.draw(self.st.integers(0, len(seq) - 1))]

    def randint(self, a, b):
        return self.data.draw(self.st.integers(a, b))

    def text(self):
        return self.data.draw(self.st.text(max_size=12))


def random_json(ch, depth=0):
    kind = ch.randint(0, 9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return ch.choice([True, False])
    if kind == 2:
        return ch.choice(INTS) if ch.randint(0, 1) else ch.randint(-100, 100000)
    if kind == 3:
        return ch.choice(FLOATS)
    if kind in (4, 5):
        return ch.choice(STRINGS)
    if kind == 6:
        return ch.text()
    if kind in (7, 8):
        return [random_json(ch, depth + 1) for _ in range(ch.randint(0, 3))]
    return {ch.choice(KEYS) if ch.randint(0, 2) else ch.text(): random_json(ch, depth + 1)
            for _ in range(ch.randint(0, 3))}


def _paths(obj, prefix=()):
    """Every (container, key) location in obj, depth first."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append(prefix + (k,))
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append(prefix + (i,))
            out.extend(_paths(v, prefix + (i,)))
    return out


def _get(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def _tweak(ch, value):
    """A value of the same kind, nudged towards the edges."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return ch.choice(INTS + [value + 1, value - 1, -value])
    if isinstance(value, str):
        return ch.choice([ch.choice(STRINGS), value + ch.text(), value[:len(value) // 2],
                          value * 2, value.upper(), "../" + value])
    if isinstance(value, list):
        if value and ch.randint(0, 1):
            return value + [copy.deepcopy(ch.choice(value))]
        return []
    if isinstance(value, dict):
        v = dict(value)
        v[ch.choice(KEYS)] = random_json(ch, 2)
        return v
    return random_json(ch, 2)


def mutate(ch, config, donors=()):
    """1-4 mutations of a deep copy of config: replace, tweak, delete, insert, graft."""
    c = copy.deepcopy(config)
    for _ in range(ch.randint(1, 4)):
        paths = _paths(c)
        op = ch.randint(0, 5)
        if not paths or op == 5:
            key = ch.choice(KEYS)
            if isinstance(c, dict):
                c[key] = random_json(ch)
            continue
        path = ch.choice(paths)
        parent = _get(c, path[:-1])
        last = path[-1]
        if op == 0:
            parent[last] = random_json(ch)
        elif op in (1, 2):
            parent[last] = _tweak(ch, parent[last])
        elif op == 3:
            del parent[last]
        elif op == 4 and donors:
            donor = ch.choice(donors)
            try:
                parent[last] = copy.deepcopy(_get(donor, path))
            except (KeyError, IndexError, TypeError):
                parent[last] = random_json(ch)
    return c


def load_seeds():
    """The real clients' configs (docker, podman, containerd) and pyrunc's default specs."""
    from pyrunc.spec.default import default_spec
    seeds = []
    for pattern in SEED_GLOBS:
        for path in sorted(glob.glob(pattern)):
            with open(path) as f:
                seeds.append(json.load(f))
    seeds.append(default_spec())
    seeds.append(default_spec(rootless=True))
    return seeds


def process_seeds(seeds):
    return [copy.deepcopy(s["process"]) for s in seeds if isinstance(s.get("process"), dict)]


# -- validation level (in-process) ----------------------------------------------------------

def check_validation(config):
    """'valid', 'rejected' or 'BUG: ...' for pyrunc.spec.validate on a config object."""
    from pyrunc.errors import PyruncError
    from pyrunc.spec.validate import validate_config
    from pyrunc import jsonio, log
    try:
        validate_config(config)
    except PyruncError as e:
        msg = log.one_line(str(e))  # what the command line prints
        if "\n" in msg or not msg.strip():
            return "BUG: multi-line or empty error %r" % msg
        return "rejected"
    except Exception as e:  # noqa: BLE001 -- that is the point
        return "BUG: %s: %s" % (type(e).__name__, e)
    try:
        jsonio.dumps(config)  # state.json will hold it
    except Exception as e:  # noqa: BLE001
        return "BUG: valid config not serialisable: %s: %s" % (type(e).__name__, e)
    return "valid"


def check_load_bytes(bundle_dir, raw):
    """load_bundle on raw config.json bytes: (config, rootfs) or a one-line ConfigError."""
    from pyrunc.errors import PyruncError
    from pyrunc.spec.load import load_bundle
    from pyrunc import log
    with open(os.path.join(bundle_dir, "config.json"), "wb") as f:
        f.write(raw)
    try:
        load_bundle(bundle_dir)
    except PyruncError as e:
        msg = log.one_line(str(e))  # what the command line prints
        if "\n" in msg or not msg.strip():
            return "BUG: multi-line or empty error %r" % msg
        return "rejected"
    except Exception as e:  # noqa: BLE001
        return "BUG: %s: %s" % (type(e).__name__, e)
    return "valid"


def mutate_bytes(ch, raw):
    """Byte-level damage: truncation, bad UTF-8, stray bytes, huge nesting, BOM, NUL."""
    op = ch.randint(0, 7)
    if op == 0:
        return raw[:ch.randint(0, len(raw))]
    if op == 1:
        i = ch.randint(0, len(raw))
        return raw[:i] + bytes([ch.randint(0x80, 0xff)]) + raw[i:]
    if op == 2:
        i = ch.randint(0, max(0, len(raw) - 1))
        return raw[:i] + bytes([ch.randint(0, 255)]) + raw[i + 1:]
    if op == 3:
        n = ch.choice([10, 500, 990, 1000, 5000, 100000])
        return b"[" * n + b"]" * n
    if op == 4:
        n = ch.choice([150, 199, 200, 201, 900, 995, 3000])
        return raw[:-1] + b', "zzz": ' + b"[" * n + b"]" * n + b"}"
    if op == 5:
        return b"\xef\xbb\xbf" + raw
    if op == 6:
        return raw.replace(b'"', b'\x00', 1)
    return ch.choice([b"", b"null", b"[]", b"1e999", b"NaN", b'{"ociVersion": 1e999}',
                      b'{"a": 1, "a": 2}', b"\xff\xfe{", b"{" * 3])


# -- real runs ------------------------------------------------------------------------------

BUNDLE = "<bundle>"  # random_argv's placeholder for the sandbox's CLI bundle
SAFE_ARGS = [["true"], ["false"], ["sh", "-c", "exit 7"], ["/nonexistent"], ["sleep", "0"],
             ["sh", "-c", "echo out; echo err >&2"], []]


class Outcome:
    def __init__(self, kind, detail=""):
        self.kind = kind      # "ran", "rejected", "bug"
        self.detail = detail

    def __repr__(self):
        return "Outcome(%s, %r)" % (self.kind, self.detail)


def classify(r, program=False):
    """Outcome of one pyrunc invocation (a helpers.Result). ``program``: a container program
    ran in the foreground (run, exec), so a non-zero status with nothing on stderr is the
    program's own."""
    err = r.err
    if "Traceback" in err or "internal error" in err:
        return Outcome("bug", err.strip()[-2000:])
    if r.code == 0 or (program and not err.strip()):
        return Outcome("ran")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if len(lines) != 1:
        return Outcome("bug", "exit %d with %d stderr lines: %r" % (r.code, len(lines),
                                                                     err[-2000:]))
    return Outcome("rejected", lines[0])


class Sandbox:
    """A private state root, rootfs, scratch directory and cgroup prefix for real runs, and
    the checks that nothing was left behind."""

    def __init__(self, workdir, rootfs_template=None):
        self.work = workdir
        os.makedirs(workdir, exist_ok=True)
        self.root = os.path.join(workdir, "state")
        self.bundle = os.path.join(workdir, "bundle")
        self.rootfs = os.path.join(self.bundle, "rootfs")
        self.scratch = os.path.join(workdir, "scratch")
        os.makedirs(self.scratch, exist_ok=True)
        with open(os.path.join(self.scratch, "file"), "w") as f:
            f.write("scratch\n")
        os.makedirs(os.path.join(self.scratch, "dir"), exist_ok=True)
        self.template = rootfs_template
        self.fresh_rootfs()
        self.cgprefix = "pyrunc-fuzz-" + uuid.uuid4().hex[:8]
        self.rt = helpers.Runtime(helpers.pyrunc_argv(), self.root)
        self.n = 0
        self.host_mounts = self._our_mounts()

    def fresh_rootfs(self):
        if os.path.isdir(self.rootfs):
            shutil.rmtree(self.rootfs)
        if self.template:
            shutil.copytree(self.template, self.rootfs, symlinks=True)
        else:
            helpers.build_rootfs(self.rootfs)
            self.template = os.path.join(self.work, "template")
            if not os.path.isdir(self.template):
                shutil.copytree(self.rootfs, self.template, symlinks=True)

    def _our_mounts(self):
        out = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                if self.work in line:
                    out.append(line.split()[4])
        return sorted(out)

    def _cgroup_dirs(self, cid):
        found = []
        for d in glob.glob("/sys/fs/cgroup/*/%s/%s" % (self.cgprefix, cid)) + \
                glob.glob("/sys/fs/cgroup/%s/%s" % (self.cgprefix, cid)):
            if os.path.isdir(d):
                found.append(d)
        return found

    def _procs_in_rootfs(self):
        out = []
        for d in glob.glob("/proc/[0-9]*"):
            try:
                if os.readlink(d + "/root").startswith(self.rootfs):
                    out.append(int(d[6:]))
            except OSError:
                pass
        return out

    def leftovers(self, cid, keep_pids=()):
        """What a finished (failed or deleted) container left behind, as strings."""
        out = []
        if os.path.exists(os.path.join(self.root, cid)):
            out.append("state dir %s" % cid)
        out.extend("cgroup %s" % d for d in self._cgroup_dirs(cid))
        now = self._our_mounts()
        if now != self.host_mounts:
            out.append("mounts %s" % sorted(set(now) - set(self.host_mounts)))
        for _ in range(50):
            procs = [p for p in self._procs_in_rootfs() if p not in keep_pids]
            if not procs:
                break
            time.sleep(0.02)
        else:
            out.append("processes %s" % procs)
        return out

    def make_safe(self, config, cid):
        """Rewrite what would act on the host (see the module doc); keep everything else."""
        c = copy.deepcopy(config)
        if not isinstance(c, dict):
            return c
        c.pop("hooks", None)
        if isinstance(c.get("root"), dict):
            c["root"]["path"] = self.rootfs
        proc = c.get("process")
        if isinstance(proc, dict):
            if isinstance(proc.get("args"), list):
                proc["args"] = random.choice(SAFE_ARGS[:-1])
            if proc.get("terminal") is True and random.random() < 0.8:
                proc["terminal"] = False  # (no console socket here: it would be refused)
        linux = c.get("linux")
        if isinstance(linux, dict):
            for k in ("sysctl", "netDevices", "intelRdt"):
                linux.pop(k, None)
            linux["cgroupsPath"] = "/%s/%s" % (self.cgprefix, cid)
            nss = linux.get("namespaces")
            if isinstance(nss, list):
                for ns in nss:
                    if isinstance(ns, dict):
                        ns.pop("path", None)
                if not any(isinstance(ns, dict) and ns.get("type") == "mount" for ns in nss):
                    nss.append({"type": "mount"})
                if (c.get("hostname") or c.get("domainname")) and not any(
                        isinstance(ns, dict) and ns.get("type") == "uts" for ns in nss):
                    nss.append({"type": "uts"})
            elif "namespaces" not in linux:
                linux["namespaces"] = [{"type": "mount"}, {"type": "uts"}]
            sc = linux.get("seccomp")
            if isinstance(sc, dict):
                sc.pop("listenerPath", None)
            res = linux.get("resources")
            if isinstance(res, dict) and isinstance(res.get("unified"), dict):
                res["unified"] = {k: v for k, v in res["unified"].items()
                                  if isinstance(k, str) and not k.startswith("cgroup.")}
        elif "linux" not in c:
            c["linux"] = {"namespaces": [{"type": "mount"}, {"type": "uts"}],
                          "cgroupsPath": "/%s/%s" % (self.cgprefix, cid)}
        if isinstance(c.get("mounts"), list):
            for m in c["mounts"]:
                if not isinstance(m, dict):
                    continue
                opts = m.get("options") if isinstance(m.get("options"), list) else []
                if m.get("type") == "bind" or "bind" in opts or "rbind" in opts or \
                        "source" in m and isinstance(m.get("source"), str) and \
                        m["source"].startswith("/") and m.get("type") not in (
                            "tmpfs", "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2"):
                    dest = m.get("destination") if isinstance(m.get("destination"),
                                                              str) else ""
                    base = os.path.basename(dest.rstrip("/"))
                    filelike = "." in base or base in ("hosts", "hostname", "passwd")
                    m["source"] = os.path.join(self.scratch, "file" if filelike else "dir")
        return c

    def write_config(self, config):
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            json.dump(config, f)

    def run_config(self, config):
        """create + delete of a made-safe config; the Outcome (leftovers count as bugs)."""
        self.n += 1
        if self.n % 25 == 0:
            self.fresh_rootfs()  # mutated mounts and devices scribble in it
        cid = "fz%d-%s" % (self.n, uuid.uuid4().hex[:6])
        safe = self.make_safe(config, cid)
        try:
            self.write_config(safe)
        except (TypeError, ValueError) as e:
            return Outcome("skipped", "not JSON: %s" % e)
        try:
            r = self.rt.cmd("create", "--bundle", self.bundle, cid, timeout=60)
        except subprocess.TimeoutExpired:
            self.rt.cmd("delete", "--force", cid, timeout=60)
            return Outcome("bug", "create hung (60 s)")
        out = classify(r)
        if out.kind == "ran":
            d = self.rt.cmd("delete", "--force", cid, timeout=60)
            if d.code != 0:
                return Outcome("bug", "delete --force failed: %r" % d)
        left = self.leftovers(cid)
        if left:
            self.rt.cmd("delete", "--force", cid, timeout=60)
            return Outcome("bug", "left behind: %s (after %s %r)" % (left, out.kind,
                                                                   out.detail))
        return out

    # -- exec ----------------------------------------------------------------------------
    def ensure_target(self):
        """A long-running container to exec into (re-made if a fuzzed command killed it)."""
        cid = getattr(self, "target", None)
        if cid and (self.rt.state(cid) or {}).get("status") == "running":
            return cid
        if cid:
            self.rt.cmd("delete", "--force", cid)
        from pyrunc.spec.default import default_spec
        c = default_spec()
        c["process"]["terminal"] = False
        c["process"]["args"] = ["sleep", "3600"]
        c["root"]["readonly"] = False
        self.target = "fztarget-" + uuid.uuid4().hex[:6]
        c = self.make_safe(c, self.target)
        c["process"]["args"] = ["sleep", "3600"]
        self.write_config(c)
        self.rt.cmd("run", "--detach", "--bundle", self.bundle, self.target, check=True)
        return self.target

    def run_process(self, proc):
        """exec --process of a made-safe process object into the target container."""
        cid = self.ensure_target()
        p = copy.deepcopy(proc)
        if isinstance(p, dict) and isinstance(p.get("args"), list):
            p["args"] = random.choice(SAFE_ARGS)
        path = os.path.join(self.work, "process.json")
        try:
            with open(path, "w") as f:
                json.dump(p, f)
        except (TypeError, ValueError) as e:
            return Outcome("skipped", "not JSON: %s" % e)
        try:
            r = self.rt.cmd("exec", "--process", path, cid, timeout=60)
        except subprocess.TimeoutExpired:
            return Outcome("bug", "exec hung (60 s)")
        out = classify(r, program=True)
        if out.kind == "bug":
            return out
        if out.kind == "rejected" and r.err.strip() == "err" and r.out == "out\n":
            out = Outcome("ran")  # the program's own stderr line
        init = (self.rt.state(cid) or {}).get("pid")
        left = [p for p in self._procs_in_rootfs() if p != init]
        for _ in range(50):
            if not left:
                break
            time.sleep(0.02)
            left = [p for p in self._procs_in_rootfs() if p != init]
        if left:
            return Outcome("bug", "exec left processes %s" % left)
        return out

    # -- command lines -------------------------------------------------------------------
    def cli_bundle(self):
        d = os.path.join(self.work, "clibundle")
        if not os.path.isdir(d):
            os.makedirs(d)
            from pyrunc.spec.default import default_spec
            c = default_spec()
            c["process"]["terminal"] = False
            c["process"]["args"] = ["true"]
            c["root"] = {"path": self.rootfs}
            c["linux"]["cgroupsPath"] = "/%s/cli" % self.cgprefix
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(c, f)
        return d

    def run_argv(self, argv):
        argv = [self.cli_bundle() if a == BUNDLE else a for a in argv]
        full = self.rt.argv + ["--root", self.root] + argv
        import tempfile
        # files, not pipes: a created container keeps the runtime's stdio open
        with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
            try:
                cp = subprocess.run(full, cwd=self.scratch, stdin=subprocess.DEVNULL,
                                    stdout=fo, stderr=fe, timeout=60)
            except subprocess.TimeoutExpired:
                cp = None
            fo.seek(0)
            fe.seek(0)
            so, se = fo.read(), fe.read()
        if cp is None:
            out = Outcome("bug", "hung (60 s): %r" % argv)
        else:
            r = helpers.Result(cp)
            r.out = so.decode(errors="replace")
            r.err = se.decode(errors="replace")
            out = classify(r, program=bool(argv) and argv[0] in ("run", "exec", "check"))
            if out.kind == "bug" and "--debug" in argv and "Traceback" not in r.err and \
                    "internal error" not in r.err:
                out = Outcome("rejected" if r.code else "ran")  # debug lines are allowed
            if out.kind == "rejected" and r.err.strip() == "err":
                out = Outcome("ran")  # the exec'd program's own stderr
        # anything it created besides the target goes
        for cid in self.rt.ids():
            if cid != getattr(self, "target", None):
                self.rt.cmd("delete", "--force", cid)
                left = self.leftovers(cid, keep_pids=self._procs_in_rootfs())
                if left and out.kind != "bug":
                    out = Outcome("bug", "left behind by %r: %s" % (argv, left))
        return out

    def close(self):
        self.rt.cleanup()
        for d in glob.glob("/sys/fs/cgroup/*/%s" % self.cgprefix) + \
                glob.glob("/sys/fs/cgroup/%s" % self.cgprefix):
            for sub in sorted(glob.glob(d + "/**/", recursive=True), reverse=True):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass


# -- command lines --------------------------------------------------------------------------

def _command_flags():
    """{command: {spelling: (name, kind)}} from the cmd_* modules' flag tables."""
    from pyrunc.cli import COMMANDS
    out = {}
    for cmd, mod in COMMANDS.items():
        try:
            m = __import__("pyrunc.cli.cmd_" + mod, fromlist=["x"])
        except ImportError:
            continue
        flags = {}
        for name in dir(m):
            v = getattr(m, name)
            if name.endswith("FLAGS") and isinstance(v, dict):
                flags.update(v)
        out[cmd] = flags
    return out


def random_argv(ch, flags_by_cmd, target):
    """A command line: a subcommand, some of its flags with odd values, positionals."""
    cmds = sorted(flags_by_cmd) + ["help", "checkpoint", "bogus", "--version", "-h", ""]
    cmd = ch.choice(cmds)
    argv = [cmd] if cmd else []
    flags = flags_by_cmd.get(cmd, {})
    for _ in range(ch.randint(0, 4)):
        if flags and ch.randint(0, 4):
            spelling, (name, kind) = ch.choice(sorted(flags.items()))
        else:
            spelling, kind = ch.choice(["zzz", "x", "root", "bundle"]), "str"
        if spelling in ("root",):
            continue  # the sandbox's --root stays the only one
        dash = "-" if len(spelling) == 1 or ch.randint(0, 3) == 0 else "--"
        value = ch.choice(["", "0", "1", "-1", "abc", "9" * 30, "true", "false", "1k",
                           "rel/path", "SIGKILL", "KILL", "9", "x=y", "json", "table",
                           "0-1", "100000", "\udcff", "a\x01b", "1.5", "999999999999"])
        if spelling in ("bundle", "b"):
            value = ch.choice(["nonexistent", ".", BUNDLE])
        if kind == "bool":
            argv.append(dash + spelling if ch.randint(0, 2) else
                        "%s%s=%s" % (dash, spelling, ch.choice(["true", "false", "maybe"])))
        elif ch.randint(0, 3):
            argv += [dash + spelling, value]
        else:
            argv.append("%s%s=%s" % (dash, spelling, value))
    for _ in range(ch.randint(0, 2)):
        argv.append(ch.choice([target, target, "nonexistent", "", "a/b", "..", "-",
                               "x" * 1100, "ID with space", "\udcff", "--"]))
    if cmd == "exec":
        argv += ch.choice(SAFE_ARGS)
    if cmd == "events" and "--stats" not in argv:
        argv.insert(1, "--stats")  # without it, events streams until the container exits
    if cmd == "ps":
        argv = [a for a in argv if a not in ("--",)]  # ps(1) usage text is many lines
    if cmd == "kill" and target in argv and ch.randint(0, 1):
        argv.append(ch.choice(["0", "SIGCONT", "CONT", "WINCH", "99", "-1", "SIGFOO"]))
    return argv
