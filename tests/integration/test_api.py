"""pyrunc.api with real containers: run/exec with exit codes and captured output, context
managers that always clean up, typed errors, state transitions, and use from threads."""

import json
import os
import signal
import threading
import time

import pytest

from pyrunc import api_errors, errors
from pyrunc.api import Completed, Container, Runtime
from pyrunc.spec.model import Builder

from tests.helpers import new_id


@pytest.fixture
def rt(tmp_path):
    r = Runtime(root=str(tmp_path / "api-root"))
    yield r
    r.close()
    leftovers = r.ids()
    for cid in leftovers:
        r._force_delete(cid)
    assert leftovers == [], "containers left behind"


def cfg(*args):
    """A busybox-friendly config from the builder (no terminal, writable root)."""
    return Builder().set_args(*args).set_terminal(False).set_readonly_root(False).build()


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] in "ZX"
    except (FileNotFoundError, ProcessLookupError):
        return True


def wait_for(pred, timeout=10):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# -- run ----------------------------------------------------------------------------------------

def test_run_bundle_exit_code_and_output(rt, make_bundle):
    b = make_bundle("sh", "-c", "echo out; echo err >&2; exit 7")
    r = rt.run(new_id(), b.path)
    assert isinstance(r, Completed)
    assert (r.exit_code, r.stdout, r.stderr) == (7, b"out\n", b"err\n")
    assert not r.ok
    assert rt.ids() == []


def test_run_config_and_rootfs_writes_and_removes_a_temp_bundle(rt, make_bundle):
    b = make_bundle("true")
    seen = {}
    c = cfg("sh", "-c", "cat /etc/hostname 2>/dev/null; hostname; echo $GREETING")
    c.builder().set_env("GREETING", "hello").set_hostname("api-box")
    with rt.run_context(config=c, rootfs=b.rootfs, start=False) as ct:
        st = ct.state()
        seen["bundle"] = st["bundle"]
        assert st["status"] == "created"
        assert st["rootfs"] == os.path.realpath(b.rootfs)
        with open(os.path.join(st["bundle"], "config.json")) as f:
            written = json.load(f)
        assert written["root"]["path"] == os.path.abspath(b.rootfs)
        assert written["hostname"] == "api-box"
        ct.start()
        done = ct.wait(timeout=30, text=True)
    assert done.exit_code == 0
    assert done.stdout == "api-box\nhello\n"
    assert not os.path.exists(seen["bundle"])
    # a plain dict works as well as a Config
    r = rt.run(config=cfg("echo", "dict").to_dict(), rootfs=b.rootfs, text=True)
    assert (r.exit_code, r.stdout) == (0, "dict\n")


def test_run_input_signals_and_check(rt, make_bundle):
    b = make_bundle("true")
    r = rt.run(config=cfg("sh", "-c", "tr a-z A-Z"), rootfs=b.rootfs, input=b"shout\n")
    assert r.stdout == b"SHOUT\n"
    # (not pid 1 of a pid namespace, which has no default action for SIGTERM)
    c = cfg("sh", "-c", "kill -TERM $$").builder().remove_namespace("pid").build()
    r = rt.run(config=c, rootfs=b.rootfs)
    assert r.exit_code == 128 + signal.SIGTERM  # killed by a signal: pyrunc run's 128+N
    with pytest.raises(api_errors.ProcessFailed) as ei:
        rt.run(config=cfg("sh", "-c", "echo bad >&2; exit 3"), rootfs=b.rootfs, check=True)
    assert isinstance(ei.value, errors.PyruncError)
    assert ei.value.completed.exit_code == 3 and ei.value.completed.stderr == b"bad\n"
    assert rt.ids() == []


def test_run_timeout_kills_and_cleans_up(rt, make_bundle):
    b = make_bundle("true")
    t0 = time.monotonic()
    with pytest.raises(api_errors.Timeout) as ei:
        rt.run(config=cfg("sh", "-c", "echo started; sleep 60"), rootfs=b.rootfs, timeout=1)
    assert time.monotonic() - t0 < 20
    assert isinstance(ei.value, TimeoutError)
    assert ei.value.completed.stdout == b"started\n"
    assert rt.ids() == []


