"""CVE-2025-52881: the runtime's writes to /proc redirected elsewhere.

A runtime writes to /proc while setting a container up: sysctls (/proc/sys/...), the LSM
label (/proc/self/attr/...), oom_score_adj. If what is at those paths is not the kernel's
file -- a tmpfs mounted over /proc/sys by the config, a symlink or bind mount placed by the
image or a racing container with a shared volume -- the write lands in a dummy file (the
setting silently not applied: an AppArmor profile never loaded) or, worse, in *another*
procfs file which passes an "is it procfs?" check (/proc/sysrq-trigger, core_pattern).

pyrunc:
* init.py ``_sysctl``: /proc must be a procfs root (paths.require_procfs); each key is opened
  from /proc/sys with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
  RESOLVE_NO_XDEV) -- no symlink, no mount crossing, no leaving /proc/sys -- and the file is
  checked to be on procfs before the write;
* mounts.py ``check_destination``: nothing but lxcfs's files may be mounted inside /proc;
* attrs.py ``set_oom_score_adj`` writes before the pivot, to the host's /proc (tested: the
  container's image can't intercept it);
* finalize.py ``apparmor_on_exec``: same openat2 discipline from a checked procfs (this host
  has no LSM enabled, so that path is not exercised by a test here).

runc 1.1.5: VULNERABLE (fixed in 1.2.8/1.3.3): with a tmpfs on /proc/sys/net/ipv4 in the
config it writes net.ipv4.ip_forward into a file it creates on that tmpfs (test below).
"""

import os

import pytest

from tests.helpers import new_id
from tests.security.common import one_line_error

PROBE = ("stat -f -c %T /proc/sys/net/ipv4/ip_forward; cat /proc/sys/net/ipv4/ip_forward; "
         "echo")


def _tmpfs_over_sysctl_dir(make_bundle):
    b = make_bundle("sh", "-c", PROBE)
    b.config["mounts"].append({"destination": "/proc/sys/net/ipv4", "type": "tmpfs",
                               "source": "tmpfs", "options": ["size=1m"]})
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    return b.write()


def test_sysctl_write_not_redirected_to_a_tmpfs(pyrunc, make_bundle):
    r = pyrunc.run(_tmpfs_over_sysctl_dir(make_bundle))
    assert "tmpfs" not in r.out
    assert "inside /proc" in one_line_error(r)


@pytest.mark.runc
def test_runc_writes_the_sysctl_into_the_tmpfs(runc, make_bundle):
    """runc 1.1.5: the mount is accepted and the sysctl goes to a file on the tmpfs."""
    r = runc.run(_tmpfs_over_sysctl_dir(make_bundle))
    assert r.code == 0 and r.out.split() == ["tmpfs", "1"], r


def test_sysctls_are_really_set(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", PROBE)
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1",
                                   "net/ipv4/conf/lo/forwarding": "1"}
    b.write()
    r = pyrunc.run(b)
    assert r.code == 0 and r.out.split() == ["proc", "1"], r


def test_sysctl_key_cannot_climb_out_of_proc_sys(pyrunc, make_bundle, tmp_path):
    """'.' and '/' swap in sysctl keys (net/ipv4/conf/eth0.100/forwarding), so a key can
    spell '..': net.//.//.self.oom_score_adj is /proc/sys/net/../../self/oom_score_adj. It
    passes validation (a net.* key) and must still not reach /proc/self/oom_score_adj."""
    b = make_bundle("sleep", "300")
    b.config["linux"]["sysctl"] = {"net.//.//.self.oom_score_adj": "777"}
    b.write()
    cid = new_id()
    r = pyrunc.cmd("run", "--detach", "--bundle", b.path, cid)
    if r.code == 0:  # (it must not start; if it did, show what it did)
        pid = pyrunc.state(cid)["pid"]
        with open("/proc/%d/oom_score_adj" % pid) as f:
            assert f.read().strip() != "777"
    msg = one_line_error(r)
    assert "linux.sysctl[net.//.//.self.oom_score_adj]" in msg


def test_sysctl_needs_a_real_procfs(pyrunc, make_bundle):
    """No /proc mount and an image with a look-alike /proc/sys: refused, not written."""
    b = make_bundle("true")
    fake = os.path.join(b.rootfs, "proc", "sys", "net", "ipv4")
    os.makedirs(fake)
    with open(os.path.join(fake, "ip_forward"), "w") as f:
        f.write("0\n")
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/proc"]
    b.config["linux"]["maskedPaths"] = []
    b.config["linux"]["readonlyPaths"] = []
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    b.write()
    assert "not a procfs mount" in one_line_error(pyrunc.run(b))
    with open(os.path.join(fake, "ip_forward")) as f:
        assert f.read() == "0\n"


def test_oom_score_adj_reaches_the_kernel(pyrunc, make_bundle):
    """Written before the pivot, through the host's /proc: an image /proc tree (no proc
    mount) with its own self/oom_score_adj does not intercept it."""
    b = make_bundle("sleep", "300")
    fake = os.path.join(b.rootfs, "proc", "self")
    os.makedirs(fake)
    with open(os.path.join(fake, "oom_score_adj"), "w") as f:
        f.write("0\n")
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/proc"]
    b.config["linux"]["maskedPaths"] = []
    b.config["linux"]["readonlyPaths"] = []
    b.config["process"]["oomScoreAdj"] = 123
    b.write()
    cid = new_id()
    pyrunc.cmd("run", "--detach", "--bundle", b.path, cid, check=True)
    with open("/proc/%d/oom_score_adj" % pyrunc.state(cid)["pid"]) as f:
        assert f.read().strip() == "123"
    with open(os.path.join(fake, "oom_score_adj")) as f:
        assert f.read() == "0\n"
