"""containerd 1.6 + containerd-shim-runc-v2, driven with ctr, on the runtime under test.

The runtime is chosen with ``ctr run --runc-binary <bin>/runc`` (``<bin>/runc`` is the symlink to
the runtime), and is also first in containerd's PATH (``test_runtime_from_path``).
"""

import json
import os
import re
import time

import pytest

from tests.e2e import clients
from tests.e2e.clients import IMAGE

TICKER = "i=0; while :; do i=$((i+1)); echo $i > /tmp/tick; sleep 0.05; done"
SPIN_TERM_7 = 'trap "exit 7" TERM; while :; do sleep 0.1; done'


def run_d(ctr, n, *cmd, extra=()):
    r = ctr.ctr("run", "-d", "--runc-binary", ctr.stack.runc, *extra, IMAGE, n, *cmd)
    assert r.code == 0, r
    return ctr.tasks()[n][0]


def runtime_state(ctr, n):
    """The runtime's own ``state`` of the task (proves this runtime created it)."""
    r = clients.run([ctr.stack.runc, "--root", ctr.runc_root, "state", n], timeout=20)
    assert r.code == 0, r
    return json.loads(r.out)


def delete_status(ctr, n):
    """``ctr task delete`` of a stopped task: the exit status it reports (a warning line
    "exit with non-zero exit code N"; nothing for 0)."""
    r = ctr.ctr("task", "delete", n)
    assert r.code == 0, r
    m = re.search(r"exit with non-zero exit code (\d+)", r.text)
    return int(m.group(1)) if m else 0


def wait_status(ctr, n, status, timeout=15):
    clients.wait_for(lambda: ctr.tasks().get(n, (0, "gone"))[1] == status, timeout=timeout,
                     what="task %s to be %s (now %s)" % (n, status, ctr.tasks().get(n)))


def test_run_rm_exit_status(ctr, name):
    n = name()
    r = ctr.ctr("run", "--rm", "--runc-binary", ctr.stack.runc, IMAGE, n,
                "sh", "-c", "echo to-out; echo to-err >&2; exit 3")
    assert r.code == 3, r
    assert "to-out" in r.out and "to-err" in r.err, r
    assert n not in ctr.ctr("container", "ls", "-q").out.split()
    assert not os.path.exists(os.path.join(ctr.runc_root, n))


def test_run_stdin_pipe(ctr, name):
    r = ctr.ctr("run", "--rm", "--runc-binary", ctr.stack.runc, IMAGE, name(),
                "sh", "-c", "read x; echo got-$x", input="hello\n")
    assert r.code == 0, r
    assert "got-hello" in r.out, r


def test_runtime_from_path(ctr, name):
    """No --runc-binary: the shim runs "runc" from containerd's PATH, i.e. our symlink. Also
    ``container create`` + ``task start``, which have no --runc-binary at all."""
    r = ctr.ctr("run", "--rm", IMAGE, name(), "sh", "-c", "exit 4")
    assert r.code == 4, r
    n = name()
    assert ctr.ctr("container", "create", IMAGE, n, "sleep", "600").code == 0
    r = ctr.ctr("task", "start", "-d", n)
    assert r.code == 0, r
    st = runtime_state(ctr, n)
    assert st["status"] == "running" and st["pid"] == ctr.tasks()[n][0]
    assert clients.cmdline(st["pid"]) == ["sleep", "600"]


def test_run_detached(ctr, name):
    n = name()
    pid = run_d(ctr, n, "sleep", "600")
    assert ctr.tasks()[n][1] == "RUNNING"
    st = runtime_state(ctr, n)
    assert st["pid"] == pid and st["status"] == "running"
    assert clients.cmdline(pid) == ["sleep", "600"]
    # the shim (a subreaper) is the container process's parent: no monitor in between
    with open("/proc/%d/stat" % pid) as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    assert "containerd-shim-runc-v2" in os.path.basename(clients.cmdline(ppid)[0])
    # its cgroup is /<namespace>/<id> in the memory hierarchy
    assert clients.cgroup_path(pid, "memory").endswith("/%s/%s" % (ctr.ns, n))
    assert ctr.ctr("task", "kill", "-s", "SIGKILL", n).code == 0
    wait_status(ctr, n, "STOPPED")
    assert delete_status(ctr, n) == 137       # SIGKILL
    assert n not in ctr.tasks()
    assert not os.path.exists(os.path.join(ctr.runc_root, n))


