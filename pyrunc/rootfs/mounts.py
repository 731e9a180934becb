"""Carrying out ``mounts[]`` inside the rootfs (before pivot_root).

Each entry's destination is resolved inside the rootfs (see paths.py), created if missing
(a directory, or an empty file when a file is bind-mounted), and mounted onto through its
``/proc/self/fd/N`` so a symlink swapped into the rootfs can't redirect the mount.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
import stat

from pyrunc.errors import PyruncError
from pyrunc.linux import consts as C
from pyrunc.linux import libc
from pyrunc.rootfs import options, paths

# flags that statvfs reports and that a bind remount must keep when they are locked
_ST_FLAGS = ((1, C.MS_RDONLY), (2, C.MS_NOSUID), (4, C.MS_NODEV), (8, C.MS_NOEXEC),
             (1024, C.MS_NOATIME), (2048, C.MS_NODIRATIME), (4096, C.MS_RELATIME))


def _current_flags(path):
    f = os.statvfs(path).f_flag
    out = 0
    for st, ms in _ST_FLAGS:
        if f & st:
            out |= ms
    return out


def remount_bind(path, flags, clear=0):
    """Remount the bind mount at ``path`` with ``flags`` (ro, nosuid...).

    A mount inherited into a user namespace has its nosuid/nodev/noexec/atime flags locked:
    a remount that drops them fails with EPERM, so on EPERM retry keeping the current ones."""
    want = (flags & ~(C.MS_REMOUNT | C.MS_BIND | C.MS_REC)) | C.MS_BIND | C.MS_REMOUNT
    try:
        libc.mount(None, path, None, want)
    except PermissionError:
        cur = _current_flags(path) & ~C.MS_RDONLY & ~clear
        libc.mount(None, path, None, want | cur)


def _mount_setattr(fd, attr_set, attr_clr, recursive=True):
    from pyrunc.linux._libc_ffi import ffi
    attr = ffi.new("struct mount_attr *", {"attr_set": attr_set, "attr_clr": attr_clr})
    AT_EMPTY_PATH, AT_RECURSIVE = 0x1000, 0x8000
    libc.syscall("mount_setattr", fd, ffi.new("char[]", b""),
                 AT_EMPTY_PATH | (AT_RECURSIVE if recursive else 0), attr,
                 ffi.sizeof("struct mount_attr"))


def _existing_dir_mode(rootfd, dest):
    """Permission bits of ``dest`` in the rootfs if it is already a directory, else None."""
    try:
        fd = paths.open_in_root(rootfd, dest)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return stat.S_IMODE(st.st_mode) if stat.S_ISDIR(st.st_mode) else None


def _copy_tree(src_dir, dst_dir):
    """tmpcopyup: copy what the image had at the destination into the new tmpfs."""
    import shutil
    for entry in os.scandir(src_dir):
        s = entry.path
        d = os.path.join(dst_dir, entry.name)
        if entry.is_symlink():
            os.symlink(os.readlink(s), d)
        elif entry.is_dir():
            st = entry.stat(follow_symlinks=False)
            os.mkdir(d, stat.S_IMODE(st.st_mode))
            _copy_tree(s, d)
            os.chown(d, st.st_uid, st.st_gid)
        elif entry.is_file():
            shutil.copy2(s, d)
            st = entry.stat(follow_symlinks=False)
            os.chown(d, st.st_uid, st.st_gid)
    st = os.stat(src_dir)
    os.chmod(dst_dir, stat.S_IMODE(st.st_mode))
    os.chown(dst_dir, st.st_uid, st.st_gid)


def readonly_later(m):
    """True for a read-only tmpfs (or /dev) mount: like runc, mount it read-write (mount points,
    devices and tmpcopyup content still go in it) and make it read-only at the end, with a bind
    remount (setup.finalize), so its superblock stays rw as under runc."""
    typ = m.get("type") or ""
    mo = options.parse(m.get("options"))
    if not mo.flags & C.MS_RDONLY or typ == "bind" or mo.flags & C.MS_BIND:
        return False
    return typ == "tmpfs" or os.path.normpath(m["destination"]) == "/dev"


def _remount(rootfd, m, typ, mo, is_bind):
    """``remount``: change the options of the mount an earlier entry (or the image's own
    mounts) put at the destination, as mount(8) and runc do -- not a new mount over it. With
    ``bind``, only the per-mount flags change (MS_BIND|MS_REMOUNT); otherwise the filesystem's
    too (its data, e.g. a tmpfs size=). Nothing mounted there is the kernel's EINVAL."""
    dest = m["destination"]
    try:
        tfd = paths.open_in_root(rootfd, dest)
    except FileNotFoundError:
        raise PyruncError("remount of %s: nothing is mounted there" % dest) from None
    try:
        check_destination(rootfd, tfd, m)
        if is_bind:
            remount_bind(paths.fd_path(tfd), mo.flags, mo.clear)
        else:
            flags = mo.flags
            if readonly_later(m):
                flags &= ~C.MS_RDONLY  # (as for a new mount: setup.finalize makes it ro)
            libc.mount(None, paths.fd_path(tfd), typ or None, flags,
                       ",".join(mo.data) or None)
        _propagate_and_setattr(tfd, mo)
    finally:
        os.close(tfd)


