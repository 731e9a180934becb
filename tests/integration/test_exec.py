"""exec into a running container: namespaces, cgroup, attributes, detach, errors."""

import json
import os
import time

import pytest

from tests.helpers import new_id


@pytest.fixture
def running(pyrunc, make_bundle):
    b = make_bundle("sleep", "300")
    cid = new_id()
    pyrunc.cmd("run", "--detach", "--bundle", b.path, cid, check=True)
    return cid


def _ns(pid, name):
    return os.readlink("/proc/%d/ns/%s" % (pid, name))


def test_exec_joins_namespaces_and_cgroup(pyrunc, running):
    init = pyrunc.state(running)["pid"]
    r = pyrunc.cmd("exec", running, "sh", "-c",
                   "for n in mnt pid net ipc uts; do readlink /proc/self/ns/$n; done; "
                   "cat /proc/self/cgroup; echo PID=$$")
    assert r.code == 0, r
    lines = r.out.split("\n")
    assert lines[:5] == [_ns(init, n) for n in ("mnt", "pid", "net", "ipc", "uts")]
    host_cg = open("/proc/%d/cgroup" % init).read()
    for line in host_cg.splitlines():
        assert line in r.out  # same cgroup in every hierarchy as the container's init
    pid_in_ns = int([x for x in lines if x.startswith("PID=")][0][4:])
    assert pid_in_ns > 1  # inside the container's pid namespace, not pid 1


def test_exec_exit_status_and_output(pyrunc, running):
    r = pyrunc.cmd("exec", running, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert r.code == 3 and r.out == "out\n" and "err" in r.err


def test_exec_overrides(pyrunc, running):
    r = pyrunc.cmd("exec", "--user", "1000:1001", "--additional-gids", "7", "--cwd", "/tmp",
                   "-e", "FOO=bar", "--no-new-privs", running,
                   "sh", "-c", "id -u; id -g; id -G; pwd; echo $FOO; "
                   "grep NoNewPrivs /proc/self/status")
    assert r.code == 0, r
    out = r.out.split("\n")
    assert out[0] == "1000" and out[1] == "1001"
    assert "7" in out[2].split()
    assert out[3] == "/tmp" and out[4] == "bar"
    assert out[5].split() == ["NoNewPrivs:", "1"]


def test_exec_process_file(pyrunc, running, tmp_path):
    proc = {"args": ["sh", "-c", "id -u; umask; echo $X; grep CapEff /proc/self/status"],
            "env": ["PATH=/bin", "X=from-file"], "cwd": "/", "user": {"uid": 5, "gid": 5,
                                                                       "umask": 63},
            # a non-root user keeps capabilities across execve only as ambient ones
            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                             "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"],
                             "ambient": ["CAP_KILL"]}}
    f = tmp_path / "process.json"
    f.write_text(json.dumps(proc))
    r = pyrunc.cmd("exec", "--process", f, running)
    assert r.code == 0, r
    uid, umask, x, capeff = r.out.strip().split("\n")
    assert uid == "5" and umask == "0077" and x == "from-file"
    assert int(capeff.split()[1], 16) == 1 << 5  # CAP_KILL only


def test_exec_invalid_process_file_names_field(pyrunc, running, tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"args": ["true"], "cwd": "relative"}))
    r = pyrunc.cmd("exec", "--process", f, running)
    assert r.code != 0 and "cwd" in r.err and len(r.err.strip().splitlines()) == 1


def test_exec_detach_pid_file(pyrunc, running, tmp_path):
    pf = tmp_path / "exec.pid"
    r = pyrunc.cmd("exec", "--detach", "--pid-file", pf, running, "sleep", "30")
    assert r.code == 0, r
    pid = int(pf.read_text())
    assert "\n" not in pf.read_text()
    assert os.readlink("/proc/%d/exe" % pid).endswith("busybox")
    init = pyrunc.state(running)["pid"]
    assert _ns(pid, "pid") == _ns(init, "pid")
    r = pyrunc.cmd("ps", "--format", "json", running)
    if r.code == 0:
        assert pid in json.loads(r.out)


def test_exec_missing_binary(pyrunc, running):
    r = pyrunc.cmd("exec", running, "no-such-binary")
    assert r.code == 255
    assert "executable file not found in $PATH" in r.err


def test_exec_into_stopped_or_created_fails(pyrunc, make_bundle):
    b = make_bundle("sleep", "300")
    cid = new_id()
    pyrunc.cmd("create", "--bundle", b.path, cid, check=True)
    r = pyrunc.cmd("exec", cid, "true")
    assert r.code != 0 and "created" in r.err
    pyrunc.cmd("kill", cid, "KILL", check=True)
    for _ in range(100):
        if pyrunc.state(cid)["status"] == "stopped":
            break
        time.sleep(0.02)
    r = pyrunc.cmd("exec", cid, "true")
    assert r.code != 0 and "stopped" in r.err


def test_exec_process_is_not_dumpable_before_exec(pyrunc, running):
    """CVE-2019-5736: while pyrunc's Python is inside the container (before execve), the
    container must not be able to open /proc/<it>/exe. We check the resulting state: the
    joining process is non-dumpable (its /proc entries are owned by root and it can't be
    ptraced), which the exec'd program then resets; the exploit test lives in the security
    suite. Here: an exec'd `cat` reads the host-side runtime's exe link as unreachable."""
    r = pyrunc.cmd("exec", running, "sh", "-c", "ls -l /proc/1/exe; readlink /proc/1/exe")
    assert r.code == 0
    assert "busybox" in r.out  # pid 1 is the container's program, no Python left


def test_exec_preserve_fds_and_no_leak(pyrunc, running, tmp_path):
    f = open(tmp_path / "x", "w")
    try:
        os.dup2(f.fileno(), 3) if f.fileno() != 3 else None
        r = pyrunc.cmd("exec", running, "ls", "/proc/self/fd", pass_fds=(3,))
        assert r.out.split() == ["0", "1", "2", "3"]  # 3 is ls's own directory fd
        r = pyrunc.cmd("exec", "--preserve-fds", "1", running, "sh", "-c",
                       "readlink /proc/self/fd/3", pass_fds=(3,))
        assert r.out.strip() == str(tmp_path / "x")
    finally:
        f.close()


def test_exec_racing_pause_never_hangs(pyrunc, running):
    """A pause between exec's status check and its process's execve froze that process as
    it joined the container's cgroup, and exec waited for it forever (found by
    tests/reliability/test_concurrency.py). exec now holds the container's lock (shared)
    until its process has exec'd, so the pause waits for it. The window is widened here by
    a kill-point delay (exec sleeps 1 s after its fork, before the cgroup join)."""
    import subprocess
    env = dict(os.environ, PYRUNC_TEST_KILLPOINT="exec:forked~1.0")
    argv = pyrunc.argv + ["--root", pyrunc.root, "exec", "-d", running, "true"]
    ex = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        paused = pyrunc.cmd("pause", running, timeout=20)
        assert ex.wait(timeout=15) == 0  # TimeoutExpired: exec hung on its frozen process
        assert paused.code == 0, paused
    finally:
        if ex.poll() is None:
            ex.kill()
            ex.wait()
        pyrunc.cmd("resume", running)
    assert pyrunc.state(running)["status"] == "running"
