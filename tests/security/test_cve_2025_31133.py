"""CVE-2025-31133: maskedPaths done with a /dev/null the container controls.

Files in maskedPaths are hidden by bind-mounting the container's /dev/null over them. If
/dev/null is not the null device -- the image (or a volume on /dev, or a racing container
sharing it) makes it a symlink to another procfs file -- the runtime bind-mounts *that* file
instead: /proc/kcore or /proc/timer_list become readable, or a writable
/proc/sys/kernel/core_pattern appears where /proc/sysrq-trigger was masked (host takeover).

The harmless probe used here: /dev/null -> /proc/timer_list, with /proc/timer_list in
maskedPaths (runc's default list has it). A vulnerable runtime binds timer_list onto itself,
so the container reads the host's timer list; a fixed one refuses to mask with it.

pyrunc: setup.py ``_dev_null_fd`` opens /dev/null inside the container root and accepts only
a character device 1:3 (a symlink to another real null device is fine: it is resolved inside
the root and checked); it is bind-mounted by fd.

runc 1.1.5: VULNERABLE (fixed in 1.2.8/1.3.3/1.4.0-rc.3) -- test below.
"""

import os

import pytest

from tests.security.common import one_line_error

PROBE = "head -1 /proc/timer_list 2>&1; true"


def _bundle(make_bundle, tmp_path, null):
    """/dev is a volume (bind mount, so the runtime creates no device nodes) whose "null"
    entry the attacker made: null(path) sets it up."""
    b = make_bundle("sh", "-c", PROBE)
    dev = tmp_path / "devvolume"
    (dev / "pts").mkdir(parents=True)
    null(str(dev / "null"))
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
    b.config["mounts"].insert(1, {"destination": "/dev", "type": "bind", "source": str(dev),
                                  "options": ["rbind"]})
    assert "/proc/timer_list" in b.config["linux"]["maskedPaths"]
    return b.write()


def _symlink(p):
    os.symlink("/proc/timer_list", p)


def _regular(p):
    with open(p, "w") as f:
        f.write("")


def _zero(p):
    os.mknod(p, 0o20666, os.makedev(1, 5))


@pytest.mark.parametrize("null", [_symlink, _regular, _zero], ids=["symlink", "file", "zero"])
def test_fake_dev_null_is_refused(pyrunc, make_bundle, tmp_path, null):
    r = pyrunc.run(_bundle(make_bundle, tmp_path, null))
    assert "Timer List" not in r.out, r
    assert "not the null device" in one_line_error(r)


def test_real_dev_null_masks(pyrunc, make_bundle, tmp_path):
    """A real null device in the volume is accepted, and the path is masked."""
    r = pyrunc.run(_bundle(make_bundle, tmp_path,
                           lambda p: os.mknod(p, 0o20666, os.makedev(1, 3))))
    assert r.code == 0 and "Timer List" not in r.out, r


@pytest.mark.runc
def test_runc_masks_with_the_fake_dev_null(runc, make_bundle, tmp_path):
    """The attack works against runc 1.1.5: the masked file is readable."""
    r = runc.run(_bundle(make_bundle, tmp_path, _symlink))
    assert r.code == 0 and r.out.startswith("Timer List Version"), r