def test_background_process_holding_stdout_does_not_block(rt, make_bundle):
    # no pid namespace: the daemon outlives the init and keeps the output file open
    b = make_bundle("true")
    c = cfg("sh", "-c", "sleep 60 & echo main done").builder().remove_namespace("pid").build()
    t0 = time.monotonic()
    r = rt.run(config=c, rootfs=b.rootfs, timeout=30)
    assert time.monotonic() - t0 < 15
    assert (r.exit_code, r.stdout) == (0, b"main done\n")
    assert rt.ids() == []  # delete(force) killed the daemon with the cgroup


def test_output_to_caller_files(rt, make_bundle, tmp_path):
    b = make_bundle("true")
    with open(tmp_path / "out", "wb") as out:
        r = rt.run(config=cfg("echo", "to file"), rootfs=b.rootfs, stdout=out)
    assert r.stdout is None and r.stderr == b""
    assert (tmp_path / "out").read_bytes() == b"to file\n"


# -- exec ---------------------------------------------------------------------------------------

def test_exec_captures_output_and_status(rt, make_bundle):
    b = make_bundle("sleep", "300")
    with rt.run_context(new_id(), b.path) as c:
        r = c.exec(["sh", "-c", "echo out; echo err >&2; exit 3"])
        assert (r.exit_code, r.stdout, r.stderr) == (3, b"out\n", b"err\n")
        r = c.exec(["sh", "-c", "echo $A $B; pwd; id -u; id -g"], env={"A": "1"},
                   cwd="/tmp", user=(65534, 65534), text=True)
        assert r.exit_code == 0
        assert r.stdout.split("\n")[:4] == ["1", "/tmp", "65534", "65534"]
        r = c.exec(["cat"], input="fed through stdin\n", text=True, env=["B=2"])
        assert r.stdout == "fed through stdin\n"
        # the exec'd process is in the container: same pid namespace as the init
        init = c.pid
        r = c.exec(["readlink", "/proc/self/ns/pid"], text=True)
        assert r.stdout.strip() == os.readlink("/proc/%d/ns/pid" % init)


def test_exec_errors_are_typed(rt, make_bundle):
    b = make_bundle("sleep", "300")
    with rt.run_context(new_id(), b.path, start=False) as c:
        with pytest.raises(errors.PyruncError) as ei:
            c.exec(["true"])
        assert "cannot exec in a created container" in str(ei.value)
        assert ei.value.exit_code == 255 and ei.value.container_id == c.id
        c.start()
        with pytest.raises(errors.PyruncError) as ei:
            c.exec(["/no/such/binary"])
        assert "no such file" in str(ei.value)
        with pytest.raises(api_errors.ProcessFailed):
            c.exec(["false"], check=True)
        t0 = time.monotonic()
        with pytest.raises(api_errors.Timeout) as ei:
            c.exec(["sh", "-c", "echo partial; sleep 60"], timeout=1)
        assert ei.value.completed.stdout == b"partial\n"
        assert time.monotonic() - t0 < 20
        # the timed-out process was killed: only the init is left
        assert wait_for(lambda: c.processes() == [c.pid]), c.processes()
    with pytest.raises(errors.ContainerNotExist):
        Container(rt, "never-created").exec(["true"])


# -- context managers ---------------------------------------------------------------------------

def test_context_manager_cleans_up_when_the_body_raises(rt, make_bundle):
    b = make_bundle("true")
    seen = {}
    with pytest.raises(RuntimeError, match="boom"):
        with rt.run_context(config=cfg("sleep", "300"), rootfs=b.rootfs) as c:
            seen["id"], seen["pid"] = c.id, c.pid
            seen["bundle"] = c.bundle
            assert c.status == "running"
            raise RuntimeError("boom")
    assert not rt.exists(seen["id"])
    assert wait_for(lambda: gone(seen["pid"]))
    assert not os.path.exists(seen["bundle"])
    assert not os.path.exists(os.path.join(rt.root, seen["id"]))


def test_container_object_as_context_manager(rt, make_bundle):
    b = make_bundle("sleep", "300")
    cid = new_id()
    rt.create(cid, b.path).start()
    # attach by id (as another process would) and let the with block remove it
    with Container(rt.root, cid) as c:
        assert c.status == "running"
        pid = c.pid
        done = c.exec(["echo", "attached"])
        assert done.stdout == b"attached\n"
    assert not rt.exists(cid) and wait_for(lambda: gone(pid))


