"""Faults around the runtime: an init killed before start, hooks hanging past their timeout,
a full disk under the state directory, a bundle deleted under a running container.

Each ends with the same check as the kill points: nothing of the container is left (state,
cgroups in every hierarchy, processes, mounts) and every failure was one line.
"""

import os
import shutil
import subprocess
import time

import pytest

from pyrunc import util
from tests.reliability.common import container_processes, mounts_under, one_line_error, \
    unique


def _created(world, tmp_path, cid=None, **kw):
    cid = cid or unique("f")
    b = world.bundle(cid, **kw)
    world.rt.cmd("create", "--bundle", b.path, cid, check=True)
    st, _ = world.state(cid)
    assert st["status"] == "created"
    return cid, b, st


def _gone(world, cid):
    assert world.leaks(cid) == {}
    st, r = world.state(cid)
    assert st is None and "does not exist" in r.err


# -- the init dies -------------------------------------------------------------------------
def test_init_killed_before_start(world, tmp_path):
    cid, _, st = _created(world, tmp_path)
    os.kill(st["pid"], 9)
    assert world.wait_status(cid, "stopped") == "stopped"
    st, _ = world.state(cid)
    assert st["pid"] == 0
    assert "stopped" in one_line_error(world.rt.cmd("start", cid))
    assert "not running" in one_line_error(world.rt.cmd("kill", cid, "TERM"))
    world.rt.cmd("delete", cid, check=True)  # a plain delete: it is stopped
    _gone(world, cid)


def test_init_killed_while_running(world, tmp_path):
    cid, _, st = _created(world, tmp_path)
    world.rt.cmd("start", cid, check=True)
    assert world.wait_status(cid, "running") == "running"
    os.kill(st["pid"], 9)
    assert world.wait_status(cid, "stopped") == "stopped"
    world.rt.cmd("delete", cid, check=True)
    _gone(world, cid)


# -- hooks that hang -----------------------------------------------------------------------
def _hanging(cid, sh="/bin/sh"):
    """A hook that hangs, and has started a child that hangs too (both named after cid)."""
    return {"path": sh, "timeout": 1,
            "args": ["sh", "-c", "sh -c 'sleep 30; true' child-%s & sleep 30; true" % cid,
                     "hook-" + cid]}


def _no_hook_left(cid):
    for marker in ("hook-" + cid, "child-" + cid):
        deadline = time.monotonic() + 2
        while container_processes(marker, "/-none-") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert container_processes(marker, "/-none-") == [], marker


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_create_hook_timeout(world, tmp_path, kind):
    cid = unique("fh")
    b = world.bundle(cid, hooks={kind: [_hanging(cid)]})
    t = time.monotonic()
    r = world.rt.cmd("create", "--bundle", b.path, cid, timeout=30)
    took = time.monotonic() - t
    msg = one_line_error(r)
    assert "hooks.%s[0]" % kind in msg and "timed out after 1s" in msg, msg
    assert took < 6, took
    _no_hook_left(cid)
    _gone(world, cid)


def test_start_container_hook_timeout(world, tmp_path):
    cid = unique("fh")
    # startContainer runs in the container: the rootfs's busybox sh
    cid, _, _ = _created(world, tmp_path, cid=cid,
                         hooks={"startContainer": [_hanging(cid)]})
    t = time.monotonic()
    r = world.rt.cmd("start", cid, timeout=30)
    msg = one_line_error(r)
    assert "timed out" in msg, msg
    assert time.monotonic() - t < 6
    assert world.wait_status(cid, "stopped") == "stopped"
    world.rt.cmd("delete", cid, check=True)
    _no_hook_left(cid)
    _gone(world, cid)


def test_poststart_and_poststop_hook_timeouts(world, tmp_path):
    """Warnings only: start and delete still succeed, within the timeout."""
    cid = unique("fh")
    cid, _, _ = _created(world, tmp_path, cid=cid, hooks={
        "poststart": [_hanging(cid)], "poststop": [_hanging(cid)]})
    t = time.monotonic()
    r = world.rt.cmd("start", cid, timeout=30)
    assert r.code == 0 and "timed out" in r.err, r
    assert time.monotonic() - t < 6
    assert world.wait_status(cid, "running") == "running"
    _no_hook_left(cid)
    t = time.monotonic()
    r = world.rt.cmd("delete", "--force", cid, timeout=30)
    assert r.code == 0 and "timed out" in r.err, r
    assert time.monotonic() - t < 6
    _no_hook_left(cid)
    _gone(world, cid)


# -- a full disk under --root --------------------------------------------------------------
@pytest.fixture
def tiny_root(world):
    """--root on a 64 KiB tmpfs (nr_inodes given by the test through mount options)."""
    root = world.rt.root
    os.makedirs(root)
    mounted = []

    def mount(opts="size=64k"):
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=700," + opts, "tmpfs", root],
                       check=True)
        mounted.append(root)
        world.mounts_before = mounts_under(world.prefixes())
        return root
    yield mount
    world.rt.cleanup()
    for m in mounted:
        subprocess.run(["umount", m], check=True)


