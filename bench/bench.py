#!/usr/bin/env python3
"""Benchmark pyrunc against runc and crun (stdlib only; run as root).

Builds its own busybox bundles in a temp dir (scripts/make-bundle.sh), then, interleaved
(A B C A B C ...), for --runs iterations:
  * `run` of /bin/true in the foreground (includes the delete `run` does itself);
  * create / start / state / kill KILL / delete of a `sleep 1000` container, each timed
    separately (after kill the state is polled, untimed, until "stopped");
  * the peak RSS of the `create` process (os.wait4 ru_maxrss, from an extra untimed create
    per iteration started via a small /bin/sh so the figure is not our own hiwater mark; see
    Spawner.launch) and the RSS (VmRSS) of the created-but-not-started container's waiting
    process (pid from an untimed `state` after the timed create).
Every runtime gets its own private --root and the same config.json, including a cgroupsPath
/<cgroup-parent>/<runtime>-<op>-<i>, so all three create cgroups.

crun 1.8 refuses a hybrid cgroup layout whose cgroup2 hierarchy still has controllers
("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"); see
bench/README.md and --crun-fix for how it is included.

Prints a table (min/median/max ms per runtime, median ratios) and writes a JSON result.
Everything it creates (containers, cgroup dirs under the bench parent, temp dirs) is removed
at exit, also on Ctrl-C, SIGTERM or failure.
"""

import argparse
import ctypes
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
MAKE_BUNDLE = os.path.join(TOP, "scripts", "make-bundle.sh")

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_CHILD_SUBREAPER = 36

# crun 1.8.1 accepts ociVersion 1.0.x / 1.1.x only ("unknown version specified" for 1.2.0,
# which pyrunc's default spec carries); runc spec writes 1.0.2-dev, so all three get that.
OCI_VERSION = "1.0.2-dev"

TIME_OPS = ["run", "create", "start", "state", "exec", "kill", "delete"]
TIME_LABELS = {
    "run": "run /bin/true",
    "create": "create",
    "start": "start",
    "state": "state (running)",
    "exec": "exec /bin/true",
    "kill": "kill KILL",
    "delete": "delete",
    "wrapper": "wrapper /bin/true",
}
BATCH_OPS = ["batch_create_start", "batch_delete"]
BATCH_LABELS = {
    "batch_create_start": "%d x create+start, %d parallel",
    "batch_delete": "%d x delete -f (running)",
}
MEM_OPS = ["create_maxrss", "waiting_rss"]
MEM_LABELS = {
    "create_maxrss": "create peak RSS",
    "waiting_rss": "created proc RSS",
}

libc = ctypes.CDLL(None, use_errno=True)


class Interrupted(Exception):
    pass


def _on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


def die(msg):
    print("bench: " + msg, file=sys.stderr)
    sys.exit(2)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def _libc_call(name, *args):
    if getattr(libc, name)(*args) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (name, os.strerror(e)))


# ---------------------------------------------------------------------------------------------
# cgroup layout

def read_mounts():
    """[(mountpoint, fstype)] from /proc/self/mountinfo."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            mp = left.split()[4].replace("\\040", " ")
            out.append((mp, right.split()[0]))
    return out


def cgroup_layout():
    """'unified', 'legacy', 'hybrid' (cgroup2 without controllers: crun copes) or
    'hybrid-controllers' (crun refuses), plus the cgroup2 mount points under /sys/fs/cgroup."""
    mounts = read_mounts()
    types = dict(mounts)
    if types.get("/sys/fs/cgroup") == "cgroup2":
        return "unified", []
    v2 = [mp for mp, t in mounts if t == "cgroup2" and mp.startswith("/sys/fs/cgroup/")]
    if not v2:
        return "legacy", []
    ctrls = ""
    try:
        with open(os.path.join(v2[0], "cgroup.controllers")) as f:
            ctrls = f.read().strip()
    except OSError:
        pass
    return ("hybrid-controllers" if ctrls else "hybrid"), v2


def cgroup_mountpoints():
    return [mp for mp, t in read_mounts() if t in ("cgroup", "cgroup2")]


def cleanup_cgroups(parent):
    """Kill anything left in, then remove, every cgroup dir under /<parent> in every
    hierarchy this process can see. Returns a list of problems."""
    problems = []
    parent = parent.strip("/")
    for mp in cgroup_mountpoints():
        base = os.path.join(mp, parent)
        if not os.path.isdir(base):
            continue
        for dirpath, _dirs, _files in os.walk(base, topdown=False):
            for attempt in range(50):
                try:
                    with open(os.path.join(dirpath, "cgroup.procs")) as f:
                        pids = [int(x) for x in f.read().split()]
                except OSError:
                    pids = []
                for pid in pids:  # only bench containers live under the bench parent
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                reap_orphans()
                try:
                    os.rmdir(dirpath)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if attempt == 49:
                        problems.append("rmdir %s: %s" % (dirpath, e))
                    time.sleep(0.02)
    return problems


# ---------------------------------------------------------------------------------------------
# processes

def reap_orphans():
    """We are a child subreaper: container inits whose runtime exited are reparented to us."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Result:
    __slots__ = ("ns", "rc", "maxrss_kb", "out", "err")

    def __init__(self, ns, rc, maxrss_kb, out, err):
        self.ns, self.rc, self.maxrss_kb, self.out, self.err = ns, rc, maxrss_kb, out, err

    @property
    def ok(self):
        return self.rc == 0

    @property
    def ms(self):
        return self.ns / 1e6

    def describe(self):
        return "exit %s: %s" % (self.rc, (self.err or "").strip()[-2000:])


