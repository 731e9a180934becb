"""Rootful podman 4.3 + conmon on the runtime under test (registered as ``runc``, so podman
passes it ``--log-format=json --log ...`` and reads its errors from that JSON log).

Podman always sends a seccomp profile (its default one), so every test here also goes through
the runtime's seccomp support.
"""

import json
import os

import pytest

from tests.e2e import clients
from tests.e2e.clients import IMAGE

SPIN = "while :; do sleep 0.1; done"


def p_ok(podman, *args, timeout=60):
    r = podman.podman(*args, timeout=timeout)
    assert r.code == 0, r
    return r.out.strip()


def inspect(podman, n, fmt):
    return p_ok(podman, "inspect", "--format", fmt, n)


def run_d(podman, n, *args):
    """``podman run -d --name n ARGS...`` -> the container's host pid."""
    p_ok(podman, "run", "-d", "--name", n, *args)
    return int(inspect(podman, n, "{{.State.Pid}}"))


def runtime_has(podman, cid):
    """Does the runtime still know the container? (podman passes no --root: default root)"""
    r = clients.run([podman.stack.runc, "state", cid], timeout=20)
    return r.code == 0


def test_run_rm_exit_code(podman, name):
    n = name()
    r = podman.podman("run", "--rm", "--name", n, IMAGE, "sh", "-c",
                      "echo out; echo err >&2; grep -q '^Seccomp:.*2' /proc/self/status "
                      "&& echo seccomp-on; exit 42")
    assert r.code == 42, r
    assert "out" in r.out and "err" in r.err, r
    assert "seccomp-on" in r.out, r          # podman's default profile is in force
    assert n not in podman.podman("ps", "-a", "--format", "{{.Names}}").out.split()


def test_run_detached(podman, name):
    n = name()
    pid = run_d(podman, n, IMAGE, "sleep", "600")
    assert inspect(podman, n, "{{.State.Status}}") == "running"
    assert clients.cmdline(pid) == ["sleep", "600"]
    cid = inspect(podman, n, "{{.Id}}")
    assert runtime_has(podman, cid)
    # conmon (a subreaper) is the parent: no runtime process in between
    with open("/proc/%d/stat" % pid) as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    assert os.path.basename(clients.cmdline(ppid)[0]) == "conmon"
    assert clients.cgroup_path(pid, "memory").endswith("/libpod_parent/libpod-" + cid)
    p_ok(podman, "rm", "-f", "-t", "0", n)
    assert not runtime_has(podman, cid)


def test_run_it_pty(podman, name):
    r = clients.run_in_pty(
        podman.argv("run", "-it", "--rm", "--name", name(), IMAGE, "sh"), env=podman.env,
        steps=[("# ", "tty; echo sum-$((40+2))\n"), ("sum-42", "exit 3\n")])
    assert r.code == 3, r
    assert "/dev/pts/0" in r.out and "sum-42" in r.out, r


def test_exec(podman, name):
    n = name()
    run_d(podman, n, IMAGE, "sleep", "600")
    r = podman.podman("exec", n, "sh", "-c", "echo in-$(cat /proc/1/comm); exit 5")
    assert r.code == 5, r
    assert "in-sleep" in r.out, r
    r = clients.run_in_pty(podman.argv("exec", "-it", n, "sh"), env=podman.env,
                           steps=[("# ", "tty\n"), ("/dev/pts/", "exit 4\n")])
    assert r.code == 4, r
    assert "/dev/pts/" in r.out, r
    r = podman.podman("exec", n, "/no/such/binary")
    assert r.code == 127, r
    assert "/no/such/binary" in r.err, r
    assert inspect(podman, n, "{{.State.Status}}") == "running"


def test_stop(podman, name):
    n = name()
    run_d(podman, n, IMAGE, "sh", "-c", 'trap "exit 7" TERM; ' + SPIN)
    p_ok(podman, "stop", "-t", "10", n)
    assert inspect(podman, n, "{{.State.ExitCode}}") == "7"


def test_stop_ignores_sigterm(podman, name):
    n = name()
    run_d(podman, n, IMAGE, "sh", "-c", 'trap "" TERM; ' + SPIN)
    r = podman.podman("stop", "-t", "1", n)
    assert r.code == 0, r
    assert inspect(podman, n, "{{.State.Status}}") == "exited"
    assert inspect(podman, n, "{{.State.ExitCode}}") == "137"