def _fill(root, leave=0):
    """Fill the filesystem, leaving ``leave`` bytes (whole pages) free."""
    st = os.statvfs(root)
    free = st.f_bavail * st.f_frsize - leave
    with open(os.path.join(root, "filler"), "wb") as f:
        try:
            f.write(b"\0" * free)
        except OSError:
            pass
    return os.statvfs(root).f_bavail * os.statvfs(root).f_frsize


def _create_fails_cleanly(world, tmp_path, root, cid, b):
    r = world.rt.cmd("create", "--bundle", b.path, "--pid-file", tmp_path / "pid", cid)
    msg = one_line_error(r)
    assert "No space left on device" in msg, msg
    assert sorted(os.listdir(root)) == ["filler"]
    assert not os.path.exists(tmp_path / "pid")
    assert world.leaks(cid) == {}
    return msg


def test_full_disk_blocks(world, tmp_path, tiny_root):
    root = tiny_root()
    assert _fill(root) == 0
    cid = unique("fd")
    msg = _create_fails_cleanly(world, tmp_path, root, cid, world.bundle(cid))
    assert "state" in msg


def test_full_disk_inodes(world, tmp_path, tiny_root):
    root = tiny_root("size=64k,nr_inodes=3")
    _fill(root, leave=8192)
    n = 0
    while True:  # use up the inodes
        try:
            os.close(os.open(os.path.join(root, "x%d" % n), os.O_CREAT | os.O_WRONLY))
            n += 1
        except OSError:
            break
    cid = unique("fd")
    b = world.bundle(cid)
    r = world.rt.cmd("create", "--bundle", b.path, cid)
    msg = one_line_error(r)
    assert "No space left on device" in msg and "state directory" in msg, msg
    assert sorted(os.listdir(root)) == sorted(["filler"] + ["x%d" % i for i in range(n)])
    assert world.leaks(cid) == {}


def test_full_disk_midway(world, tmp_path, tiny_root):
    """Room for the first (small) state.json, not for the one with the config: create fails
    after its cgroups exist (they must go), through a short write (never a truncated file)."""
    root = tiny_root()
    cid = unique("fd")
    b = world.bundle(cid)
    b.config["annotations"] = {"pad": "x" * 6000}  # the config's state.json > 1 page
    b.write()
    _fill(root, leave=8192)
    _create_fails_cleanly(world, tmp_path, root, cid, b)


def test_full_disk_after_create(world, tmp_path, tiny_root):
    """A disk filled once the container exists: state, start, kill and delete still work."""
    root = tiny_root()
    cid, _, _ = _created(world, tmp_path)
    _fill(root)
    world.rt.cmd("start", cid, check=True)
    assert world.wait_status(cid, "running") == "running"
    world.rt.cmd("kill", cid, "KILL", check=True)
    assert world.wait_status(cid, "stopped") == "stopped"
    world.rt.cmd("delete", cid, check=True)
    assert os.listdir(root) == ["filler"]
    _gone(world, cid)


def test_write_atomic_short_writes(tmp_path, monkeypatch):
    """A filesystem that takes part of a write: the file is completed, not truncated."""
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real(fd, bytes(data[:7])))
    util.write_atomic(str(tmp_path / "f"), "0123456789" * 10)
    monkeypatch.undo()
    assert (tmp_path / "f").read_text() == "0123456789" * 10


# -- the bundle disappears -----------------------------------------------------------------
def test_bundle_deleted_while_running(world, tmp_path):
    cid = unique("fb")
    hook = os.path.join(str(tmp_path), "bundle-" + cid, "poststop.sh")
    b = world.bundle(cid, args=["sleep", "1000"],
                     hooks={"poststop": [{"path": hook, "args": ["poststop.sh"]}]})
    with open(hook, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(hook, 0o755)
    world.rt.cmd("create", "--bundle", b.path, cid, check=True)
    world.rt.cmd("start", cid, check=True)
    assert world.wait_status(cid, "running") == "running"
    shutil.rmtree(b.path)
    st, _ = world.state(cid)
    assert st["status"] == "running" and st["bundle"] == b.path
    assert cid in world.rt.ids()
    r = world.rt.cmd("exec", cid, "true")  # its rootfs's files are gone too
    one_line_error(r)
    world.rt.cmd("kill", cid, "KILL", check=True)
    assert world.wait_status(cid, "stopped") == "stopped"
    r = world.rt.cmd("delete", cid)
    assert r.code == 0, r  # the missing poststop hook is a warning
    assert "poststop" in r.err
    _gone(world, cid)


def test_bundle_deleted_then_force_delete(world, tmp_path):
    cid, b, _ = _created(world, tmp_path, args=["sleep", "1000"])
    world.rt.cmd("start", cid, check=True)
    shutil.rmtree(b.path)
    world.rt.cmd("delete", "--force", cid, check=True)
    _gone(world, cid)
