"""CVE-2024-21626 ("Leaky Vessels"): a host directory descriptor reaches the container.

runc leaked an fd of the host's /sys/fs/cgroup into ``runc init``; with ``process.cwd`` set
to /proc/self/fd/N the container's process started *inside the host's filesystem* (chdir
through the magic link happens before the fd is closed), and ``../../..`` from there is the
host's root. Variants: the leaked fd survives into the container's process itself, or
``runc exec --cwd /proc/self/fd/N`` does the same for a joining process.

The attack here uses host directories (holding a secret file) opened by the *caller* at fds
3..9 (the caller's fds are what the runtime inherits), and pyrunc's own descriptors (the
state directory, the start socket), which an ``--preserve-fds N`` larger than what the caller
really passed used to hand to the container.

pyrunc:
* finalize.py ``fd_hygiene``: everything above 2 + --preserve-fds is CLOEXEC before execve;
* lifecycle.py ``check_preserved_fds``: each of fds 3..N+2 must be open before pyrunc opens
  anything of its own (found by this test: before it, ``run --preserve-fds 6`` with only
  stdio open put pyrunc's state-directory fd in the container, ``cd /proc/self/fd/4/../..``
  was the host's /run);
* setup.py ``prepare``: the cwd is created inside the rootfs with openat2(RESOLVE_IN_ROOT |
  RESOLVE_NO_MAGICLINKS), which refuses /proc/self/fd/N;
* attrs.py ``check_cwd_inside``: after chdir, getcwd() must be an absolute path (the kernel
  answers "(unreachable)/..." for a directory outside the process's root).

runc 1.1.5+ds1-1+deb12u1 (installed) carries Debian's backport of the fix: not vulnerable,
and it refuses a --preserve-fds gap the same way (test below).
"""

import os
import uuid

import pytest

from tests.helpers import Runtime, new_id
from tests.security.common import one_line_error

FDS = range(3, 10)  # sh redirections go up to 9


@pytest.fixture
def host_dir(tmp_path):
    d = tmp_path / "hostdir"
    d.mkdir()
    token = "HOST-SECRET-" + uuid.uuid4().hex
    (d / "secret").write_text(token + "\n")
    return str(d), token


def _leaky(rt, hostdir):
    """The same runtime, started with host directory fds at 3..9 (as a careless or hostile
    caller, or a runtime bug, would leave them)."""
    redirs = " ".join("%d<%s" % (n, hostdir) for n in FDS)
    return Runtime(["sh", "-c", 'exec "$0" "$@" ' + redirs] + rt.argv, rt.root, rt.name)


LIST_FDS = ("for f in /proc/self/fd/*; do [ -e $f ] && echo \"${f##*/} $(readlink $f)\"; "
            "done; true")


def _fds(out):
    return sorted(int(line.split()[0]) for line in out.splitlines() if line.strip())


def test_caller_fds_do_not_reach_the_container(pyrunc, make_bundle, host_dir):
    b = make_bundle("sh", "-c", LIST_FDS)
    r = _leaky(pyrunc, host_dir[0]).run(b)
    assert r.code == 0, r
    assert _fds(r.out) == [0, 1, 2], r.out


def test_caller_fds_do_not_reach_an_exec(pyrunc, make_bundle, host_dir):
    b = make_bundle("sleep", "300")
    cid = new_id()
    pyrunc.cmd("run", "--detach", "--bundle", b.path, cid, check=True)
    r = _leaky(pyrunc, host_dir[0]).cmd("exec", cid, "sh", "-c", LIST_FDS)
    assert r.code == 0, r
    assert _fds(r.out) == [0, 1, 2], r.out


