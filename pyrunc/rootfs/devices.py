"""/dev inside the container: default devices, ``linux.devices``, ptmx and the /dev links.

Nodes are made with mknod; inside a user namespace mknod is not allowed, so the host's node
is bind-mounted onto an empty file instead (as runc does).
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
import stat

from pyrunc.errors import PyruncError
from pyrunc.linux import consts as C
from pyrunc.linux import libc
from pyrunc.rootfs import paths

# (path, type, major, minor): what every container gets, whatever the config says
DEFAULT_DEVICES = (
    ("/dev/null", "c", 1, 3),
    ("/dev/zero", "c", 1, 5),
    ("/dev/full", "c", 1, 7),
    ("/dev/random", "c", 1, 8),
    ("/dev/urandom", "c", 1, 9),
    ("/dev/tty", "c", 5, 0),
)

LINKS = (
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
)

_TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


def _parent_dir_fd(rootfd, path):
    parent, name = os.path.split(path)
    pfd = paths.mkdir_all(rootfd, parent)
    try:
        return os.open(paths.fd_path(pfd), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), name
    finally:
        os.close(pfd)


def make_node(rootfd, path, typ, major, minor, mode=0o666, uid=0, gid=0, bind=False):
    dfd, name = _parent_dir_fd(rootfd, path)
    try:
        try:
            os.unlink(name, dir_fd=dfd)
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            raise PyruncError("%s: is a directory" % path) from None
        if bind:
            fd = os.open(name, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                         dir_fd=dfd)
            os.close(fd)
            tfd = libc.openat2(dfd, name, C.O_PATH, C.RESOLVE_BENEATH | C.RESOLVE_NO_SYMLINKS)
            try:
                libc.mount(path, paths.fd_path(tfd), None, C.MS_BIND)
            finally:
                os.close(tfd)
            return
        libc.mknodat(dfd, name, _TYPES[typ] | (mode & 0o7777), os.makedev(major, minor))
        os.chown(name, uid, gid, dir_fd=dfd, follow_symlinks=False)
    finally:
        os.close(dfd)


def setup_dev(rootfd, config, in_userns):
    """Create the default devices, the config's devices, the /dev links and /dev/ptmx."""
    old = os.umask(0)
    try:
        configured = {d["path"] for d in (config.get("linux") or {}).get("devices") or ()}
        for path, typ, major, minor in DEFAULT_DEVICES:
            if path not in configured:
                make_node(rootfd, path, typ, major, minor, 0o666, 0, 0, in_userns)
        for i, d in enumerate((config.get("linux") or {}).get("devices") or ()):
            try:
                make_node(rootfd, d["path"], d["type"], d.get("major", 0), d.get("minor", 0),
                          d.get("fileMode", 0o666), d.get("uid", 0), d.get("gid", 0),
                          in_userns and d["type"] != "p")
            except OSError as e:
                raise PyruncError("linux.devices[%d] (%s): %s" % (i, d["path"], e.strerror))
        dfd = paths.mkdir_all(rootfd, "/dev")
        try:
            dev = os.open(paths.fd_path(dfd), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        finally:
            os.close(dfd)
        try:
            for target, link in LINKS:
                name = os.path.basename(link)
                try:
                    os.symlink(target, name, dir_fd=dev)
                except FileExistsError:
                    pass
            # /dev/ptmx -> pts/ptmx so the container's own devpts instance is used
            try:
                os.unlink("ptmx", dir_fd=dev)
            except FileNotFoundError:
                pass
            os.symlink("pts/ptmx", "ptmx", dir_fd=dev)
        finally:
            os.close(dev)
    finally:
        os.umask(old)


def dev_is_bind_mounted(config):
    for m in config.get("mounts") or ():
        if m.get("destination", "").rstrip("/") == "/dev":
            opts = m.get("options") or ()
            return m.get("type") == "bind" or "bind" in opts or "rbind" in opts
    return False
