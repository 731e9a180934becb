#!/usr/bin/env python3
"""Soak pyrunc: create / start / delete N containers in sequence, then N in parallel, and
check that what the host and the runtime hold returns to its baseline (stdlib only; root).

    sudo python3 bench/soak.py --n 1000 --parallel 4
    sudo python3 bench/soak.py --n 100 --parallel 2 --json out.json    # the test suite's run
    sudo python3 bench/soak.py --n 200 --mode api                       # pyrunc.api in-process

Every container gets its own bundle (config.json only; all share one busybox rootfs) and its
own cgroup /<parent>/<id>. Its life, by i % 10:
  0     runs `true`: create, start, poll `state` until stopped, plain `delete`;
  5     runs `sleep`: create, start, `exec true`, `delete --force`;
  else  runs `sleep`: create, start, `state`, `delete --force`.
Every 25th container also has its descriptors counted: the waiting init after create (the
runtime's own process, which becomes the container) and the program after start (0-2 only).

Measured before (baseline), after each phase and after settling (``--settle`` seconds):
  runtime    fds of this process (mode api: pyrunc runs in it) and of the sampled containers;
  host       allocated file handles (/proc/sys/fs/file-nr), mounts (/proc/self/mountinfo),
             cgroups (directories under every hierarchy, and /proc/cgroups' num_cgroups),
             processes and zombies, MemAvailable, Slab, SUnreclaim (/proc/meminfo);
  ours       what can be attributed exactly: entries in --root, cgroup directories under the
             soak's parent, mounts under its temp dir, processes of its containers.
"ours" must return to zero exactly (exit status 1 otherwise); host-wide figures are shared
with whatever else runs on the machine, so they are printed with their deltas and judged
against --tolerance-* (other workloads move them too).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
LOOP = "sleep 1000"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Reaper:
    """What conmon or containerd-shim is to a container: a child subreaper that reaps every
    process reparented to it (the containers' inits, once their `create` has exited) at once.
    (Without one, orphans go to the host's pid 1, which may reap them late: zombies that pin
    their cgroups and pids would blur the figures.) Commands are spawned here too, and their
    statuses handed back; a reaped orphan's status is dropped."""

    def __init__(self):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        self.cv = threading.Condition()
        self.mine = {}       # pid -> None (running) or wait status
        self.orphans = 0
        self.stopped = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopped:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(0.005)
                continue
            with self.cv:
                if pid in self.mine:
                    self.mine[pid] = status
                    self.cv.notify_all()
                else:
                    self.orphans += 1

    def run(self, argv, stdout, stderr, timeout):
        """posix_spawn ``argv`` with stdin /dev/null; its exit code (-N for signal N)."""
        null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        try:
            with self.cv:  # registered before the reaper can report it
                pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
                    (os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, stdout, 1),
                    (os.POSIX_SPAWN_DUP2, stderr, 2)])
                self.mine[pid] = None
        finally:
            os.close(null)
        deadline = time.monotonic() + timeout
        with self.cv:
            while self.mine[pid] is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    os.kill(pid, 9)
                    self.cv.wait_for(lambda: self.mine[pid] is not None)
                    self.mine.pop(pid)
                    raise TimeoutError("%s: no answer in %ds" % (" ".join(argv), timeout))
                self.cv.wait(left)
            return os.waitstatus_to_exitcode(self.mine.pop(pid))


# -- measurements ----------------------------------------------------------------------------
def _meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0]) * 1024
    return out


def cgroup_mounts():
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if right.split()[0] in ("cgroup", "cgroup2"):
                out.append(left.split()[4])
    return sorted(set(out))


def _dir_set():
    out = set()
    for m in cgroup_mounts():
        for dirpath, dirs, _ in os.walk(m):
            out.update(os.path.join(dirpath, d) for d in dirs)
    return out


def _mount_set():
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4] for line in f}


def _count_dirs(top):
    n = 0
    for _, dirs, _ in os.walk(top):
        n += len(dirs)
    return n


def _proc_counts():
    procs = zombies = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                data = f.read()
        except OSError:
            continue
        procs += 1
        if data[data.rindex(b")") + 2:][:1] == b"Z":
            zombies += 1
    return procs, zombies


def _num_cgroups():
    out = {}
    with open("/proc/cgroups") as f:
        for line in f:
            if line.startswith("#"):
                continue
            name, _, num, _ = line.split()
            out[name] = int(num)
    return out


def _is_memory(mnt):
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if left.split()[4] == mnt:
                return right.split()[0] == "cgroup" and "memory" in right.split()[2].split(",")
    return False