def test_kill_signal(podman, name):
    n = name()
    run_d(podman, n, IMAGE, "sh", "-c", 'trap "echo got-usr1" USR1; ' + SPIN)
    p_ok(podman, "kill", "-s", "USR1", n)
    clients.wait_for(lambda: "got-usr1" in podman.podman("logs", n).out, what="USR1 handled")
    p_ok(podman, "kill", "-s", "KILL", n)
    clients.wait_for(lambda: inspect(podman, n, "{{.State.Status}}") == "exited",
                     what="the container to exit")
    assert inspect(podman, n, "{{.State.ExitCode}}") == "137"


def test_pause_unpause(podman, name):
    n = name()
    pid = run_d(podman, n, IMAGE, "sleep", "600")
    p_ok(podman, "pause", n)
    assert inspect(podman, n, "{{.State.Status}}") == "paused"
    assert clients.cgroup_read(pid, "freezer", "freezer.state") == "FROZEN"
    p_ok(podman, "unpause", n)
    assert inspect(podman, n, "{{.State.Status}}") == "running"
    assert clients.cgroup_read(pid, "freezer", "freezer.state") == "THAWED"
    assert podman.podman("exec", n, "true").code == 0


def test_top_and_stats(podman, name):
    n = name()
    run_d(podman, n, IMAGE, "sh", "-c", "sleep 600 & " + SPIN)
    r = podman.podman("top", n, "pid", "comm")
    assert r.code == 0, r
    assert "sleep" in r.out and "sh" in r.out, r
    r = podman.podman("stats", "--no-stream", "--format", "json", n)
    assert r.code == 0, r
    st = json.loads(r.out)[0]
    assert int(st["pids"]) >= 2, st
    assert not st["mem_usage"].startswith("0B"), st


def test_update_memory_cpus(podman, name):
    n = name()
    pid = run_d(podman, n, IMAGE, "sleep", "600")
    r = podman.podman("update", "--memory", "300m", "--cpus", "0.5", n)
    assert r.code == 0, r
    assert clients.cgroup_read(pid, "memory", "memory.limit_in_bytes") == str(300 << 20)
    assert clients.cgroup_read(pid, "cpu", "cpu.cfs_quota_us") == "50000"
    assert clients.cgroup_read(pid, "cpu", "cpu.cfs_period_us") == "100000"


def test_restart(podman, name):
    n = name()
    pid = run_d(podman, n, IMAGE, "sleep", "600")
    p_ok(podman, "restart", "-t", "0", n)
    pid2 = int(inspect(podman, n, "{{.State.Pid}}"))
    assert pid2 != pid
    assert inspect(podman, n, "{{.State.Status}}") == "running"
    assert clients.cmdline(pid2) == ["sleep", "600"]


def test_rm_force_running(podman, name):
    n = name()
    pid = run_d(podman, n, IMAGE, "sleep", "600")
    cid = inspect(podman, n, "{{.Id}}")
    p_ok(podman, "rm", "-f", "-t", "0", n)
    clients.wait_for(lambda: clients.cmdline(pid) != ["sleep", "600"], what="the process to die")
    assert not runtime_has(podman, cid)
    assert not os.path.exists("/sys/fs/cgroup/memory/libpod_parent/libpod-" + cid)


def test_network_none(podman, name):
    r = podman.podman("run", "--rm", "--network", "none", IMAGE, "ip", "-o", "link")
    assert r.code == 0, r
    links = [ln.split(":")[1].strip() for ln in r.out.splitlines()]
    assert links == ["lo"], r


def test_default_bridge_network(podman, name):
    r = podman.podman("run", "--rm", IMAGE, "sh", "-c",
                      "ip -o -4 addr show eth0; cat /etc/hosts /etc/resolv.conf >/dev/null")
    assert r.code == 0, r
    assert " inet 10.88." in r.out, r       # netavark's default podman network


def test_pod_shares_namespaces(podman, name):
    pod = name("pod")
    p_ok(podman, "pod", "create", "--name", pod, timeout=120)
    c1, c2 = name(), name()
    for c in (c1, c2):
        run_d(podman, c, "--pod", pod, IMAGE, "sleep", "600")
    ns = {}
    for c in (c1, c2):
        ns[c] = p_ok(podman, "exec", c, "sh", "-c",
                     "for n in net ipc uts pid; do ls -l /proc/self/ns/$n | sed 's/.*-> //'; "
                     "done; hostname").split()
    net, ipc, uts, pid, host = zip(ns[c1], ns[c2])
    assert net[0] == net[1] and ipc[0] == ipc[1] and uts[0] == uts[1], ns
    assert host[0] == host[1] == pod, ns
    assert pid[0] != pid[1], ns         # podman pods do not share the pid namespace by default
    p_ok(podman, "pod", "rm", "-f", "-t", "0", pod)


