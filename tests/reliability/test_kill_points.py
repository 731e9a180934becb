"""SIGKILL the runtime at every named step of create / start / exec / delete.

Mechanism: ``pyrunc/testing.py``'s ``killpoint(name)``, placed between the steps; with
``PYRUNC_TEST_KILLPOINT=<name>`` the process reaching that point SIGKILLs itself there
(``<name>@N``: at its Nth passage, for the shared atomic-write helper). Chosen over
strace/gdb injection because it is deterministic (the same step every run, no timing), names
steps in the code's own terms, costs one environment lookup in production, and survives
refactoring (a moved step moves its point; ``test_every_point_is_exercised`` notices new or
vanished points).

After each kill:
* ``state`` tells the truth: the status expected for that step, consistent with reality
  (created: its init is alive and ``start`` runs the program; running: the program is what
  runs; stopped: the program never runs and ``start`` refuses; or "does not exist" after a
  finished delete), always as JSON or one error line;
* ``delete`` (plain for a stopped container, ``--force`` otherwise) leaves nothing: no state
  directory, no cgroup in any hierarchy, no process (by command line, cgroup and pid
  namespace) and no mount under the test's directories.
"""

import os

import pytest

from tests.reliability.common import LOOP, one_line_error, unique

HOOKS = {
    "createRuntime": [{"path": "/bin/true", "args": ["true"]}],
    "poststart": [{"path": "/bin/true", "args": ["true"]}],
    "poststop": [{"path": "/bin/true", "args": ["true"]}],
}

# (point, expected status after the runtime died there); "fails": the killed one is the
# container's init, and create must fail with one line and leave nothing; "gone": no
# container was recorded yet, and nothing is left
CREATE = [
    ("create:forked", "gone"),      # the init, forked first, waits for its context: EOF ends it
    ("create:state-dir-made", "stopped"),           # (no state.json yet: "stopped")
    ("create:listening", "stopped"),
    ("create:context-sent", "stopped"),             # the init sets up meanwhile
    ("write-atomic:before-rename@1", "stopped"),    # the first state.json
    ("create:state-saved", "stopped"),              # then the cgroups are made:
    ("cgroup:cpuset-made", "stopped"),              # (v1 cpuset) made, cpus not yet set
    ("create:cgroups-made", "stopped"),
    ("create:pid-received", "stopped"),
    ("write-atomic:before-rename@2", "stopped"),    # state.json with the config and pid
    ("create:config-saved", "stopped"),
    ("create:pid-saved", "stopped"),
    ("create:resources-applied", "stopped"),
    ("create:hooks-before", "stopped"),
    ("create:hooks-after", "stopped"),
    ("create:cgroups-joined", "stopped"),
    ("create:ready-acked", "stopped"),
    ("create:done-received", "stopped"),
    ("create:spawned", "stopped"),
    ("write-atomic:before-rename@3", "stopped"),    # state.json without "creating"
    ("create:creating-cleared", "created"),
    ("write-atomic:before-rename@4", "created"),    # the pid file
    ("create:pid-file-written", "created"),
    ("init:namespaces-made", "fails"),
    ("init:forked", "fails"),        # the pid-ns intermediate, before it sends the pid
    ("init:cgroups-received", "fails"),  # its pid is on record, its cgroups made
    ("init:rootfs-prepared", "fails"),
    ("init:ready-acked", "fails"),
    ("init:done-sent", "dead"),                     # create succeeds, the init is gone
]
# the steps that only a user + cgroup namespace config has
CREATE_USERNS = [
    ("create:userns-mapped", "stopped"),
    ("create:cgroupns-joined", "stopped"),
]
START = [
    ("start:checked", "created"),
    ("start:connected", "created"),
    ("start:go-sent", "running"),
    ("start:replied", "running"),
    ("start:sock-removed", "running"),
    ("start:poststart-done", "running"),
]
EXEC = [
    ("exec:forked", "gone"),          # what the exec'd process becomes: gone or running
    ("exec-init:forked", "fails"),    # the intermediate dies before sending the pid
    ("exec:pid-received", "gone"),
    ("exec:cgroup-joined", "gone"),
    ("exec:ok-sent", "running"),
    ("exec:spawned", "running"),
    ("exec:pid-file-written", "running"),
]
DELETE = [
    ("delete:locked", "running"),
    ("delete:init-killed", "stopped"),
    ("cleanup:cgroup-emptied", "stopped"),
    ("delete:cgroups-removed", "stopped"),
    ("delete:init-gone", "stopped"),
    ("rmtree:files-removed", "stopped"),
    ("delete:dir-removed", "gone"),
    ("delete:poststop-done", "gone"),
]
# reached only after pivot_root (or setns), where the log file is out of sight
UNLOGGABLE = {"init:ready-acked", "init:done-sent",
              "exec-init:forked"}  # (already in the container's mount namespace)
