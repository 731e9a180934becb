"""process.*: what the container's process sees of its args, env, cwd, user, umask,
capabilities, no_new_privs, rlimits, oom_score_adj, exit status, stdin and fds."""

import os
import time

from pyrunc.linux.capnames import CAP_NUMBERS
from tests import helpers
from tests.helpers import new_id


def _status(text):
    """/proc/PID/status text -> {field: value}."""
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def _mask(names):
    m = 0
    for n in names:
        m |= 1 << CAP_NUMBERS[n]
    return "%016x" % m


def _run_ok(pyrunc, b, **kw):
    r = pyrunc.run(b, **kw)
    assert r.code == 0, r
    return r.out


# -- args, env, cwd ---------------------------------------------------------------------


def test_args_passed_exactly(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", 'for a in "$@"; do echo "[$a]"; done', "argv0",
                    "two words", "", "*", "$HOME", "tab\there", "-n")
    assert _run_ok(pyrunc, b) == "[two words]\n[]\n[*]\n[$HOME]\n[tab\there]\n[-n]\n"


def test_argv0_is_args0(pyrunc, make_bundle):
    # the exec'd program's argv[0] is args[0] as given, not the resolved path
    b = make_bundle("sh", "-c", "cat /proc/$$/cmdline | tr '\\0' '\\n'")
    assert _run_ok(pyrunc, b).splitlines()[0] == "sh"


# the shell's own environ, the one the runtime passed to execve ("; true" keeps sh from
# exec'ing tr in its place, which would leave /proc/$$/environ naming a dead mm)
ENVIRON = "tr '\\0' '\\n' < /proc/$$/environ; true"