def test_uidmap(podman, name):
    r = podman.podman("run", "--rm", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536",
                      IMAGE, "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; "
                      "touch /tmp/f && stat -c %u /tmp/f")
    assert r.code == 0, r
    lines = [ln.split() for ln in r.out.splitlines()]
    assert lines[0] == ["0", "100000", "65536"] and lines[1] == ["0", "100000", "65536"], r
    assert lines[2] == ["0"] and lines[3] == ["0"], r


def test_read_only(podman, name):
    r = podman.podman("run", "--rm", "--read-only", IMAGE, "sh", "-c",
                      "touch /x 2>&1; touch /tmp/y && echo tmp-writable")
    assert r.code == 0, r
    assert "Read-only file system" in r.out and "tmp-writable" in r.out, r


def test_cap_drop_add(podman, name):
    r = podman.podman("run", "--rm", "--cap-drop", "all", "--cap-add", "NET_ADMIN", IMAGE,
                      "grep", "^Cap", "/proc/self/status")
    assert r.code == 0, r
    caps = dict(ln.split(":\t") for ln in r.out.splitlines())
    assert caps["CapEff"] == caps["CapPrm"] == caps["CapBnd"] == "%016x" % (1 << 12), r
    r = podman.podman("run", "--rm", "--cap-drop", "CHOWN", IMAGE, "sh", "-c",
                      "touch /tmp/f; chown 1 /tmp/f")
    assert r.code != 0 and "Operation not permitted" in r.err, r


def test_seccomp_profile(podman, name, scratch):
    prof = scratch / "deny-mkdir.json"
    prof.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 1}]}))
    r = podman.podman("run", "--rm", "--security-opt", "seccomp=%s" % prof, IMAGE, "sh", "-c",
                      "mkdir /tmp/d; touch /tmp/f && echo touch-ok")
    assert "Operation not permitted" in r.err and "touch-ok" in r.out, r
    r = podman.podman("run", "--rm", "--security-opt", "seccomp=unconfined", IMAGE,
                      "grep", "^Seccomp:", "/proc/self/status")
    assert r.code == 0 and r.out.split() == ["Seccomp:", "0"], r


def _extra_device():
    for d in ("/dev/fuse", "/dev/net/tun", "/dev/loop-control"):
        if os.path.exists(d):
            return d
    pytest.skip("no /dev/fuse, /dev/net/tun or /dev/loop-control on this host")


def test_device(podman, name):
    dev = _extra_device()
    st = os.stat(dev)
    r = podman.podman("run", "--rm", "--device", dev, IMAGE, "sh", "-c",
                      "test -c %s && exec 3<%s && echo opened" % (dev, dev))
    assert r.code == 0 and "opened" in r.out, r
    # without --device, a node made with mknod is refused by the device cgroup
    r = podman.podman("run", "--rm", IMAGE, "sh", "-c",
                      "mknod /dev/x c %d %d && exec 3</dev/x && echo opened" % (
                          os.major(st.st_rdev), os.minor(st.st_rdev)))
    assert "opened" not in r.out and "Operation not permitted" in r.err, r


def test_volumes(podman, name, scratch):
    host = scratch / "vol"
    host.mkdir()
    (host / "in").write_text("from-host\n")
    vname = name("vol")
    r = podman.podman("run", "--rm", "-v", "%s:/data" % host, "-v", "%s:/ro:ro" % host,
                      "-v", "%s:/named" % vname, IMAGE, "sh", "-c",
                      "cat /data/in; echo from-container > /data/out; echo v > /named/f; "
                      "touch /ro/x 2>&1; true")
    assert r.code == 0, r
    assert "from-host" in r.out and "Read-only file system" in r.out, r
    assert (host / "out").read_text() == "from-container\n"
    r = podman.podman("run", "--rm", "-v", "%s:/named" % vname, IMAGE, "cat", "/named/f")
    assert r.out.strip() == "v", r


def test_init(podman, name):
    r = podman.podman("run", "--rm", "--init", IMAGE, "sh", "-c",
                      "cat /proc/1/comm; echo $$; exit 3")
    assert r.code == 3, r
    comm, mypid = r.out.split()
    assert comm in ("catatonit", "podman-init"), r
    assert mypid != "1", r