ALL = CREATE + CREATE_USERNS + START + EXEC + DELETE

USERNS = [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
          {"type": "network"}, {"type": "user"}, {"type": "cgroup"}]


def _env(point):
    env = dict(os.environ)
    env["PYRUNC_TEST_KILLPOINT"] = point
    return env


def _bundle(world, cid, userns=False):
    b = world.bundle(cid, hooks=HOOKS, namespaces=USERNS if userns else None)
    if userns:
        b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
        b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
        b.write()
    return b


def _program_runs(world, cid, marker=None):
    """Processes running the container's program (not the init waiting to exec it)."""
    from tests.reliability.common import container_processes
    marker = marker or cid
    return [p for p, why in container_processes(marker, "/-none-")
            if why.startswith("cmdline sh -c " + LOOP)]


def _create(world, cid, b, tmp_path, **kw):
    return world.rt.cmd("create", "--bundle", b.path, "--pid-file", tmp_path / ("pid-" + cid),
                        cid, **kw)


def _assert_killed(r):
    assert r.code == -9, "the kill point was not reached: %r" % (r,)


def _check_stopped(world, cid):
    """A stopped container: its program never runs, start refuses, plain delete cleans."""
    assert not _program_runs(world, cid)
    r = world.rt.cmd("start", cid)
    assert "stopped" in one_line_error(r), r
    assert not _program_runs(world, cid)
    r = world.rt.cmd("delete", cid)
    assert r.code == 0, r


def _check_created(world, cid, st):
    assert os.path.exists("/proc/%d" % st["pid"])
    assert os.path.exists(os.path.join(world.rt.root, cid, "start.sock"))
    assert not _program_runs(world, cid)
    world.rt.cmd("start", cid, check=True)
    _check_running(world, cid)


def _check_running(world, cid):
    assert world.wait_status(cid, "running") == "running"
    st, _ = world.state(cid)
    runs = _program_runs(world, cid)
    assert runs == [st["pid"]], (runs, st)
    r = world.rt.cmd("delete", cid)  # refuses a running container
    assert "not stopped" in one_line_error(r)


def _finish(world, cid):
    r = world.rt.cmd("delete", "--force", cid)
    assert r.code == 0, r
    assert world.leaks(cid) == {}
    st, r = world.state(cid)
    assert st is None and "does not exist" in r.err


@pytest.mark.parametrize("point,expect", CREATE + CREATE_USERNS, ids=[p for p, _ in
                                                                        CREATE + CREATE_USERNS])
def test_kill_create(world, tmp_path, point, expect):
    cid = unique("kc")
    b = _bundle(world, cid, userns=(point, expect) in CREATE_USERNS)
    r = _create(world, cid, b, tmp_path, env=_env(point), timeout=20)
    if expect == "fails":
        assert r.code == 1
        one_line_error(r)
        assert world.leaks(cid) == {}, "a failed create must leave nothing"
        st, r = world.state(cid)
        assert st is None and "does not exist" in r.err
        return
    if expect == "dead":
        assert r.code == 0, r
        assert world.wait_status(cid, "stopped") == "stopped"
        _check_stopped(world, cid)
        _finish(world, cid)
        return
    _assert_killed(r)
    st, r = world.state(cid)
    if expect == "gone":
        assert st is None and "does not exist" in r.err, r
        # the init it forked must not outlive it (it exits when the channel closes)
        assert world.leaks(cid) == {}
        return
    assert st is not None, r
    assert st["status"] == expect, st
    assert cid in world.rt.ids(), "list must show what state reports"
    if expect == "stopped":
        assert st["pid"] == 0
        # the id stays taken until the wreck is deleted
        r = _create(world, cid, b, tmp_path)
        assert "exists" in one_line_error(r)
        _check_stopped(world, cid)
    else:
        _check_created(world, cid, st)
    _finish(world, cid)


@pytest.mark.parametrize("point,expect", START, ids=[p for p, _ in START])
def test_kill_start(world, tmp_path, point, expect):
    cid = unique("ks")
    b = _bundle(world, cid)
    _create(world, cid, b, tmp_path, check=True)
    world.state(cid)
    r = world.rt.cmd("start", cid, env=_env(point))
    _assert_killed(r)
    assert world.wait_status(cid, expect) == expect
    st, _ = world.state(cid)
    if expect == "created":
        _check_created(world, cid, st)
    else:
        _check_running(world, cid)
    _finish(world, cid)