def test_runtime_close_deletes_what_it_created(tmp_path, make_bundle):
    b = make_bundle("sleep", "300")
    with Runtime(root=str(tmp_path / "root2")) as r:
        c1 = r.create(new_id(), b.path)
        c2 = r.run_context(new_id(), b.path)
        pids = [c1.pid, c2.pid]
        assert sorted(r.ids()) == sorted([c1.id, c2.id])
    assert r.ids() == []
    assert all(wait_for(lambda p=p: gone(p)) for p in pids)


# -- errors -------------------------------------------------------------------------------------

def test_invalid_config_raises_typed_error_with_field(rt, make_bundle):
    b = make_bundle("true")
    b.config["process"]["rlimits"][0]["type"] = "RLIMIT_FOO"
    b.write()
    with pytest.raises(api_errors.InvalidConfig) as ei:
        rt.create(new_id(), b.path)
    e = ei.value
    assert isinstance(e, errors.ConfigError)
    assert e.field == "process.rlimits[0].type"
    assert "'RLIMIT_FOO' is not one of" in e.reason
    # the same line the command line prints
    assert str(e).startswith("config.json: process.rlimits[0].type: 'RLIMIT_FOO'")
    # from a Config object, with the builder: same error, nothing created
    bad = cfg("true").builder().set_cwd("not/absolute").build(validate=False)
    with pytest.raises(api_errors.InvalidConfig) as ei:
        rt.run(config=bad, rootfs=b.rootfs)
    assert ei.value.field == "process.cwd"
    with pytest.raises(api_errors.InvalidConfig) as ei:
        rt.run(config=cfg("true"), rootfs=str(b.rootfs) + "-missing")
    assert ei.value.field == "root.path"
    assert rt.ids() == []
    assert not os.path.isdir(rt.root) or os.listdir(rt.root) == []  # no state dir either


def test_runtime_errors_are_the_runtime_classes(rt, make_bundle):
    b = make_bundle("sleep", "300")
    cid = new_id()
    with rt.run_context(cid, b.path):
        with pytest.raises(errors.ContainerExists) as ei:
            rt.create(cid, b.path)  # raised in the worker, rebuilt here
        assert ei.value.container_id == cid
        assert str(ei.value) == "container with id exists: %s" % cid
    with pytest.raises(errors.ContainerNotExist):
        rt.state(cid)
    with pytest.raises(errors.ContainerNotExist):
        Container(rt, cid).kill()
    with pytest.raises(errors.PyruncError, match="invalid container id"):
        rt.create("bad/id", b.path)
    # a failure inside the container's init, raised in the worker: same class, same text
    c = cfg("true").builder().add_bind("/does/not/exist", "/x").build()
    with pytest.raises(errors.ContainerInitError, match="/does/not/exist"):
        rt.run(config=c, rootfs=b.rootfs)
    assert rt.ids() == []
    # terminal without a console socket: create's own error, from the worker
    c = cfg("true").builder().set_terminal(True).build()
    with pytest.raises(errors.PyruncError, match="process.terminal"):
        rt.run(config=c, rootfs=b.rootfs)


# -- state transitions -------------------------------------------------------------------------

def test_state_transitions(rt, make_bundle):
    b = make_bundle("sleep", "300")
    c = rt.create(new_id(), b.path)
    try:
        assert c.status == "created"
        pid = c.pid
        assert pid > 0 and not gone(pid)
        c.start()
        assert c.status == "running" and c.pid == pid
        with pytest.raises(errors.PyruncError, match="already running"):
            c.start()
        with pytest.raises(errors.PyruncError, match="not stopped"):
            c.delete()
        c.pause()
        assert c.status == "paused"
        c.resume()
        assert c.status == "running"
        procs = c.processes()
        assert procs == [pid], (procs, pid, c.state())
        assert isinstance(c.stats(), dict)
        c.update(pids={"limit": 50})
        c.kill("KILL")
        done = c.wait(timeout=30)
        assert done.exit_code == 128 + 9
        assert c.status == "stopped" and c.pid == 0
        with pytest.raises(errors.ContainerNotRunning):
            c.kill()
        with pytest.raises(errors.ContainerStopped):
            c.start()
        c.delete()
        with pytest.raises(errors.ContainerNotExist):
            c.state()
        assert rt.list() == []
    finally:
        c.close()


