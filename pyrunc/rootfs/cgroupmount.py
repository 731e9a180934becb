"""A ``cgroup`` mount in the container: its own cgroup, seen as the root of the hierarchy.

On a pure v2 host that is one cgroup2 mount (a new one in a private cgroup namespace, or a bind
of the container's cgroup directory otherwise). On a v1 or hybrid host it is a tmpfs holding
one directory per hierarchy (cpu, memory, ..., systemd, and unified on hybrid hosts), each a
bind of the container's cgroup in that hierarchy, or a fresh mount of it when the container
has its own cgroup namespace; co-mounted controllers get symlinks (cpu -> cpu,cpuacct).
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc.linux import consts as C
from pyrunc.linux import libc
from pyrunc.rootfs import mounts, paths


def _dirname(key):
    if key == "":
        return "unified"
    if key.startswith("name="):
        return key[5:]
    return key


def mount_cgroup(rootfd, dest, mo, ctx):
    flags = mo.flags & ~(C.MS_REMOUNT | C.MS_BIND | C.MS_REC)
    hier = ctx.cgroup_mounts      # {key: host mountpoint}
    own = ctx.wait_cgroups()      # {key: host dir of the container's cgroup}, made
    if list(hier) == [""]:        # pure cgroup v2
        tfd = paths.ensure_target(rootfd, dest, True)
        try:
            mounts.check_destination(rootfd, tfd, {"destination": dest, "type": "cgroup"})
            target = paths.fd_path(tfd)
            if ctx.new_cgroupns:
                libc.mount("cgroup2", target, "cgroup2", flags)
            else:
                libc.mount(own.get("", hier[""]), target, None, C.MS_BIND | C.MS_REC)
        finally:
            os.close(tfd)
        if not ctx.new_cgroupns:
            _remount(rootfd, dest, flags)
        return
    tfd = paths.ensure_target(rootfd, dest, True)
    try:
        mounts.check_destination(rootfd, tfd, {"destination": dest, "type": "cgroup"})
        libc.mount("tmpfs", paths.fd_path(tfd), "tmpfs",
                   flags & ~C.MS_RDONLY, "mode=755")
    finally:
        os.close(tfd)
    for key, mnt in hier.items():
        sub = dest.rstrip("/") + "/" + _dirname(key)
        sfd = paths.ensure_target(rootfd, sub, True)
        try:
            target = paths.fd_path(sfd)
            if ctx.new_cgroupns:
                if key == "":
                    libc.mount("cgroup2", target, "cgroup2", flags)
                else:
                    # runc names a named hierarchy's source after it ("systemd")
                    libc.mount(key[5:] if key.startswith("name=") else "cgroup", target,
                               "cgroup", flags, key)
            else:
                libc.mount(own.get(key, mnt), target, None, C.MS_BIND | C.MS_REC)
        finally:
            os.close(sfd)
        if not ctx.new_cgroupns:
            _remount(rootfd, sub, flags)
        if "," in key:
            dfd = paths.open_in_root(rootfd, dest, C.O_PATH | os.O_DIRECTORY)
            try:
                d = os.open(paths.fd_path(dfd), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    for ctrl in key.split(","):
                        try:
                            os.symlink(key, ctrl, dir_fd=d)
                        except FileExistsError:
                            pass
                finally:
                    os.close(d)
            finally:
                os.close(dfd)
    if flags & C.MS_RDONLY:
        tfd = paths.open_in_root(rootfd, dest)
        try:
            libc.mount(None, paths.fd_path(tfd), None, C.MS_REMOUNT | flags, "mode=755")
        finally:
            os.close(tfd)


def _remount(rootfd, path, flags):
    """Apply ro/nosuid/... to the bind just made (re-resolved: the old fd names what it covers)."""
    fd = paths.open_in_root(rootfd, path)
    try:
        mounts.remount_bind(paths.fd_path(fd), flags)
    finally:
        os.close(fd)