@pytest.mark.parametrize("point,expect", EXEC, ids=[p for p, _ in EXEC])
def test_kill_exec(world, tmp_path, point, expect):
    cid = unique("kx")
    b = _bundle(world, cid)
    _create(world, cid, b, tmp_path, check=True)
    world.rt.cmd("start", cid, check=True)
    world.state(cid)
    xid = "x-" + cid  # the exec'd program's $0
    r = world.rt.cmd("exec", "-d", "--pid-file", tmp_path / "exec.pid", cid,
                     "sh", "-c", LOOP, xid, env=_env(point), timeout=20)
    if expect == "fails":
        assert "exited during setup" in one_line_error(r), r
        expect = "gone"
    else:
        _assert_killed(r)
    from tests.reliability.common import container_processes
    import time
    deadline = time.monotonic() + 3
    while True:
        procs = container_processes(xid, "/-none-")
        done = _program_runs(world, cid, xid) if expect == "running" else not procs
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if expect == "gone":
        # the half-joined process must not outlive its runtime
        assert procs == []
    else:
        runs = _program_runs(world, cid, xid)
        assert len(runs) == 1, procs
        cg = open("/proc/%d/cgroup" % runs[0]).read()
        assert world.cgroup_rel(cid) in cg  # in the container's cgroup: delete will find it
    st, _ = world.state(cid)
    assert st["status"] == "running"
    _finish(world, cid)
    assert container_processes(xid, "/-none-") == []


@pytest.mark.parametrize("point,expect", DELETE, ids=[p for p, _ in DELETE])
def test_kill_delete(world, tmp_path, point, expect):
    cid = unique("kd")
    b = _bundle(world, cid)
    _create(world, cid, b, tmp_path, check=True)
    world.rt.cmd("start", cid, check=True)
    world.state(cid)  # remember its pid namespace
    r = world.rt.cmd("delete", "--force", cid, env=_env(point))
    _assert_killed(r)
    st, r = world.state(cid)
    if expect == "gone":
        assert st is None and "does not exist" in r.err
        assert world.leaks(cid) == {}
    else:
        assert st is not None, r
        assert st["status"] == expect, st
        if expect == "stopped":
            _check_stopped(world, cid)
    _finish(world, cid)


def test_every_point_is_exercised(world, tmp_path):
    """Log the points a full lifecycle passes: each must be in the tables above (a point
    added to pyrunc without a test fails here) and each table entry must be reached."""
    log = str(tmp_path / "points.log")
    seen = []
    for userns in (False, True):
        cid = unique("kl")
        b = _bundle(world, cid, userns=userns)
        _create(world, cid, b, tmp_path, check=True, env=_env(log))
        world.rt.cmd("start", cid, check=True, env=_env(log))
        world.rt.cmd("exec", "-d", "--pid-file", tmp_path / "exec.pid", cid, "true",
                     check=True, env=_env(log))
        world.rt.cmd("delete", "--force", cid, check=True, env=_env(log))
        assert world.leaks(cid) == {}
        seen += [line.split()[0] for line in open(log).read().splitlines()]
        os.unlink(log)
    counted = {}
    reached = set()
    for name in seen:
        if name.startswith("t:"):
            continue  # timeline marks (testing.mark), not kill points
        if name == "write-atomic:before-rename":
            counted[name] = counted.get(name, 0) + 1
        reached.add(name)
    tested = {p.split("@")[0] for p, _ in ALL}
    assert reached - tested == set(), "kill points without a test"
    assert tested - reached - UNLOGGABLE == set(), "tested points never reached"
    print("\nkill points exercised: %d (%d distinct names)" % (len(ALL), len(tested)))


def test_exec_ready_cannot_overtake_pid(world, tmp_path):
    """The exec'd process must not report "ready" before its parent has sent its pid (here
    delayed by 0.5 s): "0" written to cgroup.procs would have moved `pyrunc exec` itself into
    the container's cgroup and left the exec'd process outside it."""
    cid = unique("kr")
    b = _bundle(world, cid)
    _create(world, cid, b, tmp_path, check=True)
    world.rt.cmd("start", cid, check=True)
    pidfile = tmp_path / "exec.pid"
    world.rt.cmd("exec", "-d", "--pid-file", pidfile, cid, "sh", "-c", LOOP, "x-" + cid,
                 env=_env("exec-init:forked~0.5"), check=True)
    pid = int(pidfile.read_text())
    with open("/proc/%d/cgroup" % pid) as f:
        cgroups = f.read().splitlines()
    rel = world.cgroup_rel(cid)
    assert cgroups and all(line.split(":", 2)[2] == rel for line in cgroups), cgroups
    _finish(world, cid)
