"""CVE-2023-27561 (CVE-2019-19921 re-introduced): mounts onto /proc from paths the container
controls.

``docker run -v evil:/proc`` -- a volume bind-mounted on /proc -- gives the container a /proc
of its own making; anything the runtime then reads or writes there (LSM labels, sysctls,
cap_last_cap, /proc/self/fd/N used as mount targets) is the attacker's. Same outcome when the
image turns a volume's destination into a symlink into /proc (/vol -> /proc/self/attr), so
that the volume lands on a procfs file.

pyrunc (mounts.py ``check_destination``, on the destination as resolved in the rootfs): on
/proc itself only a fresh procfs or a bind of a procfs root; inside /proc only the files
lxcfs emulates (cpuinfo, meminfo, stat, uptime, ...); nothing over the rootfs root.

runc 1.1.5 refuses the bind over /proc ("not of type proc", the 1.1.5 fix) and bind mounts
inside /proc (tests below): not vulnerable to this one. It still lets a tmpfs onto
/proc/sys (see test_cve_2025_52881.py).
"""

import os

import pytest

from tests.security.common import one_line_error


def _volume_over_proc(make_bundle, tmp_path):
    b = make_bundle("sh", "-c", "cat /proc/sys/kernel/cap_last_cap; echo ran")
    vol = tmp_path / "evil"
    (vol / "sys" / "kernel").mkdir(parents=True)
    (vol / "sys" / "kernel" / "cap_last_cap").write_text("0\n")
    b.config["mounts"].append({"destination": "/proc", "type": "bind", "source": str(vol),
                               "options": ["rbind"]})
    return b.write()


def test_volume_over_proc_is_refused(pyrunc, make_bundle, tmp_path):
    r = pyrunc.run(_volume_over_proc(make_bundle, tmp_path))
    assert "ran" not in r.out
    assert "/proc cannot be mounted because it is not of type proc" in one_line_error(r)


@pytest.mark.runc
def test_runc_refuses_volume_over_proc(runc, make_bundle, tmp_path):
    r = runc.run(_volume_over_proc(make_bundle, tmp_path))
    assert r.code != 0 and "not of type proc" in r.err, r


def _symlink_into_proc(make_bundle, tmp_path):
    b = make_bundle("true")
    os.symlink("/proc/self/attr", os.path.join(b.rootfs, "vol"))
    src = tmp_path / "data"
    src.mkdir()
    b.config["mounts"].append({"destination": "/vol", "type": "bind", "source": str(src),
                               "options": ["rbind"]})
    return b.write()


def test_volume_through_a_symlink_into_proc_is_refused(pyrunc, make_bundle, tmp_path):
    r = pyrunc.run(_symlink_into_proc(make_bundle, tmp_path))
    assert "because it is inside /proc" in one_line_error(r)


@pytest.mark.runc
def test_runc_refuses_volume_through_a_symlink_into_proc(runc, make_bundle, tmp_path):
    r = runc.run(_symlink_into_proc(make_bundle, tmp_path))
    assert r.code != 0 and "inside /proc" in r.err, r


def test_tmpfs_inside_proc_is_refused(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["mounts"].append({"destination": "/proc/sys", "type": "tmpfs",
                               "source": "tmpfs"})
    b.write()
    assert "inside /proc" in one_line_error(pyrunc.run(b))


def test_lxcfs_files_and_a_procfs_bind_are_still_allowed(pyrunc, make_bundle, tmp_path):
    """What runc allows stays allowed: an lxcfs-style file over /proc/meminfo, and a bind of
    a real procfs root onto /proc."""
    fake = tmp_path / "meminfo"
    fake.write_text("MemTotal: 42 kB\n")
    b = make_bundle("sh", "-c", "head -1 /proc/meminfo; test -e /proc/self/status && echo ok")
    b.config["mounts"].append({"destination": "/proc/meminfo", "type": "bind",
                               "source": str(fake), "options": ["bind", "ro"]})
    b.write()
    r = pyrunc.run(b)
    assert r.code == 0 and r.out == "MemTotal: 42 kB\nok\n", r
    b2 = make_bundle("sh", "-c", "test -e /proc/self/status && echo ok")
    b2.config["mounts"] = [dict(m, type="bind", source="/proc", options=["rbind"])
                           if m["destination"] == "/proc" else m for m in b2.config["mounts"]]
    b2.write()
    r = pyrunc.run(b2)
    assert r.code == 0 and r.out == "ok\n", r