def test_run_tty(ctr, name):
    """``ctr run -t`` on a real pty: the console socket path (pty master sent over SCM_RIGHTS)."""
    r = clients.run_in_pty(ctr.argv("run", "-t", "--rm", "--runc-binary", ctr.stack.runc,
                                    IMAGE, name(), "sh", "-c", "tty; exit 5"), env=ctr.stack.env)
    assert r.code == 5, r
    assert "/dev/pts/0" in r.out, r


def test_run_tty_interactive(ctr, name):
    r = clients.run_in_pty(
        ctr.argv("run", "-t", "--rm", "--runc-binary", ctr.stack.runc, IMAGE, name(), "sh"),
        env=ctr.stack.env,
        steps=[("# ", "echo hello-$((6*7)); [ -t 0 ] && echo stdin-is-tty\n"),
               ("stdin-is-tty", "exit 6\n")])
    assert r.code == 6, r
    assert "hello-42" in r.out, r


def test_task_exec(ctr, name):
    n = name()
    pid = run_d(ctr, n, "sleep", "600")
    r = ctr.ctr("task", "exec", "--exec-id", "e1", n, "sh", "-c",
                "echo in-$(cat /proc/1/comm); exit 4")
    assert r.code == 4, r
    assert "in-sleep" in r.out, r
    # a tty exec through the console socket
    r = clients.run_in_pty(ctr.argv("task", "exec", "-t", "--exec-id", "e2", n,
                                    "sh", "-c", "tty; exit 6"), env=ctr.stack.env)
    assert r.code == 6, r
    assert "/dev/pts/" in r.out, r
    # the exec process file was deleted by the shim; the container is unaffected
    assert ctr.tasks()[n] == (pid, "RUNNING")


def test_task_exec_missing_binary(ctr, name):
    n = name()
    run_d(ctr, n, "sleep", "600")
    r = ctr.ctr("task", "exec", "--exec-id", "e1", n, "/no/such/binary")
    assert r.code != 0, r
    assert "/no/such/binary" in r.text, r
    assert "unable to retrieve OCI runtime error" not in r.text, r
    assert ctr.tasks()[n][1] == "RUNNING"


def test_task_kill(ctr, name):
    n = name()
    run_d(ctr, n, "sh", "-c", SPIN_TERM_7)
    time.sleep(0.3)
    r = ctr.ctr("task", "kill", n)            # SIGTERM by default
    assert r.code == 0, r
    wait_status(ctr, n, "STOPPED")
    assert delete_status(ctr, n) == 7


def task_pids(ctr, n):
    r = ctr.ctr("task", "ps", n)
    assert r.code == 0, r
    return [int(line.split()[0]) for line in r.out.splitlines()[1:] if line.strip()]


def test_task_kill_all(ctr, name):
    n = name()
    run_d(ctr, n, "sleep", "600")
    r = ctr.ctr("task", "exec", "-d", "--exec-id", "bg", n, "sleep", "700")
    assert r.code == 0, r
    pids = clients.wait_for(lambda: len(task_pids(ctr, n)) == 2 and task_pids(ctr, n),
                            what="the exec'd process in task ps")
    cmds = {p: clients.cmdline(p) for p in pids}
    assert sorted(cmds.values()) == [["sleep", "600"], ["sleep", "700"]], cmds
    assert ctr.ctr("task", "kill", "-a", "-s", "SIGKILL", n).code == 0
    wait_status(ctr, n, "STOPPED")
    for p in pids:
        clients.wait_for(lambda: clients.cmdline(p) != cmds[p], what="pid %d to die" % p)


def test_task_pause_resume(ctr, name):
    n = name()
    pid = run_d(ctr, n, "sh", "-c", TICKER)
    r = ctr.ctr("task", "pause", n)
    assert r.code == 0, r
    assert ctr.tasks()[n][1] == "PAUSED"
    assert clients.cgroup_read(pid, "freezer", "freezer.state") == "FROZEN"
    t1 = ctr.ctr("task", "exec", "--exec-id", "x", n, "cat", "/tmp/tick")
    assert t1.code != 0          # no exec into a paused container
    r = ctr.ctr("task", "resume", n)
    assert r.code == 0, r
    assert ctr.tasks()[n][1] == "RUNNING"
    assert clients.cgroup_read(pid, "freezer", "freezer.state") == "THAWED"
    a = ctr.ctr("task", "exec", "--exec-id", "y", n, "cat", "/tmp/tick").out
    time.sleep(0.3)
    b = ctr.ctr("task", "exec", "--exec-id", "z", n, "cat", "/tmp/tick").out
    assert a != b, "the loop does not run after resume"