def test_env_exact_and_in_order(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", ENVIRON)
    env = ["ZED=last", "PATH=/bin:/usr/bin", "A_VAR=with space", "EMPTY=", "EQ=a=b",
           "HOME=/myhome"]
    b.config["process"]["env"] = env
    b.write()
    assert _run_ok(pyrunc, b).splitlines() == env


def test_env_home_added_and_duplicates_merged_like_runc(pyrunc, make_bundle):
    """runc: a repeated name keeps its first position with the last value; a missing HOME
    is set from the container's /etc/passwd for the process's uid ("/" if none)."""
    b = make_bundle("sh", "-c", ENVIRON)
    b.config["process"]["env"] = ["B=1", "PATH=/bin", "B=2", "C=3"]
    b.write()
    assert _run_ok(pyrunc, b).splitlines() == ["B=2", "PATH=/bin", "C=3", "HOME=/root"]
    b.config["process"]["user"] = {"uid": 4321, "gid": 4321}  # not in /etc/passwd
    b.write()
    assert _run_ok(pyrunc, b).splitlines()[-1] == "HOME=/"


def test_cwd(pyrunc, make_bundle):
    b = make_bundle("pwd")
    b.config["process"]["cwd"] = "/etc"
    b.write()
    assert _run_ok(pyrunc, b) == "/etc\n"


def test_cwd_created_if_missing(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "pwd; ls -ld . | cut -c1-10")
    b.config["process"]["cwd"] = "/new/deep/dir"
    b.write()
    assert not os.path.exists(os.path.join(b.rootfs, "new"))
    assert _run_ok(pyrunc, b) == "/new/deep/dir\ndrwxr-xr-x\n"
    assert os.path.isdir(os.path.join(b.rootfs, "new/deep/dir"))


def test_cwd_only_root_may_enter(pyrunc, make_bundle):
    # runc enters cwd before dropping root: a user's cwd may be a directory it can't enter
    b = make_bundle("sh", "-c", "pwd; id -u; ls . >/dev/null 2>&1 || echo cannot-list")
    os.chmod(os.path.join(b.rootfs, "root"), 0o700)
    b.config["process"]["cwd"] = "/root"
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.write()
    assert _run_ok(pyrunc, b) == "/root\n1000\ncannot-list\n"


def test_cwd_created_inside_rootfs_through_symlink(pyrunc, make_bundle, tmp_path):
    # a cwd whose component is an absolute symlink must be resolved inside the rootfs
    marker = "pyrunc-cwd-escape-%s" % new_id()
    b = make_bundle("pwd")
    os.symlink("/tmp", os.path.join(b.rootfs, "lnk"))
    b.config["process"]["cwd"] = "/lnk/" + marker
    b.write()
    r = pyrunc.run(b)
    assert not os.path.exists("/tmp/" + marker)
    assert r.code == 0, r
    assert os.path.isdir(os.path.join(b.rootfs, "tmp", marker))


# -- user ---------------------------------------------------------------------------------


def test_user_uid_gid(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "id -u; id -g; id -G")
    b.config["process"]["user"] = {"uid": 1000, "gid": 1001}
    b.write()
    assert _run_ok(pyrunc, b) == "1000\n1001\n1001\n"


def test_user_additional_gids(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "id -G; grep '^Groups:' /proc/$$/status")
    b.config["process"]["user"] = {"uid": 1000, "gid": 1001,
                                   "additionalGids": [1002, 5, 1002, 70000]}
    b.write()
    lines = _run_ok(pyrunc, b).splitlines()
    assert lines[0].split() == ["1001", "5", "1002", "70000"]
    # duplicates dropped like runc; the kernel keeps them sorted
    assert lines[1].split()[1:] == ["5", "1002", "70000"]


def test_user_root_has_no_supplementary_groups_by_default(pyrunc, make_bundle):
    b = make_bundle("grep", "^Groups:", "/proc/self/status")
    assert _run_ok(pyrunc, b).split() == ["Groups:"]


def test_user_all_ids_switched(pyrunc, make_bundle):
    b = make_bundle("grep", "-E", "^(Uid|Gid):", "/proc/self/status")
    b.config["process"]["user"] = {"uid": 123, "gid": 456}
    b.write()
    lines = _run_ok(pyrunc, b).splitlines()
    assert lines[0].split() == ["Uid:", "123", "123", "123", "123"]  # real eff saved fs
    assert lines[1].split() == ["Gid:", "456", "456", "456", "456"]


# -- umask --------------------------------------------------------------------------------


def test_umask_from_config(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "grep ^Umask: /proc/$$/status; touch /tmp/f; stat -c %a /tmp/f")
    b.config["process"]["user"]["umask"] = 0o027
    b.write()
    assert _run_ok(pyrunc, b).split() == ["Umask:", "0027", "640"]


def test_umask_default_is_0022_not_the_callers(pyrunc, make_bundle):
    b = make_bundle("grep", "^Umask:", "/proc/self/status")
    old = os.umask(0o077)  # the runtime inherits it; runc gives the container 0022
    try:
        out = _run_ok(pyrunc, b)
    finally:
        os.umask(old)
    assert out.split() == ["Umask:", "0022"]


# -- capabilities ---------------------------------------------------------------------------


CAPS = {
    "bounding": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_SETUID", "CAP_KILL",
                 "CAP_NET_BIND_SERVICE"],
    "permitted": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_NET_BIND_SERVICE"],
    "effective": ["CAP_CHOWN", "CAP_NET_RAW"],
    "inheritable": ["CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_NET_BIND_SERVICE"],
    "ambient": ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"],
}


def _caps_of(pyrunc, make_bundle, caps, user):
    # the runtime execs cat itself: /proc/self/status is that process's sets after execve
    b = make_bundle("cat", "/proc/self/status")
    b.config["process"]["capabilities"] = caps
    b.config["process"]["user"] = user
    b.config["process"]["noNewPrivileges"] = False
    b.write()
    return _status(_run_ok(pyrunc, b))


def test_capabilities_non_root_with_ambient(pyrunc, make_bundle):
    """For a non-root process execve keeps the inheritable and bounding sets, and the
    permitted and effective sets become the ambient set."""
    st = _caps_of(pyrunc, make_bundle, CAPS, {"uid": 1000, "gid": 1000})
    assert st["CapInh"] == _mask(CAPS["inheritable"])
    assert st["CapBnd"] == _mask(CAPS["bounding"])
    assert st["CapAmb"] == _mask(CAPS["ambient"])
    assert st["CapPrm"] == _mask(CAPS["ambient"])
    assert st["CapEff"] == _mask(CAPS["ambient"])


