"""CVE-2019-16884 / CVE-2019-19921: the image makes /proc a symlink, and what the runtime
later reads or writes under /proc is the attacker's.

runc mounted procfs through the image's /proc symlink (somewhere the attacker chose) and
wrote the AppArmor label to /proc/self/attr/exec, which was then a file in a volume: the
container ran unconfined. Here the same trick targets pyrunc: the image has /proc -> /data/proc
and the volume mounted later at /data (another container can fill it) hides the real procfs
under a fake tree. Before the fix pyrunc read the capability count from the fake
/proc/sys/kernel/cap_last_cap ("0"), so it never dropped the bounding set; with
noNewPrivileges off (docker's and podman's default) the container's root got every
capability back at execve -- CAP_SYS_ADMIN, CAP_SYS_MODULE: a host takeover. (Reproduced
against pyrunc before the fix: CapEff 000001fffefffffe, mount and sethostname succeeded.)

pyrunc now:
* mounts.py ``check_destination``: proc and sysfs must be mounted on the destination itself,
  no symlink on the way ("must be mounted on an ordinary directory", runc's rule); nothing
  but procfs on /proc, nothing inside /proc but lxcfs's files, nothing over the rootfs;
* attrs.py ``last_cap``: read once from the host's /proc before entering the container;
* paths.py ``require_procfs``: before anything after the pivot relies on /proc (masking via
  /proc/self/fd, sysctls, the console, LSM labels), /proc must be a procfs root;
* hostcheck ``apparmor_enabled`` is cached from the host's /sys too (a fake /sys saying "N"
  would have skipped the profile), and finalize.py writes the label from a checked procfs.

runc 1.1.5: not vulnerable (refuses a symlinked /proc since 1.0-rc10; test below).
"""

import os

import pytest

from tests.helpers import new_id
from tests.security.common import one_line_error, status_field

ESCALATION = ("mkdir -p /mnt; mount -t tmpfs x /mnt 2>/dev/null && echo ESCALATED-MOUNT; "
              "hostname evil 2>/dev/null && echo ESCALATED-HOSTNAME; true")


def _fake_proc(root, scratch):
    """A procfs look-alike: cap_last_cap 0, and /proc/self/fd/N links the runtime would use
    as mount targets pointing at a harmless scratch directory."""
    os.makedirs(os.path.join(root, "sys", "kernel"), exist_ok=True)
    with open(os.path.join(root, "sys", "kernel", "cap_last_cap"), "w") as f:
        f.write("0\n")
    os.makedirs(os.path.join(root, "self", "fd"), exist_ok=True)
    os.makedirs(os.path.join(root, "scratch"), exist_ok=True)
    for n in range(3, 64):
        os.symlink(scratch, os.path.join(root, "self", "fd", str(n)))


def _attack_bundle(make_bundle, tmp_path):
    b = make_bundle("sh", "-c", ESCALATION)
    vol = tmp_path / "volume"
    _fake_proc(str(vol / "proc"), "/data/proc/scratch")
    os.rmdir(os.path.join(b.rootfs, "proc"))
    os.symlink("/data/proc", os.path.join(b.rootfs, "proc"))
    os.mkdir(os.path.join(b.rootfs, "data"))
    b.config["process"]["noNewPrivileges"] = False  # docker's and podman's default
    b.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(vol),
                               "options": ["rbind"]})
    return b.write()


def test_symlinked_proc_is_refused(pyrunc, make_bundle, tmp_path):
    b = _attack_bundle(make_bundle, tmp_path)
    r = pyrunc.run(b)
    assert "ESCALATED" not in r.out
    msg = one_line_error(r)
    assert "mounts[0] (/proc)" in msg and "ordinary directory" in msg
    assert pyrunc.ids() == []


def test_symlinked_sys_is_refused(pyrunc, make_bundle, tmp_path):
    b = make_bundle("true")
    os.rmdir(os.path.join(b.rootfs, "sys"))
    os.makedirs(os.path.join(b.rootfs, "elsewhere"))
    os.symlink("/elsewhere", os.path.join(b.rootfs, "sys"))
    msg = one_line_error(pyrunc.run(b))
    assert "sysfs must be mounted on an ordinary directory" in msg


@pytest.mark.runc
def test_runc_refuses_symlinked_proc(runc, make_bundle, tmp_path):
    b = _attack_bundle(make_bundle, tmp_path)
    r = runc.run(b)
    assert r.code != 0 and "must be mounted on ordinary directory" in r.err, r
    assert "ESCALATED" not in r.out


def _bounding(caps):
    from pyrunc.linux.capnames import CAP_NAMES
    return sum(1 << CAP_NAMES.index(c) for c in caps)


def test_fake_cap_last_cap_cannot_keep_the_bounding_set(pyrunc, make_bundle, tmp_path):
    """Defence in depth: a container with no /proc mount at all, whose image has a fake
    /proc/sys/kernel/cap_last_cap saying 0. The bounding set must still be the config's, for
    the init and for an exec'd process (both read the count before entering)."""
    b = make_bundle("sleep", "300")
    _fake_proc(os.path.join(b.rootfs, "proc"), "/tmp")
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/proc"]
    b.config["linux"]["maskedPaths"] = []
    b.config["linux"]["readonlyPaths"] = []
    b.config["process"]["noNewPrivileges"] = False
    b.write()
    cid = new_id()
    pyrunc.cmd("run", "--detach", "--bundle", b.path, cid, check=True)
    want = _bounding(b.config["process"]["capabilities"]["bounding"])
    pid = pyrunc.state(cid)["pid"]
    assert int(status_field(pid, "CapBnd"), 16) == want
    assert int(status_field(pid, "CapEff"), 16) & ~want == 0
    r = pyrunc.cmd("exec", cid, "sh", "-c", ESCALATION)
    assert r.code == 0 and "ESCALATED" not in r.out, r
    pidfile = str(tmp_path / "exec.pid")
    r = pyrunc.cmd("exec", "--detach", "--pid-file", pidfile, cid, "sleep", "30")
    assert r.code == 0, r
    with open(pidfile) as f:
        assert int(status_field(int(f.read()), "CapBnd"), 16) == want


def test_masking_needs_a_real_procfs(pyrunc, make_bundle):
    """No /proc mount, the image's /proc is a fake tree with /proc/self/fd/N links: masking
    (which mounts onto /proc/self/fd/N) must refuse rather than follow them."""
    b = make_bundle("true")
    _fake_proc(os.path.join(b.rootfs, "proc"), "/tmp")
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/proc"]
    b.write()
    msg = one_line_error(pyrunc.run(b))
    assert "/proc in the container is not a procfs mount" in msg