def test_task_ps(ctr, name):
    n = name()
    pid = run_d(ctr, n, "sleep", "600")
    assert ctr.ctr("task", "exec", "-d", "--exec-id", "bg", n, "sleep", "601").code == 0
    pids = clients.wait_for(lambda: len(task_pids(ctr, n)) == 2 and task_pids(ctr, n),
                            what="the exec in task ps")
    assert pid in pids
    assert sorted(clients.cmdline(p)[-1] for p in pids) == ["600", "601"], pids


def test_task_metrics(ctr, name):
    n = name()
    run_d(ctr, n, "sh", "-c", "x=$(head -c 1000000 /dev/zero | tr '\\0' a); sleep 600")
    time.sleep(0.5)
    r = ctr.ctr("task", "metrics", "--format", "json", n)
    assert r.code == 0, r
    m = json.loads(r.out)
    data = m.get("data") or m.get("Data") or m
    text = json.dumps(data)
    # v1 metrics: pids.current and memory usage from the task's cgroup
    assert '"pids"' in text and '"memory"' in text, r.out[:2000]
    assert data["pids"]["current"] >= 1, data["pids"]
    assert data["memory"]["usage"]["usage"] > 0, data["memory"]


def test_task_delete_returns_status(ctr, name):
    n = name()
    run_d(ctr, n, "sh", "-c", "exit 9")
    wait_status(ctr, n, "STOPPED")
    assert delete_status(ctr, n) == 9
    assert n not in ctr.tasks()
    assert ctr.ctr("container", "rm", n).code == 0
    assert not os.path.exists(os.path.join(ctr.runc_root, n))
    assert not os.path.exists(os.path.join("/sys/fs/cgroup/memory", ctr.ns, n))


def test_task_delete_force_running(ctr, name):
    n = name()
    pid = run_d(ctr, n, "sleep", "600")
    r = ctr.ctr("task", "delete", "-f", n)
    assert r.code == 0, r
    clients.wait_for(lambda: clients.cmdline(pid) != ["sleep", "600"], what="the task to die")
    assert n not in ctr.tasks()
    assert not os.path.exists(os.path.join(ctr.runc_root, n))


def test_missing_binary(ctr, name):
    r = ctr.ctr("run", "--rm", "--runc-binary", ctr.stack.runc, IMAGE, name(), "/no/such/binary")
    assert r.code != 0, r
    assert "/no/such/binary" in r.text, r
    assert "no such file or directory" in r.text.lower(), r
    assert "unable to retrieve OCI runtime error" not in r.text, r


def test_invalid_config_error_from_json_log(ctr, name, scratch, e2e_rootfs):
    """containerd reads the runtime's error from the JSON log (last level=error line): the
    client must show the runtime's own one-line message."""
    spec = json.loads(clients.run(ctr.argv("oci", "spec"), check=True).out)
    spec["root"] = {"path": e2e_rootfs, "readonly": True}
    spec["process"]["args"] = ["true"]
    spec["process"]["rlimits"] = [{"type": "RLIMIT_FOO", "hard": 1, "soft": 1}]
    cfg = scratch / "config.json"
    cfg.write_text(json.dumps(spec))
    r = ctr.ctr("run", "--rm", "--runc-binary", ctr.stack.runc, "--config", str(cfg), name())
    assert r.code != 0, r
    assert "OCI runtime create failed" in r.text, r
    assert "unable to retrieve OCI runtime error" not in r.text, r
    assert "RLIMIT_FOO" in r.text, r
    if ctr.stack.name == "pyrunc":
        # pyrunc's message names the field
        assert "process.rlimits[0].type" in r.text, r


@pytest.mark.parametrize("flag", ["--read-only", "--privileged"])
def test_run_flags(ctr, name, flag):
    r = ctr.ctr("run", "--rm", "--runc-binary", ctr.stack.runc, flag, IMAGE, name(), "sh", "-c",
                "touch /x 2>/dev/null && echo rw || echo ro; grep CapEff /proc/self/status")
    assert r.code == 0, r
    if flag == "--read-only":
        assert "ro" in r.out.split(), r
    else:
        assert "rw" in r.out.split(), r
        with open("/proc/self/status") as f:
            bnd = [ln.split()[1] for ln in f if ln.startswith("CapBnd:")][0]
        assert "CapEff:\t%s" % bnd in r.out, r
