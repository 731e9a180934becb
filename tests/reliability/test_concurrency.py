"""8 concurrent clients on overlapping ids: no corrupt state, no lost container, no deadlock.

Each client is a thread running the CLI (a process per command, as containerd, podman or a
shell would), drawing its operations from a seeded RNG over a pool of ids much smaller than
the number of clients, so creates race creates, deletes race starts, kills race deletes...
Meanwhile a checker thread parses every state.json in the root, over and over.

* no corrupt state: every state.json read parses; every ``state`` prints JSON (for the asked
  id, with a known status) or exactly one error line; no command prints a traceback or an
  "internal error"; ``list --format json`` always parses;
* no lost container: at the end, ``list`` + ``delete --force`` of each listed id brings
  everything back to the baseline (empty root, no cgroup, no process, no mount);
* no deadlock: every command finishes within its timeout, the whole run within a bound.
"""

import json
import os
import random
import subprocess
import threading
import time

from tests.reliability.common import unique

SEED = int(os.environ.get("PYRUNC_RELIABILITY_SEED", "20250801"))
CLIENTS = 8
OPS = int(os.environ.get("PYRUNC_RELIABILITY_OPS", "24"))  # per client
IDS = 4             # the shared pool
CMD_TIMEOUT = 60    # a command slower than this is a deadlock
RUN_BOUND = 150     # seconds for the whole run

WEIGHTS = [("create", 24), ("start", 18), ("kill", 14), ("delete", 12), ("delete-f", 10),
           ("state", 14), ("list", 4), ("exec", 4), ("pause", 3), ("resume", 3)]
STATUSES = {"creating", "created", "running", "stopped", "paused"}


def _argv(op, cid, bundle, rng):
    if op == "create":
        return ["create", "--bundle", bundle, cid]
    if op == "kill":
        return ["kill", cid, rng.choice(["KILL", "TERM"])]
    if op == "delete-f":
        return ["delete", "--force", cid]
    if op == "list":
        return ["list", "--format", "json"]
    if op == "exec":
        return ["exec", "-d", cid, "true"]
    return [op, cid]