def test_preserved_fds_reach_the_container_exactly(pyrunc, make_bundle, host_dir):
    """--preserve-fds 2 passes fds 3 and 4 (the caller's), and nothing of pyrunc's."""
    b = make_bundle("sh", "-c", LIST_FDS)
    r = _leaky(pyrunc, host_dir[0]).cmd("run", "--preserve-fds", "2", "--bundle", b.path,
                                        new_id())
    assert r.code == 0, r
    assert _fds(r.out) == [0, 1, 2, 3, 4], r.out
    for line in r.out.splitlines():
        n, _, target = line.partition(" ")
        if int(n) >= 3:
            assert target == host_dir[0]  # the caller's own, as asked


@pytest.mark.parametrize("n", ["1", "2", "6"])
@pytest.mark.parametrize("cmd", ["run", "exec"])
def test_preserve_fds_gap_is_refused(pyrunc, make_bundle, cmd, n):
    """Only stdio is open but --preserve-fds N is asked: pyrunc's own descriptors would fill
    the gap and go to the container (they did, before check_preserved_fds; and with N=1 the
    channel to the init, forked before the check, hid the gap and the init's start socket
    took fd 3: the check compares with the fds the caller had, util.CALLER_FDS)."""
    b = make_bundle("sh", "-c", LIST_FDS + "; ls /proc/self/fd/*/../..")
    if cmd == "run":
        cid = new_id()
        r = pyrunc.cmd("run", "--preserve-fds", n, "--bundle", b.path, cid)
        msg = one_line_error(r)
        assert pyrunc.ids() == [] and not os.path.exists(os.path.join(pyrunc.root, cid))
    else:
        b2 = make_bundle("sleep", "300")
        cid = new_id()
        pyrunc.cmd("run", "--detach", "--bundle", b2.path, cid, check=True)
        r = pyrunc.cmd("exec", "--preserve-fds", n, cid, "sh", "-c", LIST_FDS)
        msg = one_line_error(r)
    assert "preserve-fds" in msg and "not open" in msg, r


@pytest.mark.runc
def test_runc_refuses_a_preserve_fds_gap_too(runc, make_bundle):
    b = make_bundle("true")
    r = runc.cmd("run", "--preserve-fds", "6", "--bundle", b.path, new_id())
    assert r.code != 0 and "preserved-fd" in r.err, r


CWDS = ["/proc/self/fd/%d", "/proc/self/fd/%d/..", "/proc/thread-self/fd/%d",
        "/proc/1/fd/%d"]


@pytest.mark.parametrize("form", CWDS)
def test_create_with_cwd_through_a_leaked_fd(pyrunc, make_bundle, host_dir, form):
    """process.cwd = /proc/self/fd/N for every N a host directory is open on: the
    container must never start there (it would read the host's secret, relative to cwd)."""
    hostdir, token = host_dir
    leaky = _leaky(pyrunc, hostdir)
    for n in FDS:
        b = make_bundle("sh", "-c", "pwd; cat secret ../secret ../../secret 2>&1; true")
        b.config["process"]["cwd"] = form % n
        b.write()
        r = leaky.run(b)
        assert token not in r.out + r.err, (n, r)
        if r.code == 0:  # allowed only if the cwd really is inside the container
            assert r.out.startswith("/proc/"), (n, r)
        else:
            assert "process.cwd" in one_line_error(r)


@pytest.mark.parametrize("form", CWDS)
def test_exec_with_cwd_through_a_leaked_fd(pyrunc, make_bundle, host_dir, form):
    hostdir, token = host_dir
    b = make_bundle("sleep", "300")
    cid = new_id()
    pyrunc.cmd("run", "--detach", "--bundle", b.path, cid, check=True)
    leaky = _leaky(pyrunc, hostdir)
    for n in FDS:
        r = leaky.cmd("exec", "--cwd", form % n, cid, "sh", "-c",
                      "pwd; cat secret ../secret ../../secret 2>&1; true")
        assert token not in r.out + r.err, (n, r)
        if r.code != 0:
            assert "process.cwd" in one_line_error(r)
        else:
            assert r.out.startswith("/"), (n, r)