def _propagate_and_setattr(fd, mo):
    """The options' propagation changes and recursive attributes, on the mount at ``fd``."""
    for prop in mo.propagation:
        libc.mount(None, paths.fd_path(fd), None, prop)
    if mo.attr_set or mo.attr_clr:
        _mount_setattr(fd, mo.attr_set, mo.attr_clr)


def _after_bind(rootfd, dest, mo):
    """Flags, propagation and recursive attributes of a bind mount just made at ``dest``."""
    # the target fd used to mount names the covered directory: re-resolve to reach the mount
    nfd = paths.open_in_root(rootfd, dest)
    try:
        p = paths.fd_path(nfd)
        extra = mo.flags & ~(C.MS_BIND | C.MS_REC | C.MS_REMOUNT)
        if extra or mo.clear:
            remount_bind(p, extra, mo.clear)
        _propagate_and_setattr(nfd, mo)
    finally:
        os.close(nfd)


# files under /proc that lxcfs emulates: the only non-procfs mounts allowed inside /proc
# (runc's checkProcMount list)
_LXCFS_PROC = frozenset((
    "proc/cpuinfo", "proc/diskstats", "proc/meminfo", "proc/stat", "proc/swaps",
    "proc/uptime", "proc/loadavg", "proc/slabinfo", "proc/net/dev",
    "proc/sys/kernel/ns_last_pid",
))


def check_destination(rootfd, tfd, m, srcfd=None):
    """Refuse a mount whose destination, as resolved in the rootfs, is unsafe.

    The rootfs (and any volume in it) is untrusted: a symlinked /proc, or a volume mounted on
    /proc or over the whole rootfs, would give the container a /proc of its making, and the
    runtime reads and writes /proc after the pivot (cap_last_cap, sysctls, /proc/self/fd/N
    for masking), CVE-2019-16884, CVE-2019-19921, CVE-2023-27561, CVE-2025-52881.  So:
    proc and sysfs go on the exact destination, with no symlink on the way; nothing but a
    fresh procfs (or a bind of a procfs root) on /proc; nothing inside /proc but the files
    lxcfs emulates; nothing over the rootfs itself."""
    root = os.readlink(paths.fd_path(rootfd)).rstrip("/")
    real = os.readlink(paths.fd_path(tfd))
    if real == root:
        rel = ""
    elif real.startswith(root + "/"):
        rel = real[len(root) + 1:]
    else:  # can't happen with RESOLVE_IN_ROOT; refuse rather than guess
        raise PyruncError("destination resolves outside the rootfs (%s)" % real)
    dest = m["destination"]
    want = os.path.normpath("/" + dest).lstrip("/")
    typ = m.get("type") or ""
    is_bind = srcfd is not None
    if typ in ("proc", "sysfs") and not is_bind and rel != want:
        raise PyruncError("filesystem %s must be mounted on an ordinary directory: %s "
                          "resolves to /%s in the rootfs" % (typ, dest, rel))
    if rel == "":
        raise PyruncError("%s resolves to the root of the container itself" % dest)
    if rel == "proc":
        if typ == "proc" and not is_bind:
            return
        if is_bind and paths.is_procfs_root(srcfd):
            return
        raise PyruncError("/%s cannot be mounted because it is not of type proc" % rel)
    if rel.startswith("proc/") and rel not in _LXCFS_PROC:
        raise PyruncError("/%s cannot be mounted because it is inside /proc" % rel)


