"""Resolving container paths inside the rootfs, never outside it.

A rootfs is untrusted: any component of a mount destination may be a symlink (to ``/``, to
``../../etc``, or swapped in a race, CVE-2021-30465). Every lookup therefore goes through
openat2(2) with RESOLVE_IN_ROOT, which makes the kernel treat the rootfs as ``/`` for ``..``
and absolute symlinks alike, and with RESOLVE_NO_MAGICLINKS so /proc/*/fd links can't escape.
Mounts are then done onto ``/proc/self/fd/N`` of the opened O_PATH descriptor, so what gets
mounted on is exactly what was resolved.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
import stat

from pyrunc.linux import consts as C
from pyrunc.linux import libc

RESOLVE = C.RESOLVE_IN_ROOT | C.RESOLVE_NO_MAGICLINKS


def fd_path(fd):
    return "/proc/self/fd/%d" % fd


def open_in_root(rootfd, path, flags=C.O_PATH):
    return libc.openat2(rootfd, path.lstrip("/") or ".", flags, RESOLVE)


def _link_target(rootfd, dfd, name, depth):
    """The container path the symlink ``name`` (in directory ``dfd``) points to, or None if
    it is not a symlink. A dangling symlink in the rootfs is followed inside the root when
    creating a mount target, as runc does (SecureJoin), instead of failing."""
    if depth > 40:
        raise OSError(40, "Too many levels of symbolic links", name)
    try:
        target = os.readlink(name, dir_fd=dfd)
    except OSError:
        return None
    if not target.startswith("/"):
        # relative to the link's directory, whose real path has no symlinks left
        root = os.readlink(fd_path(rootfd)).rstrip("/")
        here = os.readlink(fd_path(dfd))
        here = here[len(root):] if here.startswith(root + "/") else "/"
        target = os.path.join(here, target)
    return os.path.normpath("/" + target.lstrip("/"))  # ".." above / stays at /


def mkdir_all(rootfd, path, mode=0o755, _depth=0):
    """mkdir -p ``path`` inside the root; returns an O_PATH fd of the final directory."""
    try:
        fd = open_in_root(rootfd, path, C.O_PATH | os.O_DIRECTORY)
        return fd
    except FileNotFoundError:
        pass
    parent, name = os.path.split(path.rstrip("/"))
    if not name or name in (".", ".."):
        raise OSError(20, "Not a directory", path)
    pfd = mkdir_all(rootfd, parent or "/", mode, _depth)
    follow = None
    try:
        # O_PATH fds can't be used with mkdirat: open the parent for real (a directory)
        dfd = os.open(fd_path(pfd), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            try:
                os.mkdir(name, mode, dir_fd=dfd)
            except FileExistsError:
                follow = _link_target(rootfd, dfd, name, _depth)
        finally:
            os.close(dfd)
    finally:
        os.close(pfd)
    if follow is not None:
        os.close(mkdir_all(rootfd, follow, mode, _depth + 1))
    return open_in_root(rootfd, path, C.O_PATH | os.O_DIRECTORY)


def ensure_target(rootfd, path, is_dir=True, mode=0o755, _depth=0):
    """Create the mount target (a directory, or an empty file for file bind mounts) and return
    an O_PATH fd of it, resolved inside the root."""
    if is_dir:
        return mkdir_all(rootfd, path, mode, _depth)
    try:
        return open_in_root(rootfd, path, C.O_PATH)
    except FileNotFoundError:
        pass
    parent, name = os.path.split(path.rstrip("/"))
    pfd = mkdir_all(rootfd, parent or "/", mode, _depth)
    follow = None
    try:
        dfd = os.open(fd_path(pfd), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fd = os.open(name, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                         dir_fd=dfd)
            os.close(fd)
        except FileExistsError:
            pass
        except OSError as e:
            if e.errno != 40:  # ELOOP: name is a (dangling) symlink
                raise
            follow = _link_target(rootfd, dfd, name, _depth)
        finally:
            os.close(dfd)
    finally:
        os.close(pfd)
    if follow is not None:
        os.close(ensure_target(rootfd, follow, False, mode, _depth + 1))
    return open_in_root(rootfd, path, C.O_PATH)


def is_dir_fd(fd):
    return stat.S_ISDIR(os.fstat(fd).st_mode)


PROC_SUPER_MAGIC = 0x9FA0


def fs_type(fd):
    """f_type of the filesystem ``fd`` (O_PATH is fine) is on, or None."""
    from pyrunc.linux._libc_ffi import ffi
    buf = ffi.new("struct statfs_min *")
    if libc.lib.fstatfs(fd, buf) < 0:
        return None
    return buf.f_type


def is_procfs_root(fd):
    """True if ``fd`` is the root directory of a procfs instance (not a file in it, and not
    a look-alike tree an image or a volume made)."""
    return fs_type(fd) == PROC_SUPER_MAGIC and os.fstat(fd).st_ino == 1


def require_procfs(what):
    """After the pivot: check that the container's /proc is a real procfs mount.

    The runtime names its own descriptors as /proc/self/fd/N for mount(2) and writes to
    /proc files; a /proc the image or a volume provides (a symlink, a bind mount of a fake
    tree) would redirect all of that (CVE-2019-16884, CVE-2025-52881)."""
    from pyrunc.errors import PyruncError
    try:
        fd = os.open("/proc", C.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        raise PyruncError("%s: /proc in the container: %s" % (what, e.strerror)) from None
    try:
        if not is_procfs_root(fd):
            raise PyruncError("%s: /proc in the container is not a procfs mount" % what)
    finally:
        os.close(fd)


def within(root, path):
    """True if the absolute ``path`` is ``root`` or below it (string check on real paths)."""
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root + "/") or root == "/"