def test_capabilities_root(pyrunc, make_bundle):
    """For root, execve makes permitted = effective = inheritable | bounding | ambient (the
    file counts as fully privileged); the ambient set survives (no file caps, no setuid)."""
    st = _caps_of(pyrunc, make_bundle, CAPS, {"uid": 0, "gid": 0})
    assert st["CapInh"] == _mask(CAPS["inheritable"])
    assert st["CapBnd"] == _mask(CAPS["bounding"])
    assert st["CapAmb"] == _mask(CAPS["ambient"])
    both = set(CAPS["inheritable"]) | set(CAPS["bounding"]) | set(CAPS["ambient"])
    assert st["CapPrm"] == _mask(both)
    assert st["CapEff"] == _mask(both)


def test_capabilities_ambient_not_inheritable_is_skipped(pyrunc, make_bundle):
    # runc skips an ambient cap that is not also permitted and inheritable, silently
    caps = dict(CAPS, ambient=["CAP_NET_RAW", "CAP_CHOWN", "CAP_KILL"])
    st = _caps_of(pyrunc, make_bundle, caps, {"uid": 1000, "gid": 1000})
    assert st["CapAmb"] == _mask(["CAP_NET_RAW"])


def test_capabilities_empty(pyrunc, make_bundle):
    st = _caps_of(pyrunc, make_bundle, {}, {"uid": 0, "gid": 0})
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert st[k] == "0" * 16, (k, st)


def test_capabilities_unknown_name_ignored(pyrunc, make_bundle):
    caps = {"bounding": ["CAP_KILL", "CAP_DOES_NOT_EXIST"],
            "permitted": ["CAP_KILL"], "effective": ["CAP_KILL"]}
    st = _caps_of(pyrunc, make_bundle, caps, {"uid": 0, "gid": 0})
    assert st["CapBnd"] == _mask(["CAP_KILL"])


# -- no_new_privs, rlimits, oom_score_adj -------------------------------------------------


def test_no_new_privileges(pyrunc, make_bundle):
    b = make_bundle("grep", "^NoNewPrivs:", "/proc/self/status")
    b.config["process"]["noNewPrivileges"] = True
    b.write()
    assert _run_ok(pyrunc, b).split() == ["NoNewPrivs:", "1"]
    b.config["process"]["noNewPrivileges"] = False
    b.write()
    assert _run_ok(pyrunc, b).split() == ["NoNewPrivs:", "0"]


def _limits(text):
    """/proc/PID/limits -> {name: (soft, hard)}."""
    out = {}
    for line in text.splitlines()[1:]:
        name = line[:26].strip()
        f = line[26:].split()
        out[name] = (f[0], f[1])
    return out