class Soak:
    def __init__(self, o):
        self.o = o
        self.tag = "soak-" + uuid.uuid4().hex[:8]
        self.tmp = tempfile.mkdtemp(prefix="pyrunc-soak-")
        self.root = os.path.join(self.tmp, "root")
        self.parent = "/pyrunc-" + self.tag
        self.pyrunc = o.pyrunc or os.path.join(TOP, ".venv", "bin", "pyrunc")
        self.errors = []
        self.lat = {}
        self.fd_samples = {"created": set(), "running": set()}
        self.lock = threading.Lock()
        self.api = None
        self.reaper = None
        self.new_items = {}

    # -- setup -----------------------------------------------------------------------------
    def setup(self):
        rootfs = os.path.join(self.tmp, "rootfs")
        bb = shutil.which("busybox") or "/bin/busybox"
        os.makedirs(os.path.join(rootfs, "bin"))
        for d in ("proc", "sys", "dev", "tmp", "etc", "root"):
            os.makedirs(os.path.join(rootfs, d))
        shutil.copy2(bb, os.path.join(rootfs, "bin", "busybox"))
        for applet in ("sh", "sleep", "true"):
            os.symlink("busybox", os.path.join(rootfs, "bin", applet))
        self.rootfs = rootfs
        spec_dir = os.path.join(self.tmp, "spec")
        os.mkdir(spec_dir)
        subprocess.run([self.pyrunc, "spec"], cwd=spec_dir, check=True)
        with open(os.path.join(spec_dir, "config.json")) as f:
            self.config = json.load(f)
        self.config["process"]["terminal"] = False
        self.config["root"] = {"path": rootfs, "readonly": True}
        # the parent exists from before the baseline, so the cgroup count compares like
        # with like; it is removed at the end (and must then be empty)
        for mnt in cgroup_mounts():
            d = os.path.join(mnt, self.parent.lstrip("/"))
            os.makedirs(d, exist_ok=True)
            if os.path.basename(mnt) == "cpuset" or "cpuset" in mnt.split("/")[-1].split(","):
                for name in ("cpuset.cpus", "cpuset.mems"):
                    with open(os.path.join(mnt, name)) as f:
                        val = f.read().strip()
                    with open(os.path.join(d, name), "w") as f:
                        f.write(val)
        if self.o.mode == "api":
            # the API's create worker stays on as each container's shim and reaps it
            sys.path[:0] = [TOP]
            from pyrunc.api import Runtime
            self.api = Runtime(root=self.root)
        else:
            self.reaper = Reaper()

    def bundle(self, cid, args):
        d = os.path.join(self.tmp, "b-" + cid)
        os.mkdir(d)
        cfg = dict(self.config)
        cfg["process"] = dict(cfg["process"], args=args)
        cfg["linux"] = dict(cfg["linux"], cgroupsPath="%s/%s" % (self.parent, cid))
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f)
        return d

    # -- measuring ---------------------------------------------------------------------------
    def measure(self):
        mi = _meminfo()
        procs, zombies = _proc_counts()
        cg_dirs = {m: _count_dirs(m) for m in cgroup_mounts()}
        ncg = _num_cgroups()
        ours_cg = sum(_count_dirs(os.path.join(m, self.parent.lstrip("/")))
                      for m in cgroup_mounts()
                      if os.path.isdir(os.path.join(m, self.parent.lstrip("/"))))
        with open("/proc/self/mountinfo") as f:
            mounts = f.read().splitlines()
        with open("/proc/sys/fs/file-nr") as f:
            file_nr = int(f.read().split()[0])
        return {
            "runtime_fds": len(os.listdir("/proc/self/fd")),
            "host_file_handles": file_nr,
            "host_mounts": len(mounts),
            "host_cgroup_dirs": sum(cg_dirs.values()),
            "host_num_cgroups": sum(ncg.values()),
            # removed memory cgroups the kernel keeps while pages are charged to them
            "host_memcg_dying": max(0, ncg.get("memory", 0) - 1 - sum(
                n for m, n in cg_dirs.items() if _is_memory(m))),
            "host_processes": procs,
            "host_zombies": zombies,
            "mem_available": mi.get("MemAvailable", 0),
            "slab": mi.get("Slab", 0),
            "sunreclaim": mi.get("SUnreclaim", 0),
            "ours_state_entries": len(os.listdir(self.root)) if os.path.isdir(self.root)
            else 0,
            "ours_cgroup_dirs": ours_cg,
            "ours_mounts": sum(1 for m in mounts if self.tmp in m.split()[4]),
            "ours_processes": self._our_processes(),
        }

    def _our_processes(self):
        """Processes in one of the soak's cgroups, or running its containers' programs."""
        n = 0
        needle = self.parent.encode()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/cgroup" % name, "rb") as f:
                    cg = f.read()
                with open("/proc/%s/cmdline" % name, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if needle in cg or self.tag.encode() in cmd:
                n += 1
        return n

    def settle(self):
        time.sleep(self.o.settle)
        if self.o.drop_caches:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("2")  # reclaimable slab (dentries, inodes): comparable Slab figures

    # -- one container ---------------------------------------------------------------------
    def cmd(self, files, *args, timeout=60):
        """Run pyrunc; its stdout. ``files``: this worker's (stdout, stderr) temp files: not
        pipes, which a container inheriting them would hold open."""
        out, err = files
        for f in files:
            f.seek(0)
            f.truncate()
        t = time.monotonic()
        code = self.reaper.run([self.pyrunc, "--root", self.root] + list(args),
                               out.fileno(), err.fileno(), timeout)
        self._lat(args[0], time.monotonic() - t)
        if code != 0:
            err.seek(0)
            raise RuntimeError("%s: exit %d: %s" % (" ".join(args), code,
                                                    err.read().decode().strip()))
        out.seek(0)
        return out.read()

    def _lat(self, op, dt):
        with self.lock:
            self.lat.setdefault(op, []).append(dt)

    def _state(self, errf, cid):
        if self.api is not None:
            t = time.monotonic()
            st = self.api.state(cid)
            self._lat("state", time.monotonic() - t)
            return st
        return json.loads(self.cmd(errf, "state", cid))

    def _sample_fds(self, kind, pid):
        """The settled fd count of ``pid``: create returns as soon as the init has said
        "done", a moment before the init closes its end of the channel (and start returns
        just before the execve closes the rest), so read until two readings agree."""
        n, last = None, -1
        for _ in range(20):
            try:
                n = len(os.listdir("/proc/%d/fd" % pid))
            except OSError:
                return
            if n == last:
                break
            last = n
            time.sleep(0.05)
        with self.lock:
            self.fd_samples[kind].add(n)

    def cycle(self, i, errf):
        cid = "%s-%d" % (self.tag, i)
        kind = i % 10
        args = ["true"] if kind == 0 else ["sleep", "1000"]
        b = self.bundle(cid, args)
        try:
            if self.api is not None:
                self._cycle_api(i, cid, kind, b)
            else:
                self._cycle_cli(i, cid, kind, b, errf)
        except Exception as e:  # recorded, then the container is forced away
            with self.lock:
                self.errors.append("%s: %s" % (cid, e))
            self._force_delete(cid, errf)
        finally:
            shutil.rmtree(b, ignore_errors=True)

    def _force_delete(self, cid, files):
        if self.reaper is not None:
            try:
                self.cmd(files, "delete", "--force", cid)
            except (RuntimeError, TimeoutError) as e:
                log("soak: %s" % e)
        else:
            subprocess.run([self.pyrunc, "--root", self.root, "delete", "--force", cid],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _cycle_cli(self, i, cid, kind, b, errf):
        self.cmd(errf, "create", "--bundle", b, cid)
        if i % 25 == 0:
            self._sample_fds("created", self._state(errf, cid)["pid"])
        self.cmd(errf, "start", cid)
        if kind == 0:
            self._wait_stopped(errf, cid)
            self.cmd(errf, "delete", cid)
            return
        st = self._state(errf, cid)
        if st["status"] != "running":
            raise RuntimeError("state after start: %s" % st["status"])
        if i % 25 == 1 or i % 25 == 6:
            self._sample_fds("running", st["pid"])
        if kind == 5:
            self.cmd(errf, "exec", cid, "true")
        self.cmd(errf, "delete", "--force", cid)

    def _cycle_api(self, i, cid, kind, b):
        t = time.monotonic()
        c = self.api.create(cid, bundle=b, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
        self._lat("create", time.monotonic() - t)
        try:
            if i % 25 == 0:
                self._sample_fds("created", c.pid)
            t = time.monotonic()
            c.start()
            self._lat("start", time.monotonic() - t)
            if kind == 0:
                c.wait(timeout=30)
            else:
                st = self._state(None, cid)
                if st["status"] != "running":
                    raise RuntimeError("state after start: %s" % st["status"])
                if i % 25 == 1 or i % 25 == 6:
                    self._sample_fds("running", st["pid"])
                if kind == 5:
                    t = time.monotonic()
                    c.exec(["true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    self._lat("exec", time.monotonic() - t)
        finally:
            t = time.monotonic()
            c.close(delete=True)
            self._lat("delete", time.monotonic() - t)

    def _wait_stopped(self, errf, cid, timeout=30):
        deadline = time.monotonic() + timeout
        while self._state(errf, cid)["status"] != "stopped":
            if time.monotonic() > deadline:
                raise RuntimeError("still not stopped after %ds" % timeout)
            time.sleep(0.01)

    # -- phases ------------------------------------------------------------------------------
    def phase(self, name, n, workers):
        log("soak: %s: %d containers, %d worker(s)" % (name, n, workers))
        counter = iter(range(n))
        base = {"sequential": 0, "parallel": n}.get(name, 0)
        lock = threading.Lock()
        done = [0]
        t0 = time.monotonic()

        def work():
            with tempfile.TemporaryFile() as o, tempfile.TemporaryFile() as e:
                errf = (o, e)
                while True:
                    with lock:
                        i = next(counter, None)
                    if i is None:
                        return
                    self.cycle(base + i, errf)
                    with lock:
                        done[0] += 1
                        if done[0] % max(1, n // 10) == 0:
                            log("  %d/%d (%.0fs)" % (done[0], n, time.monotonic() - t0))
        threads = [threading.Thread(target=work) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.monotonic() - t0

    def cleanup(self):
        """Remove what is left (after the final measurement): containers, cgroups, files."""
        left = []
        if os.path.isdir(self.root):
            with tempfile.TemporaryFile() as o, tempfile.TemporaryFile() as e:
                for cid in os.listdir(self.root):
                    left.append(cid)
                    self._force_delete(cid, (o, e))
        for mnt in cgroup_mounts():
            d = os.path.join(mnt, self.parent.lstrip("/"))
            if not os.path.isdir(d):
                continue
            for dirpath, dirs, _ in os.walk(d, topdown=False):
                for x in dirs:
                    left.append(os.path.join(dirpath, x))
                    try:
                        os.rmdir(os.path.join(dirpath, x))
                    except OSError:
                        pass
            try:
                os.rmdir(d)
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)
        return left


def _fmt(k, v):
    if k in ("mem_available", "slab", "sunreclaim"):
        return "%.1f MiB" % (v / 1048576)
    return str(v)


def report(o, soak, snaps, times):
    keys = list(snaps[0][1])
    names = [n for n, _ in snaps]
    w = max(len(k) for k in keys) + 2
    print("\npyrunc soak: n=%d per phase, parallel=%d, mode=%s, settle=%ss%s" % (
        o.n, o.parallel, o.mode, o.settle, ", slab caches dropped before measuring"
        if o.drop_caches else ""))
    print("%-*s" % (w, "") + "".join("%16s" % n for n in names) + "%16s" % "final-base")
    base, final = snaps[0][1], snaps[-1][1]
    for k in keys:
        row = "".join("%16s" % _fmt(k, s[k]) for _, s in snaps)
        d = final[k] - base[k]
        print("%-*s%s%16s" % (w, k, row, ("%+.1f MiB" % (d / 1048576)) if k in (
            "mem_available", "slab", "sunreclaim") else "%+d" % d))
    for name, t in times:
        print("%s: %.1fs (%.1f containers/s)" % (name, t, o.n / t))
    print("latency (ms)  " + "  ".join(
        "%s p50 %.0f p99 %.0f max %.0f" % (
            op, 1000 * statistics.median(v), 1000 * sorted(v)[int(len(v) * 0.99) - 1 if
                                                             len(v) > 1 else 0],
            1000 * max(v)) for op, v in sorted(soak.lat.items())))
    print("fds of sampled containers: waiting init %s, running program %s" % (
        sorted(soak.fd_samples["created"]), sorted(soak.fd_samples["running"])))
    if soak.reaper is not None:
        print("orphans reaped (container inits reparented to the soak, as to a shim): %d"
              % soak.reaper.orphans)
    mounts = set(cgroup_mounts())
    for what, items in sorted(soak.new_items.items()):
        if items:
            owners = {}
            for item in items:
                top = next((m for m in mounts if item.startswith(m + "/")), "")
                key = item[len(top):].lstrip("/").split("/")[0] if top else \
                    "/".join(item.split("/")[:3])
                owners[key] = owners.get(key, 0) + 1
            print("new host %s since the baseline, by owner: %s" % (what, ", ".join(
                "%s: %d" % kv for kv in sorted(owners.items(), key=lambda kv: -kv[1]))))
    print("errors: %d%s" % (len(soak.errors), "".join("\n  " + e for e in soak.errors[:20])))


def verdict(o, soak, snaps):
    base, final = snaps[0][1], snaps[-1][1]
    problems = []
    for k in ("ours_state_entries", "ours_cgroup_dirs", "ours_mounts", "ours_processes"):
        if final[k] != 0:
            problems.append("%s: %d left" % (k, final[k]))
    if final["runtime_fds"] != base["runtime_fds"]:
        problems.append("runtime fds %d -> %d" % (base["runtime_fds"], final["runtime_fds"]))
    if len(soak.fd_samples["running"]) > 1 or (soak.fd_samples["running"] and
                                               max(soak.fd_samples["running"]) != 3):
        problems.append("container fds not always 0-2: %s" % soak.fd_samples["running"])
    if len(soak.fd_samples["created"]) > 1:
        problems.append("waiting init fd counts vary: %s" % soak.fd_samples["created"])
    tol = {"host_file_handles": o.tolerance_fds, "host_mounts": o.tolerance_mounts,
           "host_cgroup_dirs": o.tolerance_cgroups, "host_num_cgroups": o.tolerance_cgroups}
    for k, t in tol.items():
        if final[k] - base[k] > t:
            problems.append("%s grew by %d (tolerance %d)" % (k, final[k] - base[k], t))
    for k in ("slab", "sunreclaim"):
        if final[k] - base[k] > o.tolerance_mem_mib * 1048576:
            problems.append("%s grew by %.1f MiB" % (k, (final[k] - base[k]) / 1048576))
    if base["mem_available"] - final["mem_available"] > o.tolerance_mem_mib * 1048576:
        problems.append("MemAvailable fell by %.1f MiB" % (
            (base["mem_available"] - final["mem_available"]) / 1048576))
    if soak.errors:
        problems.append("%d container cycles failed" % len(soak.errors))
    return problems


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="containers per phase")
    p.add_argument("--parallel", type=int, default=4,
                   help="workers of the parallel phase (1: sequential phase only)")
    p.add_argument("--mode", choices=("cli", "api"), default="cli",
                   help="cli: every operation a pyrunc process; api: pyrunc.api in-process")
    p.add_argument("--pyrunc", help="the pyrunc launcher (default: .venv/bin/pyrunc)")
    p.add_argument("--settle", type=float, default=3.0,
                   help="seconds to wait before the last measurement")
    p.add_argument("--drop-caches", action="store_true",
                   help="drop reclaimable slab before the first and last measurements")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--tolerance-fds", type=int, default=1024)
    p.add_argument("--tolerance-mounts", type=int, default=8)
    p.add_argument("--tolerance-cgroups", type=int, default=16)
    p.add_argument("--tolerance-mem-mib", type=int, default=128)
    o = p.parse_args(argv)
    if os.geteuid() != 0:
        log("soak: run as root")
        return 2
    soak = Soak(o)
    snaps, times = [], []
    try:
        soak.setup()
        if o.drop_caches:
            soak.settle()
        snaps.append(("baseline", soak.measure()))
        before = (_mount_set(), _dir_set())
        times.append(("sequential", soak.phase("sequential", o.n, 1)))
        snaps.append(("sequential", soak.measure()))
        if o.parallel > 1:
            times.append(("parallel", soak.phase("parallel", o.n, o.parallel)))
            snaps.append(("parallel", soak.measure()))
        soak.settle()
        snaps.append(("settled", soak.measure()))
        # host-wide growth, itemised: whose it is shows in the names
        soak.new_items = {"mounts": sorted(_mount_set() - before[0]),
                          "cgroup_dirs": sorted(_dir_set() - before[1])}
    finally:
        if soak.api is not None:
            soak.api.close()
        left = soak.cleanup()
    report(o, soak, snaps, times)
    problems = verdict(o, soak, snaps)
    if left:
        problems.append("left behind: %s" % left[:10])
    print("verdict: %s" % ("OK" if not problems else "; ".join(problems)))
    if o.json:
        with open(o.json, "w") as f:
            json.dump({"n": o.n, "parallel": o.parallel, "mode": o.mode, "snapshots": snaps,
                       "seconds": times, "errors": soak.errors, "problems": problems,
                       "latency_ms": {k: {"p50": 1000 * statistics.median(v),
                                          "max": 1000 * max(v), "count": len(v)}
                                      for k, v in soak.lat.items()},
                       "container_fds": {k: sorted(v) for k, v in soak.fd_samples.items()},
                       "new_host_items": soak.new_items,
                       "loadavg": os.getloadavg()}, f, indent=1)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
