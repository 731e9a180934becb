"""docker 20.10 (Debian's dockerd, on the private containerd) with the runtime under test as its
default runtime (``runtimes`` in daemon.json, the file form of ``dockerd --add-runtime``).

Docker's configs carry a prestart hook (``libnetwork-setkey``, reads the state JSON on stdin)
that connects the container to the bridge network, and docker's own seccomp profile.
"""

import ipaddress
import json
import os

from tests.e2e import clients
from tests.e2e.clients import IMAGE

SPIN = "while :; do sleep 0.1; done"


def d_ok(docker, *args, timeout=60):
    r = docker.docker(*args, timeout=timeout)
    assert r.code == 0, r
    return r.out.strip()


def inspect(docker, n, fmt):
    return d_ok(docker, "inspect", "--format", fmt, n)


def run_d(docker, n, *args):
    d_ok(docker, "run", "-d", "--name", n, *args)
    return int(inspect(docker, n, "{{.State.Pid}}"))


def test_run_bridge_and_hook(docker, name):
    """Default bridge network: only works when the prestart hook ran with the state JSON."""
    n = name()
    r = docker.docker("run", "--name", n, IMAGE, "sh", "-c",
                      "ip -o -4 addr show eth0; cat /etc/hostname; "
                      "grep -q '^Seccomp:.*2' /proc/self/status && echo seccomp-on; exit 3")
    assert r.code == 3, r
    subnet = d_ok(docker, "network", "inspect", "bridge", "--format",
                  "{{(index .IPAM.Config 0).Subnet}}")         # 172.17.0.0/16 by default
    addr = r.out.split(" inet ")[1].split()[0]
    assert ipaddress.ip_interface(addr).ip in ipaddress.ip_network(subnet), (addr, subnet)
    assert "seccomp-on" in r.out, r
    assert inspect(docker, n, "{{.HostConfig.Runtime}}") == docker.runtime_name
    d_ok(docker, "rm", n)


def test_run_rm_network_none(docker, name):
    r = docker.docker("run", "--rm", "--network", "none", IMAGE, "sh", "-c",
                      "ip -o link | cut -d: -f2; echo err >&2; exit 4")
    assert r.code == 4, r
    assert r.out.split() == ["lo"] and "err" in r.err, r


def test_run_it_pty(docker, name):
    r = clients.run_in_pty(
        docker.argv("run", "-it", "--rm", "--network", "none", IMAGE, "sh"), env=docker.env,
        steps=[("# ", "tty; echo sum-$((40+2))\n"), ("sum-42", "exit 3\n")])
    assert r.code == 3, r
    assert "/dev/pts/0" in r.out and "sum-42" in r.out, r


def test_exec(docker, name):
    n = name()
    run_d(docker, n, IMAGE, "sleep", "600")
    r = docker.docker("exec", n, "sh", "-c", "echo in-$(cat /proc/1/comm); exit 5")
    assert r.code == 5, r
    assert "in-sleep" in r.out, r
    r = clients.run_in_pty(docker.argv("exec", "-it", n, "sh"), env=docker.env,
                           steps=[("# ", "tty\n"), ("/dev/pts/", "exit 4\n")])
    assert r.code == 4, r
    r = docker.docker("exec", n, "/no/such/binary")
    assert r.code == 126, r               # docker exec: 126 for any exec failure
    assert "/no/such/binary" in r.text, r


def test_top(docker, name):
    n = name()
    run_d(docker, n, IMAGE, "sh", "-c", "sleep 600 & " + SPIN)
    r = docker.docker("top", n)
    assert r.code == 0, r
    assert "sleep 600" in r.out, r


def test_stats(docker, name):
    n = name()
    run_d(docker, n, IMAGE, "sh", "-c", "sleep 600 & " + SPIN)
    r = docker.docker("stats", "--no-stream", "--format", "{{json .}}", n)
    assert r.code == 0, r
    st = json.loads(r.out)
    assert int(st["PIDs"]) >= 2, st
    assert not st["MemUsage"].startswith("0B"), st


def test_update(docker, name):
    n = name()
    pid = run_d(docker, n, IMAGE, "sleep", "600")
    shares = clients.cgroup_read(pid, "cpu", "cpu.shares")
    r = docker.docker("update", "--memory", "256m", "--memory-swap", "512m", "--cpus", "0.5",
                      "--pids-limit", "100", n)
    assert r.code == 0, r
    assert clients.cgroup_read(pid, "memory", "memory.limit_in_bytes") == str(256 << 20)
    assert clients.cgroup_read(pid, "cpu", "cpu.cfs_quota_us") == "50000"
    assert clients.cgroup_read(pid, "pids", "pids.max") == "100"
    # docker sends shares 0 / blkio weight 0 meaning "leave unchanged"
    assert clients.cgroup_read(pid, "cpu", "cpu.shares") == shares