class Spawner:
    """Timed runs: posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK), the cheapest way to start
    a process from Python) + os.wait4. The time includes spawn and reaping, the same for all
    runtimes. (ru_maxrss of such a child is useless: see launch().)"""

    def __init__(self, tmp):
        self.out_path = os.path.join(tmp, "stdout")
        self.err_path = os.path.join(tmp, "stderr")
        self.inflight = None
        self.env = dict(os.environ)
        self.sigdef = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT)

    def __call__(self, argv, capture=False):
        fl = os.O_RDWR | os.O_CREAT | os.O_TRUNC
        fin = os.open("/dev/null", os.O_RDONLY)
        fout = os.open(self.out_path, fl, 0o600) if capture else os.open("/dev/null", os.O_WRONLY)
        ferr = os.open(self.err_path, fl, 0o600)
        try:
            actions = [(os.POSIX_SPAWN_DUP2, fin, 0), (os.POSIX_SPAWN_DUP2, fout, 1),
                       (os.POSIX_SPAWN_DUP2, ferr, 2)]
            t0 = time.perf_counter_ns()
            pid = os.posix_spawn(argv[0], argv, self.env, file_actions=actions,
                                 setsigdef=self.sigdef)
            self.inflight = pid
            _, status, ru = os.wait4(pid, 0)
            t1 = time.perf_counter_ns()
            self.inflight = None
            rc = os.waitstatus_to_exitcode(status)
            out = ""
            if capture:
                os.lseek(fout, 0, os.SEEK_SET)
                out = os.read(fout, 1 << 20).decode(errors="replace")
            os.lseek(ferr, 0, os.SEEK_SET)
            err = os.read(ferr, 1 << 16).decode(errors="replace")
            return Result(t1 - t0, rc, ru.ru_maxrss, out, err)
        finally:
            for fd in (fin, fout, ferr):
                os.close(fd)

    def launch(self, argv):
        """Run argv as a grandchild forked by a small /bin/sh and reaped by us (we are a child
        subreaper) with os.wait4, so its ru_maxrss is its own: a child that we posix_spawn or
        fork inherits our ~17 MB hiwater mark (vfork shares our mm, fork copies it), which
        would swamp every runtime's figure. The floor is the shell's own RSS (~1 MB; see
        launcher_floor_kb). Untimed. Returns (rc, maxrss_kb, stderr)."""
        script = '"$@" <&3 >&4 2>&5 3<&- 4>&- 5>&- & echo $!'
        fl = os.O_RDWR | os.O_CREAT | os.O_TRUNC
        fnull = os.open("/dev/null", os.O_RDWR)
        fpid = os.open(self.out_path, fl, 0o600)
        ferr = os.open(self.err_path, fl, 0o600)
        try:
            actions = [(os.POSIX_SPAWN_DUP2, fnull, 0), (os.POSIX_SPAWN_DUP2, fpid, 1),
                       (os.POSIX_SPAWN_DUP2, fnull, 2), (os.POSIX_SPAWN_DUP2, fnull, 3),
                       (os.POSIX_SPAWN_DUP2, fnull, 4), (os.POSIX_SPAWN_DUP2, ferr, 5)]
            sh = ["/bin/sh", "-c", script, "sh"] + list(argv)
            pid = os.posix_spawn(sh[0], sh, self.env, file_actions=actions,
                                 setsigdef=self.sigdef)
            self.inflight = pid
            _, status, _ = os.wait4(pid, 0)
            self.inflight = None
            os.lseek(fpid, 0, os.SEEK_SET)
            txt = os.read(fpid, 100).decode().strip()
            if os.waitstatus_to_exitcode(status) != 0 or not txt.isdigit():
                return -1, None, "launcher failed: %r" % txt
            child = int(txt)
            self.inflight = child
            try:
                _, status, ru = os.wait4(child, 0)
            except ChildProcessError:  # a quick child the shell reaped itself before exiting
                self.inflight = None
                return -1, None, "reaped by the launching shell"
            self.inflight = None
            os.lseek(ferr, 0, os.SEEK_SET)
            err = os.read(ferr, 1 << 16).decode(errors="replace")
            return os.waitstatus_to_exitcode(status), ru.ru_maxrss, err
        finally:
            for fd in (fnull, fpid, ferr):
                os.close(fd)

    def parallel(self, queues):
        """Run the argv lists of each queue in order, the queues side by side; returns
        (all ok, [error texts], wall ns). Containers' inits reparented to us are reaped too
        (we are a subreaper), so any pid that is not one of ours is ignored."""
        fnull = os.open("/dev/null", os.O_RDWR)
        errfiles = [os.path.join(os.path.dirname(self.err_path), "stderr-%d" % q)
                    for q in range(len(queues))]
        running = {}
        pos = [0] * len(queues)
        errors = []

        def launch(q):
            argv = queues[q][pos[q]]
            ferr = os.open(errfiles[q], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                actions = [(os.POSIX_SPAWN_DUP2, fnull, 0), (os.POSIX_SPAWN_DUP2, fnull, 1),
                           (os.POSIX_SPAWN_DUP2, ferr, 2)]
                pid = os.posix_spawn(argv[0], argv, self.env, file_actions=actions,
                                     setsigdef=self.sigdef)
            finally:
                os.close(ferr)
            running[pid] = q
        try:
            t0 = time.perf_counter_ns()
            for q in range(len(queues)):
                if queues[q]:
                    launch(q)
            while running:
                pid, status = os.waitpid(-1, 0)
                q = running.pop(pid, None)
                if q is None:
                    continue
                if os.waitstatus_to_exitcode(status) != 0:
                    with open(errfiles[q], errors="replace") as f:
                        errors.append("%s: exit %s: %s" % (" ".join(queues[q][pos[q]][-2:]),
                                                           os.waitstatus_to_exitcode(status),
                                                           f.read().strip()[-500:]))
                pos[q] += 1
                if pos[q] < len(queues[q]):
                    launch(q)
            t1 = time.perf_counter_ns()
        finally:
            for pid in running:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except OSError:
                    pass
            os.close(fnull)
        return not errors, errors, t1 - t0

    def kill_inflight(self):
        pid, self.inflight = self.inflight, None
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------
# runtimes and bundles

class Runtime:
    def __init__(self, name, path, root, wrapper):
        self.name, self.path, self.root, self.wrapper = name, path, root, wrapper
        self.bundles = {}
        self.batch_bundles = []
        self.batch_rootfs = None
        self.ids = set()

    def argv(self, *args):
        return self.wrapper + [self.path, "--root", self.root] + list(args)


def build_bundles(tmp, runtimes, batch=0):
    src = os.path.join(tmp, "src")
    import subprocess
    r = subprocess.run([MAKE_BUNDLE, src, "/bin/true"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError("make-bundle.sh failed: " + r.stderr)
    with open(os.path.join(src, "config.json")) as f:
        base = json.load(f)
    base["ociVersion"] = OCI_VERSION
    base["root"] = {"path": "rootfs", "readonly": True}
    for rt in runtimes:
        for kind in ("run", "life", "rss"):
            d = os.path.join(tmp, "bundles", "%s-%s" % (rt.name, kind))
            shutil.copytree(os.path.join(src, "rootfs"), os.path.join(d, "rootfs"),
                            symlinks=True)
            rt.bundles[kind] = d
        # batch containers share one read-only rootfs (absolute root.path), each its own
        # bundle directory for its own config.json (its own cgroupsPath)
        rt.batch_rootfs = os.path.join(rt.bundles["life"], "rootfs")
        for k in range(batch):
            d = os.path.join(tmp, "bundles", "%s-batch" % rt.name, str(k))
            os.makedirs(d)
            rt.batch_bundles.append(d)
    return base


def write_config(base, bundle, args, cgpath, rootfs=None):
    c = json.loads(json.dumps(base))
    c["process"]["args"] = args
    c["linux"]["cgroupsPath"] = cgpath
    if rootfs:
        c["root"]["path"] = rootfs
    tmp = os.path.join(bundle, "config.json.tmp")
    with open(tmp, "w") as f:
        json.dump(c, f, indent=2)
    os.rename(tmp, os.path.join(bundle, "config.json"))


# ---------------------------------------------------------------------------------------------
# the benchmark

class Bench:
    def __init__(self, opts, runtimes, tmp, spawn, base, wrapper_argv):
        self.o = opts
        self.rts = runtimes
        self.tmp = tmp
        self.spawn = spawn
        self.base = base
        self.wrapper_argv = wrapper_argv
        self.samples = {rt.name: {op: [] for op in TIME_OPS + MEM_OPS + BATCH_OPS}
                        for rt in runtimes}
        self.samples["wrapper"] = {"wrapper": []}
        self.errors = []
        self.recording = True

    def err(self, rt, op, i, text):
        e = {"runtime": rt.name, "op": op, "iteration": i, "warmup": not self.recording,
             "error": text}
        self.errors.append(e)
        log("  ERROR %s %s #%d: %s" % (rt.name, op, i, text.splitlines()[0] if text else ""))

    def rec(self, rt, op, value):
        if self.recording:
            self.samples[rt.name][op].append(value)

    def force_delete(self, rt, cid):
        r = self.spawn(rt.argv("delete", "--force", cid))
        reap_orphans()
        return r

    def state(self, rt, cid):
        r = self.spawn(rt.argv("state", cid), capture=True)
        st = None
        if r.ok:
            try:
                st = json.loads(r.out)
            except ValueError:
                st = None
        return r, st

    def cgpath(self, rt, kind, i):
        return "/%s/%s-%s-%d" % (self.o.cgroup_parent.strip("/"), rt.name, kind, i)

    def do_run(self, rt, i, tag):
        cid = "bench-%s-run-%s" % (rt.name, tag)
        b = rt.bundles["run"]
        write_config(self.base, b, ["/bin/true"], self.cgpath(rt, "run", i))
        rt.ids.add(cid)
        r = self.spawn(rt.argv("run", "--bundle", b, cid))
        reap_orphans()
        if r.ok:
            self.rec(rt, "run", r.ms)
            rt.ids.discard(cid)
        else:
            self.err(rt, "run", i, r.describe())
            self.force_delete(rt, cid)

    def do_lifecycle(self, rt, i, tag):
        cid = "bench-%s-life-%s" % (rt.name, tag)
        b = rt.bundles["life"]
        write_config(self.base, b, ["sleep", "1000"], self.cgpath(rt, "life", i))
        rt.ids.add(cid)
        try:
            self._lifecycle(rt, i, cid, b)
        finally:
            reap_orphans()

    def _lifecycle(self, rt, i, cid, b):
        r = self.spawn(rt.argv("create", "--bundle", b, cid))
        if not r.ok:
            self.err(rt, "create", i, r.describe())
            self.force_delete(rt, cid)
            return
        self.rec(rt, "create", r.ms)

        r, st = self.state(rt, cid)  # untimed: pid of the waiting process
        if st is None:
            self.err(rt, "state(created)", i, r.describe() if not r.ok else "bad JSON: " + r.out)
        else:
            if st.get("status") != "created":
                self.err(rt, "state(created)", i, "status %r, expected 'created'"
                         % st.get("status"))
            rss = proc_rss_kb(st.get("pid"))
            if rss is None:
                self.err(rt, "waiting_rss", i, "cannot read /proc/%s/status" % st.get("pid"))
            else:
                self.rec(rt, "waiting_rss", rss)

        r = self.spawn(rt.argv("start", cid))
        if not r.ok:
            self.err(rt, "start", i, r.describe())
            self.force_delete(rt, cid)
            return
        self.rec(rt, "start", r.ms)

        r, st = self.state(rt, cid)
        if st is None:
            self.err(rt, "state", i, r.describe() if not r.ok else "bad JSON: " + r.out)
        else:
            self.rec(rt, "state", r.ms)
            if st.get("status") != "running":
                self.err(rt, "state", i, "status %r, expected 'running'" % st.get("status"))

        r = self.spawn(rt.argv("exec", cid, "/bin/true"))
        reap_orphans()
        if r.ok:
            self.rec(rt, "exec", r.ms)
        else:
            self.err(rt, "exec", i, r.describe())

        r = self.spawn(rt.argv("kill", cid, "KILL"))
        if not r.ok:
            self.err(rt, "kill", i, r.describe())
            self.force_delete(rt, cid)
            return
        self.rec(rt, "kill", r.ms)

        deadline = time.monotonic() + 10
        while True:
            reap_orphans()
            r, st = self.state(rt, cid)
            if st is not None and st.get("status") == "stopped":
                break
            if time.monotonic() > deadline:
                self.err(rt, "wait-stopped", i, "not stopped after 10 s: " +
                         (r.describe() if not r.ok else r.out.strip()[:300]))
                self.force_delete(rt, cid)
                return
            time.sleep(0.002)

        r = self.spawn(rt.argv("delete", cid))
        if not r.ok:
            self.err(rt, "delete", i, r.describe())
            self.force_delete(rt, cid)
            return
        self.rec(rt, "delete", r.ms)
        rt.ids.discard(cid)

    def do_create_rss(self, rt, i, tag):
        """An extra, untimed create of an identical container, run via Spawner.launch so that
        wait4's ru_maxrss is the runtime's own; then delete -f."""
        cid = "bench-%s-rss-%s" % (rt.name, tag)
        b = rt.bundles["rss"]
        write_config(self.base, b, ["sleep", "1000"], self.cgpath(rt, "rss", i))
        rt.ids.add(cid)
        rc, maxrss, err = self.spawn.launch(rt.argv("create", "--bundle", b, cid))
        if rc == 0:
            self.rec(rt, "create_maxrss", maxrss)
        else:
            self.err(rt, "create_maxrss", i, "exit %s: %s" % (rc, err.strip()[-2000:]))
        r = self.force_delete(rt, cid)
        if r.ok or rc != 0:
            rt.ids.discard(cid)

    def do_wrapper(self, i):
        r = self.spawn(self.wrapper_argv + ["/bin/true"])
        if r.ok:
            if self.recording:
                self.samples["wrapper"]["wrapper"].append(r.ms)
        else:
            log("  ERROR wrapper #%d: %s" % (i, r.describe()))

    def iteration(self, i, tag):
        for rt in self.rts:
            self.do_run(rt, i, tag)
        if self.wrapper_argv:
            self.do_wrapper(i)
        for rt in self.rts:
            self.do_lifecycle(rt, i, tag)
        for rt in self.rts:
            self.do_create_rss(rt, i, tag)

    def batch(self, rt, rnd):
        """create+start of N containers, P at a time (each slot runs create then start of its
        containers), then delete -f of all N one after the other; each timed as a whole."""
        n, par = self.o.batch, self.o.batch_parallel
        cids = ["bench-%s-batch-%d-%d" % (rt.name, rnd, k) for k in range(n)]
        for k, cid in enumerate(cids):
            write_config(self.base, rt.batch_bundles[k], ["sleep", "1000"],
                         self.cgpath(rt, "batch", rnd * n + k), rootfs=rt.batch_rootfs)
        rt.ids.update(cids)
        queues = [[] for _ in range(par)]
        for k, cid in enumerate(cids):
            queues[k % par] += [rt.argv("create", "--bundle", rt.batch_bundles[k], cid),
                                rt.argv("start", cid)]
        ok, errs, ns = self.spawn.parallel(queues)
        for e in errs:
            self.err(rt, "batch_create_start", rnd, e)
        if ok:
            self.rec(rt, "batch_create_start", ns / 1e6)
        t0 = time.perf_counter_ns()
        failed = False
        for cid in cids:
            r = self.spawn(rt.argv("delete", "--force", cid))
            if not r.ok:
                failed = True
                self.err(rt, "batch_delete", rnd, r.describe())
        t1 = time.perf_counter_ns()
        reap_orphans()
        if ok and not failed:
            self.rec(rt, "batch_delete", (t1 - t0) / 1e6)
        rt.ids.difference_update(cids)

    def batches(self):
        for rnd in range(self.o.batch_rounds):
            log("batch round %d/%d" % (rnd + 1, self.o.batch_rounds))
            for rt in self.rts:
                self.batch(rt, rnd)

    def main(self):
        self.recording = False
        for w in range(self.o.warmup):
            log("warm-up %d/%d" % (w + 1, self.o.warmup))
            self.iteration(w, "w%d" % w)
        self.recording = True
        for i in range(self.o.runs):
            log("iteration %d/%d" % (i + 1, self.o.runs))
            self.iteration(i, str(i))
        if self.o.batch:
            self.batches()


def own_hwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def proc_rss_kb(pid):
    try:
        with open("/proc/%d/status" % int(pid)) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, TypeError, ValueError):
        return None
    return None


# ---------------------------------------------------------------------------------------------
# reporting

def stats(xs):
    if not xs:
        return None
    return {"n": len(xs), "min": min(xs), "median": statistics.median(xs), "max": max(xs),
            "mean": statistics.fmean(xs),
            "stdev": statistics.stdev(xs) if len(xs) > 1 else 0.0}


def summarize(bench, names):
    summ = {}
    for name in names + ["wrapper"]:
        summ[name] = {op: stats(v) for op, v in bench.samples[name].items()}
    return summ


def fmt_cell(st, scale=1.0, prec=1):
    if not st:
        return "n/a"
    f = "%%.%df" % prec
    return " / ".join(f % (st[k] * scale) for k in ("min", "median", "max"))


def ratio(summ, a, b, op, sub=0.0, sub_b=0.0):
    sa = summ.get(a, {}).get(op)
    sb = summ.get(b, {}).get(op)
    if not sa or not sb:
        return None
    den = sb["median"] - sub_b
    if den <= 0:
        return None
    return (sa["median"] - sub) / den


def render_table(summ, names, errors, runs, crun_net, batch=None):
    cols = [n for n in names]
    others = [n for n in ("runc", "crun") if n in names and "pyrunc" in names]
    head = ["operation"] + ["%s min/med/max" % n for n in cols] + \
           ["pyrunc/%s" % o for o in others]
    rows = []
    nerr = {}
    for e in errors:
        if not e["warmup"]:
            k = (e["runtime"], e["op"])
            nerr[k] = nerr.get(k, 0) + 1

    def add(label, op, scale, prec, unit):
        row = ["%s [%s]" % (label, unit)]
        for n in cols:
            cell = fmt_cell(summ[n].get(op), scale, prec)
            if nerr.get((n, op)):
                cell += "  (%d err)" % nerr[(n, op)]
            row.append(cell)
        for o in others:
            r = ratio(summ, "pyrunc", o, op)
            row.append("%.2fx" % r if r is not None else "n/a")
        rows.append(row)

    for op in TIME_OPS:
        add(TIME_LABELS[op], op, 1.0, 1, "ms")
    for op in MEM_OPS:
        add(MEM_LABELS[op], op, 1 / 1024, 1, "MiB")
    if batch:
        n, par, rounds = batch
        for op in BATCH_OPS:
            add((BATCH_LABELS[op] % (n, par)) if "%d parallel" in BATCH_LABELS[op] else
                BATCH_LABELS[op] % n, op, 1.0, 0, "ms, %d rounds" % rounds)
    if summ["wrapper"]["wrapper"]:
        row = ["%s [ms]" % TIME_LABELS["wrapper"]] + \
              [fmt_cell(summ["wrapper"]["wrapper"])] + [""] * (len(head) - 2)
        rows.append(row)
    widths = [max(len(r[c]) for r in [head] + rows) for c in range(len(head))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    if crun_net:
        lines.append("")
        lines.append("crun was wrapped per command (unshare -m + umount); net of the wrapper's "
                     "median (%.1f ms):" % crun_net["wrapper_median_ms"])
        for op in TIME_OPS:
            v = crun_net["ops"].get(op)
            if v:
                lines.append("  %-16s crun net median %6.1f ms   pyrunc/crun(net) %s" % (
                    TIME_LABELS[op], v["crun_net_median_ms"],
                    "%.2fx" % v["ratio"] if v["ratio"] else "n/a"))
    lines.append("(%d runs per cell; ratios are of medians)" % runs)
    return "\n".join(lines)


def version_of(path, wrapper, spawn):
    try:
        r = spawn(wrapper + [path, "--version"], capture=True)
        return r.out.strip() if r.ok else "error: " + r.describe()
    except OSError as e:
        return "error: %s" % e


# ---------------------------------------------------------------------------------------------
# main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=30, help="measured iterations (default 30)")
    p.add_argument("--quick", action="store_true", help="5 runs")
    p.add_argument("--warmup", type=int, default=1, help="untimed warm-up iterations (1)")
    p.add_argument("--runtimes", default="pyrunc,runc,crun")
    p.add_argument("--pyrunc", default=shutil.which("pyrunc") or "/usr/local/bin/pyrunc")
    p.add_argument("--runc", default=shutil.which("runc") or "/usr/sbin/runc")
    p.add_argument("--crun", default=shutil.which("crun") or "/usr/bin/crun")
    p.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"))
    p.add_argument("--cgroup-parent", default="pyrunc-bench")
    p.add_argument("--batch", type=int, default=50,
                   help="containers in the batch phase (create+start in parallel, then "
                        "delete -f each); 0 skips it (default 50)")
    p.add_argument("--batch-parallel", type=int, default=4,
                   help="create+start commands running at once in the batch phase (4)")
    p.add_argument("--batch-rounds", type=int, default=3,
                   help="batch phase rounds per runtime, interleaved (3)")
    p.add_argument("--tmpdir", default=None, help="where the temp dir goes (default $TMPDIR)")
    p.add_argument("--crun-fix", default="auto",
                   choices=["auto", "shared-ns", "wrap-crun", "wrap-all", "none"],
                   help="how to run crun on a hybrid host whose cgroup2 has controllers: "
                        "shared-ns = the bench itself enters one private mount namespace "
                        "without the cgroup2 mount and runs all runtimes there (no "
                        "per-command cost; default when needed); wrap-crun = wrap each crun "
                        "command in unshare -m + umount and report crun net of the wrapper; "
                        "wrap-all = wrap all three runtimes' commands the same way")
    o = p.parse_args(argv)
    if o.quick:
        o.runs = 5
        o.batch_rounds = min(o.batch_rounds, 1)
    if o.runs < 1:
        p.error("--runs must be >= 1")
    return o


def enter_private_cgroup_ns(v2_mounts):
    """unshare(CLONE_NEWNS) for this process, make everything private, unmount cgroup2 under
    /sys/fs/cgroup (only in our namespace). Returns an fd on the host mount namespace."""
    host_ns = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    _libc_call("unshare", CLONE_NEWNS)
    _libc_call("mount", b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    for mp in v2_mounts:
        _libc_call("umount2", mp.encode(), MNT_DETACH)
    return host_ns


def main(argv=None):
    o = parse_args(argv if argv is not None else sys.argv[1:])
    if os.geteuid() != 0:
        die("must run as root")
    names = [n.strip() for n in o.runtimes.split(",") if n.strip()]
    for n in names:
        if n not in ("pyrunc", "runc", "crun"):
            die("unknown runtime %r" % n)
    paths = {}
    for n in names:
        pth = shutil.which(getattr(o, n))
        if not pth:
            die("%s not found: %s" % (n, getattr(o, n)))
        paths[n] = os.path.abspath(pth)

    layout, v2 = cgroup_layout()
    fix = o.crun_fix
    if fix == "auto":
        fix = "shared-ns" if (layout == "hybrid-controllers" and "crun" in names) else "none"
    wrapper = []
    if fix in ("wrap-crun", "wrap-all"):
        if not v2:
            die("--crun-fix %s: no cgroup2 mount under /sys/fs/cgroup to hide" % fix)
        sh = "for m in %s; do umount \"$m\" || exit 125; done; exec \"$@\"" % \
            " ".join(v2)
        wrapper = [shutil.which("unshare") or "/usr/bin/unshare", "--mount",
                   "--propagation", "private", "/bin/sh", "-c", sh, "sh"]

    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)

    tmp = tempfile.mkdtemp(prefix="pyrunc-bench-", dir=o.tmpdir)
    spawn = Spawner(tmp)
    host_ns = None
    runtimes = []
    bench = None
    status = 1
    try:
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            log("warning: PR_SET_CHILD_SUBREAPER failed")
        leftovers = cleanup_cgroups(o.cgroup_parent)
        if leftovers:
            log("warning: stale cgroups under /%s: %s" % (o.cgroup_parent, leftovers))
        if fix == "shared-ns":
            host_ns = enter_private_cgroup_ns(v2)
        for n in names:
            w = wrapper if (fix == "wrap-all" or (fix == "wrap-crun" and n == "crun")) else []
            root = os.path.join(tmp, "root-" + n)
            os.mkdir(root, 0o700)
            runtimes.append(Runtime(n, paths[n], root, w))
        base = build_bundles(tmp, runtimes, o.batch)
        versions = {rt.name: version_of(rt.path, [], spawn) for rt in runtimes}
        bench = Bench(o, runtimes, tmp, spawn, base, wrapper)
        floor = [x for x in (spawn.launch(["/bin/true"])[1] for _ in range(5)) if x] or [0]
        direct = [spawn(["/bin/true"]).maxrss_kb for _ in range(3)]
        log("runtimes: %s; cgroup layout: %s; crun fix: %s; runs: %d (+%d warm-up)" % (
            ", ".join("%s=%s" % (rt.name, rt.path) for rt in runtimes), layout, fix,
            o.runs, o.warmup))
        load_before = os.getloadavg()
        try:
            bench.main()
            complete = True
        except (KeyboardInterrupt, Interrupted) as e:
            log("interrupted (%s); reporting what was measured" % (str(e) or "Ctrl-C"))
            complete = False
        summ = summarize(bench, names)
        load_after = os.getloadavg()

        crun_net = None
        if fix == "wrap-crun" and "crun" in names and summ["wrapper"]["wrapper"]:
            wmed = summ["wrapper"]["wrapper"]["median"]
            crun_net = {"wrapper_median_ms": wmed, "ops": {}}
            for op in TIME_OPS:
                c = summ["crun"].get(op)
                if c:
                    net = c["median"] - wmed
                    r = ratio(summ, "pyrunc", "crun", op, 0.0, wmed) \
                        if "pyrunc" in names else None
                    crun_net["ops"][op] = {"crun_net_median_ms": net, "ratio": r}

        print(render_table(summ, names, bench.errors, o.runs, crun_net,
                           (o.batch, o.batch_parallel, o.batch_rounds) if o.batch else None))
        print("create peak RSS = wait4 ru_maxrss of an extra untimed create forked by /bin/sh "
              "(floor: /bin/true that way = %.1f MiB; spawned directly by this %.0f MiB "
              "Python it would read %.1f MiB)" % (max(floor) / 1024, own_hwm_kb() / 1024,
                                                  max(direct) / 1024))
        print("load average before/after: %.2f / %.2f (%d CPUs)" % (
            load_before[0], load_after[0], os.cpu_count()))
        errs = [e for e in bench.errors if not e["warmup"]]
        if errs:
            print("\n%d error(s); first of each kind:" % len(errs))
            seen = set()
            for e in errs:
                k = (e["runtime"], e["op"])
                if k not in seen:
                    seen.add(k)
                    print("  %s %s: %s" % (e["runtime"], e["op"], e["error"][:500]))

        result = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "complete": complete,
            "runs": o.runs, "warmup": o.warmup,
            "batch": {"containers": o.batch, "parallel": o.batch_parallel,
                      "rounds": o.batch_rounds},
            "host": {"kernel": platform.release(), "cpus": os.cpu_count(),
                     "python": sys.version.split()[0], "cgroup_layout": layout,
                     "cgroup2_mounts": v2,
                     "loadavg_before": load_before, "loadavg_after": load_after},
            "crun_fix": fix,
            "wrapper_argv": wrapper,
            "wrapped": [rt.name for rt in runtimes if rt.wrapper],
            "cgroup_parent": "/" + o.cgroup_parent.strip("/"),
            "oci_version": OCI_VERSION,
            "runtimes": {rt.name: {"path": rt.path, "version": versions[rt.name]}
                         for rt in runtimes},
            "launcher_floor_kb": floor,
            "direct_spawn_true_maxrss_kb": direct,
            "units": {"time": "ms", "batch_*": "ms for all containers of a round",
                      "create_maxrss": "KiB (wait4 ru_maxrss)",
                      "waiting_rss": "KiB (/proc/PID/status VmRSS)"},
            "summary": summ,
            "ratios": {
                "pyrunc/" + other: {op: ratio(summ, "pyrunc", other, op)
                                    for op in TIME_OPS + MEM_OPS + BATCH_OPS}
                for other in ("runc", "crun") if other in names and "pyrunc" in names},
            "crun_net_of_wrapper": crun_net,
            "samples": bench.samples,
            "errors": bench.errors,
        }
        os.makedirs(os.path.dirname(os.path.abspath(o.json)), exist_ok=True)
        with open(o.json, "w") as f:
            json.dump(result, f, indent=1)
        log("wrote " + o.json)
        status = 0 if complete else 130
    except (KeyboardInterrupt, Interrupted) as e:
        log("interrupted (%s)" % (str(e) or "Ctrl-C"))
        status = 130
    finally:
        cleanup(o, spawn, runtimes, host_ns, tmp)
    return status


def cleanup(o, spawn, runtimes, host_ns, tmp):
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    spawn.kill_inflight()
    spawn.sigdef = (signal.SIGPIPE, signal.SIGXFSZ)  # cleanup children keep SIGINT ignored
    problems = []
    for rt in runtimes:
        ids = set(rt.ids)
        try:
            ids.update(x for x in os.listdir(rt.root) if x.startswith("bench-"))
        except OSError:
            pass
        for cid in sorted(ids):
            try:
                spawn(rt.argv("delete", "--force", cid))
            except OSError as e:
                problems.append("delete -f %s %s: %s" % (rt.name, cid, e))
            reap_orphans()
    if host_ns is not None:
        try:
            _libc_call("setns", host_ns, CLONE_NEWNS)
        except OSError as e:
            problems.append("setns back to the host mount namespace: %s" % e)
        os.close(host_ns)
    problems += cleanup_cgroups(o.cgroup_parent)
    # nothing of ours should be mounted under tmp (runtimes mount in their own namespaces)
    for mp, _ in reversed(read_mounts()):
        if mp == tmp or mp.startswith(tmp + "/"):
            libc.umount2(mp.encode(), MNT_DETACH)
    shutil.rmtree(tmp, ignore_errors=True)
    if os.path.exists(tmp):
        problems.append("could not remove " + tmp)
    reap_orphans()
    for p in problems:
        log("cleanup: " + p)


if __name__ == "__main__":
    sys.exit(main())