def test_rlimits(pyrunc, make_bundle):
    b = make_bundle("cat", "/proc/self/limits")
    b.config["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 1234, "hard": 5678},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
        {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
        {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 2 ** 64 - 1},
        {"type": "RLIMIT_MSGQUEUE", "soft": 100, "hard": 200},
    ]
    b.write()
    lim = _limits(_run_ok(pyrunc, b))
    assert lim["Max open files"] == ("1234", "5678")
    assert lim["Max core file size"] == ("0", "4096")
    assert lim["Max processes"] == ("300", "400")
    assert lim["Max stack size"] == ("4194304", "unlimited")
    assert lim["Max msgqueue size"] == ("100", "200")


def test_rlimit_nofile_up_to_the_hosts_hard_limit(pyrunc, make_bundle):
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    want = min(hard, 20000)
    b = make_bundle("cat", "/proc/self/limits")
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": want, "hard": want}]
    b.write()
    assert _limits(_run_ok(pyrunc, b))["Max open files"] == (str(want), str(want))


def test_oom_score_adj_raised(pyrunc, make_bundle):
    # raising it needs no privilege (root here lacks CAP_SYS_RESOURCE)
    b = make_bundle("cat", "/proc/self/oom_score_adj")
    b.config["process"]["oomScoreAdj"] = 678
    b.write()
    assert _run_ok(pyrunc, b) == "678\n"


def test_oom_score_adj_unset_inherits(pyrunc, make_bundle):
    b = make_bundle("cat", "/proc/self/oom_score_adj")
    with open("/proc/self/oom_score_adj") as f:
        mine = f.read()
    assert _run_ok(pyrunc, b) == mine


# -- exit status, stdin -------------------------------------------------------------------


def test_exit_status_propagated(pyrunc, make_bundle):
    for code in (0, 1, 3, 126, 255):
        r = pyrunc.run(make_bundle("sh", "-c", "exit %d" % code))
        assert r.code == code, r


def test_exit_status_of_signal_is_128_plus_n(pyrunc, make_bundle):
    # without a pid namespace: as pid 1 of its own namespace the shell could not kill itself
    for sig in (9, 15):
        b = make_bundle("sh", "-c", "kill -%d $$; sleep 5" % sig)
        b.config["linux"]["namespaces"] = [
            n for n in b.config["linux"]["namespaces"] if n["type"] != "pid"]
        b.write()
        r = pyrunc.run(b)
        assert r.code == 128 + sig, r


def test_exit_status_of_pid1_killed_from_outside(pyrunc, make_bundle, tmp_path):
    import subprocess
    b = make_bundle("sleep", "30")
    cid = new_id()
    p = subprocess.Popen(pyrunc.argv + ["--root", pyrunc.root, "run", "--bundle", b.path, cid],
                         stdin=subprocess.DEVNULL)
    try:
        _wait_status(pyrunc, cid, "running")
        pyrunc.cmd("kill", cid, "KILL", check=True)
        assert p.wait(timeout=20) == 137
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def _wait_status(rt, cid, status, timeout=10.0):
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = rt.state(cid)
        if st and st["status"] == status:
            return st
        time.sleep(0.02)
    raise AssertionError("%s never became %s: %r" % (cid, status, st))


def test_stdin_passed_to_foreground_run(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "read a; read b; echo \"$b|$a\"; cat")
    r = pyrunc.run(b, input="first\nsecond\nrest of it\n")
    assert r.code == 0, r
    assert r.out == "second|first\nrest of it\n"


def test_stdout_and_stderr_separate(pyrunc, make_bundle):
    r = pyrunc.run(make_bundle("sh", "-c", "echo to-out; echo to-err >&2"))
    assert r.out == "to-out\n"
    assert "to-err\n" in r.err and "to-out" not in r.err


# -- file descriptors ---------------------------------------------------------------------


def _with_fds(rt, redirections):
    """The same runtime started by a shell that opened extra fds (as containerd's shim leaks
    its ttrpc socket as fd 3): ``redirections`` like '3</etc/hostname 4</etc/passwd'."""
    argv = ["sh", "-c", 'exec "$@" %s' % redirections, "sh"] + rt.argv
    return helpers.Runtime(argv, rt.root, rt.name)


def test_only_stdio_fds_in_container(pyrunc, make_bundle):
    b = make_bundle("ls", "/proc/self/fd")
    rt = _with_fds(pyrunc, "3</etc/hostname 5</etc/passwd")
    r = rt.run(b)
    assert r.code == 0, r
    # 0-2, and the directory ls itself opened (the lowest free fd: 3)
    assert r.out.split() == ["0", "1", "2", "3"]


def test_only_stdio_fds_in_created_init(pyrunc, make_bundle):
    """The process waiting for `start` holds nothing the container could use either."""
    b = make_bundle("sleep", "30")
    cid = new_id()
    rt = _with_fds(pyrunc, "3</etc/hostname")
    r = rt.cmd("create", "--bundle", b.path, cid)
    assert r.code == 0, r
    pid = pyrunc.state(cid)["pid"]
    pyrunc.cmd("start", cid, check=True)
    for _ in range(100):
        if os.readlink("/proc/%d/exe" % pid).endswith("busybox"):
            break
        time.sleep(0.02)
    assert sorted(os.listdir("/proc/%d/fd" % pid), key=int) == ["0", "1", "2"]


def test_preserve_fds(pyrunc, make_bundle, tmp_path):
    for i in (3, 4, 5):
        (tmp_path / ("f%d" % i)).write_text("content %d\n" % i)
    b = make_bundle("sh", "-c", "cat <&3; cat <&4; ls /proc/$$/fd; cat <&5")
    rt = _with_fds(pyrunc, "3<%s/f3 4<%s/f4 5<%s/f5" % (tmp_path, tmp_path, tmp_path))
    r = rt.cmd("run", "--preserve-fds", "2", "--bundle", b.path, new_id())
    assert r.code != 0  # fd 5 was not preserved: `cat <&5` fails
    lines = r.out.splitlines()
    assert lines[:2] == ["content 3", "content 4"]
    # the shell's own fds: exactly 0-4 (ls's directory is in ls, not in the shell)
    assert lines[2:] == ["0", "1", "2", "3", "4"]
    assert "content 5" not in r.out