def test_stop_escalates_to_sigkill(rt, make_bundle):
    b = make_bundle("sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done")
    with rt.run_context(new_id(), b.path) as c:
        assert wait_for(lambda: c.output().stdout == b"ready\n")
        t0 = time.monotonic()
        done = c.stop(timeout=1)
        assert done.exit_code == 128 + 9 and time.monotonic() - t0 < 20


def test_wait_timeout_keeps_the_container(rt, make_bundle):
    b = make_bundle("sleep", "300")
    with rt.run_context(new_id(), b.path) as c:
        with pytest.raises(api_errors.Timeout):
            c.wait(timeout=0.2)
        assert c.status == "running"


# -- threads (why create/exec run in a worker process) -----------------------------------------

def test_usable_from_threads_while_another_thread_holds_the_import_lock(rt, make_bundle):
    """Why create and exec run in a worker process: os.fork() in a threaded process takes
    (and the child inherits) locks other threads hold, the import lock among them. Here a
    thread holds that lock for the whole test; containers are still created, exec'd into
    and deleted from several threads (the worker is spawned with vfork+exec, no fork)."""
    import _imp
    b = make_bundle("true")
    with rt.run_context(config=cfg("sleep", "300"), rootfs=b.rootfs) as warm:
        warm.exec(["true"])  # every module the API needs is imported now
    release, holding = threading.Event(), threading.Event()

    def hold():
        _imp.acquire_lock()
        try:
            holding.set()
            release.wait(120)
        finally:
            _imp.release_lock()
    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert holding.wait(10)
    results, failures = [], []

    def work(i):
        try:
            r = rt.run(config=cfg("sh", "-c", "echo thread %d" % i), rootfs=b.rootfs,
                       timeout=60, text=True)
            with rt.run_context(config=cfg("sleep", "300"), rootfs=b.rootfs) as c:
                e = c.exec(["echo", "exec %d" % i], text=True)
            results.append(r.stdout + e.stdout)
        except Exception as e:  # reported below
            failures.append(e)
    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(3)]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join(90)
        stuck = [w for w in workers if w.is_alive()]
        assert not stuck, "API calls blocked on a lock held by another thread"
    finally:
        release.set()
        holder.join(10)
    assert failures == []
    assert sorted(results) == ["thread %d\nexec %d\n" % (i, i) for i in range(3)]


# -- the docs/api.md example: a test's code in a throw-away container --------------------------

def _host_python_rootfs(path):
    """An empty rootfs whose /usr is the host's (bind-mounted read-only), with Debian's
    /bin, /lib, /lib64 symlinks: enough to run the host's python3."""
    os.makedirs(path)
    for d in ("usr", "proc", "dev", "sys", "tmp", "etc"):
        os.mkdir(os.path.join(path, d))
    for name in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink("/" + name):
            os.symlink(os.readlink("/" + name), os.path.join(path, name))
    return path


def test_docs_example_python_in_a_throwaway_container(rt, tmp_path):
    if not os.path.exists("/usr/bin/python3") or not os.path.islink("/lib"):
        pytest.skip("needs a merged-/usr host with /usr/bin/python3")
    rootfs = _host_python_rootfs(str(tmp_path / "pyroot"))
    code = "import os, socket; print(os.getpid(), socket.gethostname(), os.listdir('/work'))"
    work = tmp_path / "work"
    work.mkdir()
    (work / "input.txt").write_text("x")
    config = (Builder().set_terminal(False).set_args("/usr/bin/python3", "-c", code)
              .add_bind("/usr", "/usr", readonly=True).add_bind(str(work), "/work")
              .remove_namespace("network").add_namespace("network")
              .set_hostname("sandbox").set_memory(limit=256 << 20).set_pids(64).build())
    r = rt.run(config=config, rootfs=rootfs, timeout=60, text=True)
    assert r.exit_code == 0, r
    assert r.stdout == "1 sandbox ['input.txt']\n"