class Client(threading.Thread):
    def __init__(self, n, world, ids, bundles, problems):
        super().__init__(daemon=True)
        self.rng = random.Random(SEED * 100 + n)
        self.world, self.ids, self.bundles, self.problems = world, ids, bundles, problems
        self.results = []
        self.timeline = []
        self.current = None

    def run(self):
        ops = [o for o, w in WEIGHTS for _ in range(w)]
        for _ in range(OPS):
            op = self.rng.choice(ops)
            cid = self.rng.choice(self.ids)
            argv = _argv(op, cid, self.bundles[cid], self.rng)
            self.current = argv
            t = time.monotonic()
            try:
                r = self.world.rt.cmd(*argv, timeout=CMD_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.problems.append("deadlock? %s took over %ss" % (argv, CMD_TIMEOUT))
                return
            self.results.append((op, cid, r, time.monotonic() - t))
            self.timeline.append((t, time.monotonic(), argv, r.code))
            self.check(op, cid, r)
        self.current = None

    def check(self, op, cid, r):
        def bad(why):
            t0, t1 = self.timeline[-1][:2]
            self.problems.append("%s %s: %s: %r; alongside: %s" % (op, cid, why, r, [
                (a, code) for c in self.peers for s, e, a, code in list(c.timeline)
                if c is not self and cid in a and s < t1 and e > t0]))
        if "Traceback" in r.err or "internal error" in r.err:
            bad("a bug's output")
        if r.code != 0:
            if len(r.err.strip().splitlines()) != 1:
                bad("not one error line")
            return
        if op == "state":
            try:
                st = json.loads(r.out)
            except ValueError:
                return bad("state output is not JSON")
            if st.get("id") != cid or st.get("status") not in STATUSES:
                bad("state JSON")
        elif op == "list":
            try:
                json.loads(r.out)
            except ValueError:
                bad("list output is not JSON")


class StateChecker(threading.Thread):
    """Parses every state.json under the root until stopped."""

    def __init__(self, root, problems):
        super().__init__(daemon=True)
        self.root, self.problems = root, problems
        self.stop = threading.Event()
        self.reads = 0

    def run(self):
        while not self.stop.is_set():
            try:
                names = os.listdir(self.root)
            except FileNotFoundError:
                names = []
            for name in names:
                path = os.path.join(self.root, name, "state.json")
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except (FileNotFoundError, NotADirectoryError):
                    continue
                self.reads += 1
                try:
                    json.loads(data)
                except ValueError:
                    self.problems.append("corrupt %s: %r" % (path, data[:200]))
            time.sleep(0.002)


def test_concurrent_clients(world):
    ids = [unique("cc%d" % i) for i in range(IDS)]
    bundles = {cid: world.bundle(cid).path for cid in ids}
    problems = []
    checker = StateChecker(world.rt.root, problems)
    checker.start()
    clients = [Client(n, world, ids, bundles, problems) for n in range(CLIENTS)]
    for c in clients:
        c.peers = clients
    t0 = time.monotonic()
    for c in clients:
        c.start()
    for c in clients:
        c.join(max(1, RUN_BOUND - (time.monotonic() - t0)))
    hung = [c.current for c in clients if c.is_alive()]
    checker.stop.set()
    checker.join(10)
    took = time.monotonic() - t0
    assert not hung, "deadlock: still running after %ds: %s" % (RUN_BOUND, hung)

    # everything back to the baseline through what a client has: list + delete --force
    for cid in world.rt.ids():
        r = world.rt.cmd("delete", "--force", cid, timeout=CMD_TIMEOUT)
        assert r.code == 0, r
    leftover = os.listdir(world.rt.root) if os.path.isdir(world.rt.root) else []
    leaks = {cid: world.leaks(cid) for cid in ids}
    results = [x for c in clients for x in c.results]
    counts = {}
    for op, _, r, _ in results:
        k = "%s:%s" % (op, "ok" if r.code == 0 else "err")
        counts[k] = counts.get(k, 0) + 1
    slowest = max(d for _, _, _, d in results)
    print("\nconcurrency: %d clients x %d ops on %d ids in %.1fs (slowest command %.2fs), "
          "%d state.json reads; %s" % (CLIENTS, OPS, IDS, took, slowest, checker.reads,
                                       dict(sorted(counts.items()))))
    assert problems == []
    assert leftover == [], "lost containers (not in list): %s" % leftover
    assert all(v == {} for v in leaks.values()), leaks
    assert counts.get("create:ok", 0) >= 4 and counts.get("start:ok", 0) >= 2, counts


def test_commands_issued_during_create_wait_for_it(world, tmp_path):
    """start / update / delete issued while a create holds the lock (a 1 s createRuntime hook)
    act on what the create recorded once it is done, not on what they read before waiting:
    start starts it, update keeps its pid, delete finds its cgroups and init."""
    cids = [unique("cw%d" % i) for i in range(3)]
    slow = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "1"]}]}
    procs = {}
    for cid in cids:
        b = world.bundle(cid, hooks=slow)
        procs[cid] = subprocess.Popen(world.rt.argv + ["--root", world.rt.root, "create",
                                                       "--bundle", b.path, cid],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for cid in cids:
        deadline = time.monotonic() + 10
        while (world.state(cid)[0] or {}).get("status") != "creating":
            assert time.monotonic() < deadline
            time.sleep(0.02)
    start = subprocess.Popen(world.rt.argv + ["--root", world.rt.root, "start", cids[0]],
                             stderr=subprocess.PIPE, text=True)
    update = subprocess.Popen(world.rt.argv + ["--root", world.rt.root, "update",
                                               "--pids-limit", "100", cids[1]],
                              stderr=subprocess.PIPE, text=True)
    delete = subprocess.Popen(world.rt.argv + ["--root", world.rt.root, "delete", cids[2]],
                              stderr=subprocess.PIPE, text=True)
    for cid, p in procs.items():
        assert p.wait(30) == 0, p.stderr.read()
    assert start.wait(30) == 0, start.stderr.read()
    assert update.wait(30) == 0, update.stderr.read()
    assert delete.wait(30) == 0, delete.stderr.read()
    assert world.wait_status(cids[0], "running") == "running"
    st, _ = world.state(cids[1])
    assert st["status"] == "created" and os.path.exists("/proc/%d" % st["pid"]), st
    assert world.leaks(cids[2]) == {}
    for cid in cids[:2]:
        world.rt.cmd("delete", "--force", cid, check=True)
        assert world.leaks(cid) == {}



def test_first_creates_under_a_new_parent(world):
    """Two creates, each the first under a parent cgroup nobody has made yet: the first is
    held (PYRUNC_TEST_KILLPOINT=cgroup:cpuset-made~S) between making a v1 cpuset cgroup and
    filling in its cpus/mems, so the second finds the parent made but still empty. Both must
    succeed (the second failed with "No space left on device" joining its cpuset)."""
    from tests.reliability import common
    if not any(os.path.basename(m) == "cpuset" for m in common.hierarchies()):
        import pytest
        pytest.skip("no v1 cpuset hierarchy")
    parent = "%s/%s" % (world.cgroup_parent, unique("np"))
    cids = [unique("np"), unique("np")]
    argv = world.rt.argv + ["--root", world.rt.root, "create", "--bundle"]
    procs = []
    for n, cid in enumerate(cids):
        b = world.bundle(cid)
        b.config["linux"]["cgroupsPath"] = "%s/%s" % (parent, cid)
        b.write()
        env = dict(os.environ, PYRUNC_TEST_KILLPOINT="cgroup:cpuset-made~0.8") if n == 0 \
            else None
        procs.append(subprocess.Popen(argv + [b.path, cid], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True))
        time.sleep(0.4)
    errs = [p.stderr.read() for p in procs if p.wait(60) != 0]
    for cid in cids:
        world.rt.cmd("delete", "--force", cid, timeout=CMD_TIMEOUT)
    for m in common.hierarchies():  # pyrunc leaves the parents it made, as runc does
        try:
            os.rmdir(os.path.join(m, parent.lstrip("/")))
        except FileNotFoundError:
            pass
    assert errs == []