def test_memory_512k(podman, name):
    """A tiny memory limit: pyrunc moves the container into its cgroups after the (Python)
    setup, so its own memory is not charged. runc's Go init is charged for its memory and
    fails with "unable to set memory limit" (the control documents that difference)."""
    r = podman.podman("run", "--rm", "--memory", "512k", IMAGE,
                      "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    if podman.stack.name == "runc" and r.code == 126:
        assert "unable to set memory limit" in r.err, r
        return
    assert r.code == 0, r
    assert r.out.strip() == str(512 << 10), r


def test_missing_binary_127(podman, name):
    r = podman.podman("run", "--rm", IMAGE, "/no/such/binary")
    assert r.code == 127, r
    assert "/no/such/binary" in r.err and "no such file or directory" in r.err, r


def test_invalid_config_json_log(podman, name, scratch):
    """The runtime rejects the config; podman shows its one-line error, read from the JSON log
    (--log-format=json: the oci-log file holds exactly that one JSON object)."""
    prof = scratch / "bad-arch.json"
    prof.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                                "architectures": ["SCMP_ARCH_FOO"], "syscalls": []}))
    n = name()
    cid = p_ok(podman, "create", "--name", n, "--network", "none", "--security-opt",
               "seccomp=%s" % prof, IMAGE, "true")
    r = podman.podman("start", n)
    assert r.code != 0, r
    err = r.err.strip().splitlines()[-1]
    assert err.startswith("Error: ") and "SCMP_ARCH_FOO" in err, r
    runroot = os.path.join(podman.dir, "runroot")
    log = os.path.join(runroot, "overlay-containers", cid, "userdata", "oci-log")
    with open(log) as f:
        lines = f.read().splitlines()
    assert len(lines) == 1, lines
    entry = json.loads(lines[0])
    assert entry["level"] == "error" and entry["msg"] in err, (entry, r)
    if podman.stack.name == "pyrunc":
        assert "linux.seccomp.architectures[0]" in entry["msg"], entry


def test_info_shows_runtime(podman):
    """``podman info`` runs ``<runtime> --version`` and shows the whole text."""
    info = json.loads(p_ok(podman, "info", "--format", "{{json .Host.OCIRuntime}}"))
    assert info["name"] == "runc" and info["path"] == podman.stack.runc, info
    if podman.stack.name == "pyrunc":
        assert info["version"].startswith("pyrunc version"), info
    else:
        assert info["version"].startswith("runc version"), info


def test_pid_host_stop_kill_all(podman, name):
    """No pid namespace of its own: podman stops it with ``kill --all ID 15``."""
    n = name()
    pid = run_d(podman, n, "--pid", "host", IMAGE, "sh", "-c", "sleep 600 & " + SPIN)
    r = podman.podman("stop", "-t", "5", n)
    assert r.code == 0, r
    assert inspect(podman, n, "{{.State.Status}}") == "exited"
    clients.wait_for(lambda: clients.cmdline(pid) == [] or "sh" not in clients.cmdline(pid),
                     what="the container process to die")


def test_user_groups_ulimit_env_workdir(podman, name):
    r = podman.podman("run", "--rm", "--user", "1000:1000", "--group-add", "5",
                      "--ulimit", "nofile=1024:2048", "--ulimit", "nproc=512:1024", "--env", "FOO=bar baz", "--workdir",
                      "/tmp", "--hostname", "hn-e2e", IMAGE, "sh", "-c",
                      'id -u; id -g; id -G; ulimit -n; ulimit -Hn; ulimit -u; echo "$FOO"; pwd; '
                      'hostname')
    assert r.code == 0, r
    out = r.out.splitlines()
    assert out[0] == "1000" and out[1] == "1000", r
    assert "5" in out[2].split(), r
    assert out[3:] == ["1024", "2048", "512", "bar baz", "/tmp", "hn-e2e"], r


def test_tmpfs_copyup(podman, name):
    """``--tmpfs /etc`` is a tmpfs with podman's ``tmpcopyup`` option: the image's files are
    copied onto it."""
    r = podman.podman("run", "--rm", "--tmpfs", "/etc", IMAGE, "sh", "-c",
                      "grep -c root /etc/passwd; grep ' /etc ' /proc/mounts")
    assert r.code == 0, r
    assert r.out.splitlines()[0] == "1" and " tmpfs " in r.out, r


def test_preserve_fds(podman, name, scratch):
    """``--preserve-fds 1``: podman's fd 3 reaches the container as its fd 3 (and nothing
    else beyond stdio)."""
    f = scratch / "passed.txt"
    f.write_text("through-fd-3\n")
    r = clients.run(["sh", "-c", 'exec 3<"$0"; exec "$@"', str(f)] + podman.argv(
        "run", "--rm", "--preserve-fds", "1", IMAGE, "sh", "-c", "cat <&3; ls /proc/self/fd"),
        env=podman.env)
    assert r.code == 0, r
    lines = r.out.split()
    assert lines[0] == "through-fd-3", r
    # 0-2, 3, and the directory fd of ls itself
    assert sorted(map(int, lines[1:])) in ([0, 1, 2, 3], [0, 1, 2, 3, 4]), r
