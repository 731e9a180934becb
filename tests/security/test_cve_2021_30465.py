"""CVE-2021-30465: a symlink-exchange race on mount destinations puts a mount outside the
rootfs.

A container shares a volume with a second, attacker-controlled one; the victim's config has
the volume at /vol and another mount *through* it (/vol/a/target). runc resolved the
destination safely (securejoin) but then mounted on the resulting *path string*; meanwhile the
attacker kept swapping /vol/a (a directory) with a symlink to a host path with
renameat2(RENAME_EXCHANGE), so that between check and use the string went through the
symlink and the mount landed on the host's filesystem (in runc's mount namespace, before
pivot_root), a host directory then becoming reachable from the container.

pyrunc: paths.py resolves every destination with openat2(RESOLVE_IN_ROOT |
RESOLVE_NO_MAGICLINKS) into an O_PATH fd and mounts onto /proc/self/fd/N: what is mounted on
is exactly what was resolved, and a symlink (even one swapped in mid-way) resolves inside the
rootfs. mounts.py ``check_destination`` also rejects a destination that resolves onto the
rootfs itself or into /proc.

runc 1.1.5: fixed in 1.0.0-rc95 (it mounts through /proc/self/fd too), not vulnerable. The
vulnerable pattern (check the resolved path, then mount the string) is simulated below in a
private mount namespace to show that the race is winnable on this machine.
"""

import os
import subprocess
import sys
import time

from tests.helpers import new_id
from tests.security.common import Swapper, container_mounts, host_mounts, one_line_error, tree


def _setup(tmp_path):
    vol = tmp_path / "vol"          # the shared volume
    host = tmp_path / "hostvictim"  # a host directory the attacker aims at
    (vol / "a").mkdir(parents=True)
    (host / "target").mkdir(parents=True)
    (host / "canary").write_text("untouched\n")
    os.symlink(str(host), str(vol / "b"))
    return str(vol), str(host)


def test_mount_destination_swap_race_stays_inside_rootfs(pyrunc, make_bundle, tmp_path):
    vol, host = _setup(tmp_path)
    b = make_bundle("sleep", "300")
    b.config["mounts"] += [
        {"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind"]},
        {"destination": "/vol/a/target", "type": "tmpfs", "source": "tmpfs",
         "options": ["size=1m"]},
    ]
    b.write()
    before_tree = tree(host)
    before_mounts = host_mounts(str(tmp_path))
    created = failed = 0
    with Swapper(os.path.join(vol, "a"), os.path.join(vol, "b")) as sw:
        deadline = time.monotonic() + 20
        for _ in range(25):
            if time.monotonic() > deadline:
                break
            cid = new_id("race")
            r = pyrunc.cmd("create", "--bundle", b.path, cid)
            if r.code != 0:
                failed += 1
                one_line_error(r)
                continue
            created += 1
            pid = pyrunc.state(cid)["pid"]
            tmpfs_at = [mp for mp, fs in container_mounts(pid) if fs == "tmpfs" and
                        mp.endswith("/target")]
            pyrunc.cmd("delete", "--force", cid, check=True)
            # the tmpfs is in the volume (under whichever name the swapper left its
            # directory) or where the swapped-in symlink leads *inside the rootfs*
            # (RESOLVE_IN_ROOT roots the absolute link there)
            assert tmpfs_at and all(mp.startswith(("/vol/", host + "/"))
                                    for mp in tmpfs_at), tmpfs_at
            assert tree(host) == before_tree
            assert host_mounts(str(tmp_path)) == before_mounts
    assert sw.swaps > 1000 and created > 0, (sw.swaps, created, failed)
    assert tree(host) == before_tree  # nothing created or mounted in the host's directory
    assert host_mounts(str(tmp_path)) == before_mounts


def test_destination_symlink_to_the_root_is_refused(pyrunc, make_bundle, tmp_path):
    """A volume path that is (or is swapped into) a symlink to "/" would mount the volume
    over the whole rootfs, /proc included: refused."""
    b = make_bundle("true")
    os.symlink("/", os.path.join(b.rootfs, "data"))
    b.config["mounts"].append({"destination": "/data", "type": "bind",
                               "source": str(tmp_path), "options": ["rbind"]})
    b.write()
    msg = one_line_error(pyrunc.run(b))
    assert "root of the container" in msg


# The vulnerable pattern, in a private mount namespace of a child process (the host's mounts
# are never touched): check the resolved path, then mount the string.
_NAIVE = r"""
import ctypes, os, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
rootfs, vol, host = sys.argv[1:4]
assert libc.unshare(0x00020000) == 0                      # CLONE_NEWNS
assert libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None) == 0  # MS_REC|MS_PRIVATE
assert libc.mount(vol.encode(), (rootfs + "/vol").encode(), None, 0x1000, None) == 0
stop = False
def swap():
    a, b = (vol + "/a").encode(), (vol + "/b").encode()
    while not stop:
        libc.renameat2(-100, a, -100, b, 2)
threading.Thread(target=swap, daemon=True).start()
escapes = 0
dest = rootfs + "/vol/a/target"
for _ in range(3000):
    try:
        if not os.path.realpath(dest).startswith(rootfs + "/"):
            continue                                     # the check: looks fine...
    except OSError:
        continue
    if libc.mount(b"tmpfs", dest.encode(), b"tmpfs", 0, None) != 0:
        continue
    if os.path.ismount(host + "/target"):                # ...the use: landed on the host
        escapes += 1
        libc.umount2((host + "/target").encode(), 2)
    else:
        for p in (vol + "/a/target", vol + "/b/target"):
            libc.umount2(p.encode(), 2)
stop = True
print(escapes)
"""


def test_simulated_check_then_mount_runtime_is_raced(tmp_path, rootfs_template):
    vol, host = _setup(tmp_path)
    (tmp_path / "vol" / "a" / "target").mkdir()
    rootfs = tmp_path / "rootfs"
    (rootfs / "vol").mkdir(parents=True)
    out = subprocess.run([sys.executable, "-c", _NAIVE, str(rootfs), vol, host],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out
    assert int(out.stdout) > 0, "the race was never won: %r" % out
    assert not os.path.ismount(os.path.join(host, "target"))  # private namespace only