def mount_entry(rootfd, m, bundle, ctx, index=None):
    """Mount one ``mounts[]`` entry. ctx: the init's context (cgroup paths, user ns...)."""
    dest = m["destination"]
    typ = m.get("type") or ""
    src = m.get("source") or ""
    mo = options.parse(m.get("options"))
    is_bind = typ == "bind" or bool(mo.flags & C.MS_BIND)

    if typ == "cgroup" and not is_bind:
        from pyrunc.rootfs import cgroupmount
        return cgroupmount.mount_cgroup(rootfd, dest, mo, ctx)

    tree = getattr(ctx, "idmap_fds", {}).get(index) if index is not None else None
    if tree is not None:
        # an idmapped clone of the source, made by the runtime (see idmap.py)
        from pyrunc.rootfs import idmap
        tfd = paths.ensure_target(rootfd, dest, paths.is_dir_fd(tree))
        try:
            check_destination(rootfd, tfd, m, tree)
            idmap.move_into(tree, tfd)
        finally:
            os.close(tfd)
            os.close(tree)
        is_bind = True
        _after_bind(rootfd, dest, mo)
        return

    if mo.flags & C.MS_REMOUNT:
        return _remount(rootfd, m, typ, mo, is_bind)

    if is_bind:
        if not os.path.isabs(src):
            src = os.path.join(bundle, src)
        try:
            srcfd = os.open(src, C.O_PATH | os.O_CLOEXEC)
        except FileNotFoundError:
            raise PyruncError("source %s does not exist on this host (create it, or fix the "
                              "path)" % src) from None
        except OSError as e:
            raise PyruncError("source %s: %s" % (src, e.strerror)) from None
        try:
            is_dir = paths.is_dir_fd(srcfd)
            tfd = paths.ensure_target(rootfd, dest, is_dir)
            try:
                check_destination(rootfd, tfd, m, srcfd)
                if paths.is_dir_fd(tfd) != is_dir:
                    raise PyruncError("destination %s: %s" % (
                        dest, "not a directory" if is_dir else "is a directory"))
                libc.mount(paths.fd_path(srcfd), paths.fd_path(tfd), None,
                           C.MS_BIND | (mo.flags & C.MS_REC))
            finally:
                os.close(tfd)
        finally:
            os.close(srcfd)
        _after_bind(rootfd, dest, mo)
        return

    # a tmpfs over a directory the image has gets that directory's mode, as runc chmods it
    # after mounting (unless the options give mode=, which runc 1.2 honours)
    keep_mode = None
    if typ == "tmpfs" and not any(d.startswith("mode=") for d in mo.data):
        keep_mode = _existing_dir_mode(rootfd, dest)
    tfd = paths.ensure_target(rootfd, dest, True)
    try:
        check_destination(rootfd, tfd, m)
        data = ",".join(mo.data) or None
        flags = mo.flags & ~C.MS_REMOUNT
        copyup = "tmpcopyup" in mo.extensions and typ == "tmpfs"
        if readonly_later(m):
            flags &= ~C.MS_RDONLY  # filled first; setup.finalize makes it read-only
        libc.mount(src or typ, paths.fd_path(tfd), typ, flags, data)
        if copyup:
            # tfd still names the directory the tmpfs now covers: copy it from there
            nfd = paths.open_in_root(rootfd, dest)
            try:
                _copy_tree(paths.fd_path(tfd), paths.fd_path(nfd))
            finally:
                os.close(nfd)
        if keep_mode is not None:
            nfd = paths.open_in_root(rootfd, dest)
            try:
                os.chmod(paths.fd_path(nfd), keep_mode)
            finally:
                os.close(nfd)
    finally:
        os.close(tfd)
    if mo.propagation or mo.attr_set or mo.attr_clr:
        nfd = paths.open_in_root(rootfd, dest)
        try:
            _propagate_and_setattr(nfd, mo)
        finally:
            os.close(nfd)