def test_pause_unpause(docker, name):
    n = name()
    pid = run_d(docker, n, IMAGE, "sleep", "600")
    d_ok(docker, "pause", n)
    assert inspect(docker, n, "{{.State.Status}}") == "paused"
    assert clients.cgroup_read(pid, "freezer", "freezer.state") == "FROZEN"
    d_ok(docker, "unpause", n)
    assert inspect(docker, n, "{{.State.Status}}") == "running"
    assert clients.cgroup_read(pid, "freezer", "freezer.state") == "THAWED"


def test_stop(docker, name):
    n = name()
    run_d(docker, n, IMAGE, "sh", "-c", 'trap "exit 7" TERM; ' + SPIN)
    d_ok(docker, "stop", "-t", "10", n)
    assert inspect(docker, n, "{{.State.ExitCode}}") == "7"
    m = name()
    run_d(docker, m, IMAGE, "sh", "-c", 'trap "" TERM; ' + SPIN)
    d_ok(docker, "stop", "-t", "1", m)
    assert inspect(docker, m, "{{.State.ExitCode}}") == "137"


def test_rm_force(docker, name):
    n = name()
    pid = run_d(docker, n, IMAGE, "sleep", "600")
    cid = inspect(docker, n, "{{.Id}}")
    d_ok(docker, "rm", "-f", n)
    clients.wait_for(lambda: clients.cmdline(pid) != ["sleep", "600"], what="the process to die")
    roots = [os.path.join(docker.exec_root, d, "moby") for d in os.listdir(docker.exec_root)
             if d.startswith("runtime-")]
    assert roots and not any(os.path.exists(os.path.join(r, cid)) for r in roots), roots


def test_info_shows_runtime_version(docker):
    info = json.loads(d_ok(docker, "info", "--format", "{{json .}}"))
    assert info["DefaultRuntime"] == docker.runtime_name, info["DefaultRuntime"]
    commit = clients.version_commit(docker.stack.runc)
    assert commit and info["RuncCommit"]["ID"] == commit, (info["RuncCommit"], commit)
    if docker.stack.name == "pyrunc":
        assert "pyrunc" in commit


def test_missing_binary_127(docker, name):
    r = docker.docker("run", "--rm", "--network", "none", IMAGE, "/no/such/binary")
    assert r.code == 127, r
    assert "/no/such/binary" in r.err and "no such file or directory" in r.err, r


def test_invalid_config_json_log(docker, name, scratch):
    """The runtime's one-line error reaches the docker client through the JSON log."""
    prof = scratch / "bad-arch.json"
    prof.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                                "architectures": ["SCMP_ARCH_FOO"], "syscalls": []}))
    r = docker.docker("run", "--rm", "--network", "none", "--security-opt",
                      "seccomp=%s" % prof, IMAGE, "true")
    assert r.code != 0, r
    assert "OCI runtime create failed" in r.err and "SCMP_ARCH_FOO" in r.err, r
    assert "unable to retrieve OCI runtime error" not in r.err, r
    if docker.stack.name == "pyrunc":
        assert "linux.seccomp.architectures[0]" in r.err, r


def test_kill_signal_and_restart(docker, name):
    n = name()
    pid = run_d(docker, n, "--network", "none", IMAGE, "sh", "-c",
                'trap "echo got-usr1" USR1; ' + SPIN)
    d_ok(docker, "kill", "-s", "USR1", n)
    clients.wait_for(lambda: "got-usr1" in docker.docker("logs", n).out, what="USR1 handled")
    d_ok(docker, "restart", "-t", "0", n)
    pid2 = int(inspect(docker, n, "{{.State.Pid}}"))
    assert pid2 != pid and inspect(docker, n, "{{.State.Status}}") == "running"


def test_init_user_readonly_tmpfs(docker, name):
    """--init (docker-init), --user, --read-only, --tmpfs. A tmpfs over a directory of the
    image gets that directory's mode (runc chmods it: /run stays 755, so user 1000 cannot
    write there); a tmpfs on a new directory keeps tmpfs's 1777."""
    r = docker.docker("run", "--rm", "--network", "none", "--init", "--user", "1000:1000",
                      "--read-only", "--tmpfs", "/run", "--tmpfs", "/scratch", IMAGE, "sh", "-c",
                      "cat /proc/1/comm; id -u; stat -c %a /run /scratch; touch /x 2>&1; "
                      "touch /run/y 2>&1; touch /scratch/y && echo scratch-ok")
    assert r.code == 0, r
    out = r.out.splitlines()
    assert out[0] in ("docker-init", "tini-static", "tini"), r
    assert out[1:4] == ["1000", "755", "1777"], r
    assert "touch: /x: Read-only file system" in out, r
    assert "touch: /run/y: Permission denied" in out and "scratch-ok" in out, r
