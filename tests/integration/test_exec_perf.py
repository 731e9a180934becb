"""exec's fast path keeps its guarantees: one round trip (the process resolves its executable
while the parent joins it to the cgroups, and reports a failure only after that), the
preloading done by the parent before it forks, the imports that only an LSM label needs (a
terminal's: tests/integration/test_terminal.py), and no import at all once the process has
joined the container."""

import json
import os
import subprocess
import sys
import sysconfig

import pytest

from tests.helpers import REPO, new_id

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (real containers)")


@pytest.fixture
def running(pyrunc, make_bundle):
    b = make_bundle("sleep", "300")
    cid = new_id()
    pyrunc.cmd("run", "--detach", "--bundle", b.path, cid, check=True)
    return cid


def _no_import_error(r):
    assert "ImportError" not in r.err and "not imported before" not in r.err, r


@pytest.mark.parametrize("detach", [False, True])
def test_failure_before_the_cgroup_join_is_reported(pyrunc, running, detach, tmp_path):
    """The process fails its executable's lookup while the parent joins it to the cgroups:
    its own message, never "exited during setup" nor a cgroup error about a vanished pid."""
    extra = ["-d", "--pid-file", str(tmp_path / "p")] if detach else []
    for _ in range(5):  # (a race when it is wrong)
        r = pyrunc.cmd("exec", *extra, running, "no-such-binary")
        assert r.code == 255, r
        assert r.err.strip() == 'exec: "no-such-binary": executable file not found in $PATH', r
    assert not (tmp_path / "p").exists()


def test_failure_after_the_cgroup_join_is_reported(pyrunc, running):
    r = pyrunc.cmd("exec", "--cwd", "/no/such/dir", running, "true")
    assert r.code == 255 and "process.cwd /no/such/dir" in r.err, r


def test_exec_rlimits_are_applied(pyrunc, running, tmp_path):
    """resource is imported before joining (rlimits are applied inside)."""
    proc = {"args": ["sh", "-c", "ulimit -n; ulimit -Hn"], "cwd": "/",
            "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0},
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]}
    p = tmp_path / "process.json"
    p.write_text(json.dumps(proc))
    r = pyrunc.cmd("exec", "--process", str(p), running)
    assert r.code == 0, r
    assert r.out.split() == ["321", "654"]


def test_exec_lsm_labels_fail_with_their_own_message(pyrunc, running):
    """hostcheck and rootfs.paths are imported only for a label: then they must be."""
    r = pyrunc.cmd("exec", "--process-label", "system_u:system_r:container_t:s0", running,
                   "true")
    _no_import_error(r)
    if not os.path.exists("/sys/fs/selinux/enforce"):
        assert r.code == 255 and "SELinux is not enabled" in r.err, r
    r = pyrunc.cmd("exec", "--apparmor", "pyrunc-no-such-profile", running, "true")
    _no_import_error(r)
    assert r.code == 255 and "apparmorProfile" in r.err, r


def test_no_import_after_joining():
    """The guard exec installs before its first setns: an import not done yet fails (it
    would be looked for in the container's files); one done before still works."""
    code = ("import sys; sys.path[:0] = [%r, %r]\n"
            "from pyrunc.process import exec_init\n"
            "import _signal\n"
            "sys.meta_path.insert(0, exec_init._NoImports)\n"
            "import _signal\n"
            "from pyrunc.process import attrs\n"
            "try:\n"
            "    import pyrunc.linux.keyring\n"
            "except ImportError as e:\n"
            "    print('refused', e.name)\n" % (REPO, sysconfig.get_path("purelib")))
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout == "refused pyrunc.linux.keyring\n", out
