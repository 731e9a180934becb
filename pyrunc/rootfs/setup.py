"""The order of rootfs work inside the new mount namespace (as runtime-spec and runc do it).

prepare(): make the host's mounts stop receiving ours (rslave or rootfsPropagation), bind the
rootfs onto itself (pivot_root needs a mount point), carry out ``mounts[]`` in order, populate
/dev.  enter(): pivot_root (or MS_MOVE + chroot with --no-pivot).  finalize(): root.readonly,
readonlyPaths, maskedPaths — after the pivot, on the container's own paths.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
import stat

from pyrunc.errors import PyruncError
from pyrunc.linux import consts as C
from pyrunc.linux import libc
from pyrunc.rootfs import devices, mounts, options, paths


def _mount_of(path):
    """(mount point, optional fields) of the mount containing ``path``."""
    best = ("/", [])
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left = line.split(" - ")[0].split()
            mp = left[4].replace("\\040", " ")
            if paths.within(mp, path) and len(mp) >= len(best[0]):
                best = (mp, left[6:])
    return best


def prepare(config, rootfs, bundle, ctx):
    """Everything before the pivot; returns an O_PATH fd of the rootfs."""
    linux = config.get("linux") or {}
    prop = linux.get("rootfsPropagation")
    flag = options.PROPAGATION[prop] if prop else C.MS_SLAVE | C.MS_REC
    libc.mount(None, "/", None, flag)
    # pivot_root refuses a new root whose parent mount is shared
    mp, optional = _mount_of(rootfs)
    if any(o.startswith("shared:") for o in optional):
        libc.mount(None, mp, None, C.MS_PRIVATE)
    try:
        libc.mount(rootfs, rootfs, "bind", C.MS_BIND | C.MS_REC)
    except PermissionError:
        if not ctx.in_userns:
            raise
        raise PyruncError("root.path %s: not reachable by the container's root user (host id "
                          "%s): every directory on the way must be searchable by it, and the "
                          "rootfs owned by the mapped ids" % (
                              rootfs, _mapped_root(config))) from None
    rootfd = os.open(rootfs, C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    for i, m in enumerate(config.get("mounts") or ()):
        try:
            mounts.mount_entry(rootfd, m, bundle, ctx, i)
        except PyruncError as e:
            raise PyruncError("mounts[%d] (%s): %s" % (i, m.get("destination"), e)) from None
        except OSError as e:
            raise PyruncError("mounts[%d] (%s on %s): %s" % (
                i, m.get("type") or "bind", m.get("destination"), explain_mount_error(m, e))) \
                from None
    if not devices.dev_is_bind_mounted(config):
        devices.setup_dev(rootfd, config, ctx.in_userns)
    cwd = (config.get("process") or {}).get("cwd")
    if cwd:
        try:
            # inside the rootfs, no magic link: /proc/self/fd/N can't lead out (CVE-2024-21626)
            os.close(paths.mkdir_all(rootfd, cwd))
        except OSError as e:
            raise PyruncError("process.cwd %s: %s" % (cwd, e.strerror)) from None
    return rootfd


def explain_mount_error(m, e):
    """The kernel's errno for a failed mount, said in terms of the config entry."""
    typ = m.get("type") or "bind"
    if e.errno == 19:  # ENODEV
        return "filesystem %r is not available in this kernel (see /proc/filesystems)" % typ
    if e.errno == 22 and m.get("options"):  # EINVAL
        return "the kernel rejected the options %s: %s" % (",".join(m["options"]), e.strerror)
    if e.errno == 1 and typ in ("sysfs", "proc", "mqueue", "cgroup", "cgroup2"):  # EPERM
        return ("%s: mounting %s needs a namespace this container owns (rootless configs "
                "bind-mount it instead, see `pyrunc spec --rootless`)" % (e.strerror, typ))
    if e.errno == 2 and e.filename:
        return "%s: %s" % (e.filename, e.strerror)
    return e.strerror


def _mapped_root(config):
    for m in (config.get("linux") or {}).get("uidMappings") or ():
        if m["containerID"] == 0:
            return m["hostID"]
    return "unmapped"


def enter(rootfs, no_pivot):
    if no_pivot:
        os.chdir(rootfs)
        libc.mount(rootfs, "/", None, C.MS_MOVE)
        os.chroot(".")
        os.chdir("/")
        return
    oldroot = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    newroot = os.open(rootfs, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fchdir(newroot)
        libc.pivot_root(".", ".")
        # the old root is now stacked under "."; detach it without touching the host's mounts
        os.fchdir(oldroot)
        libc.mount(None, ".", None, C.MS_SLAVE | C.MS_REC)
        libc.umount2(".", C.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(oldroot)
        os.close(newroot)


def finalize(config):
    """After the pivot: propagation of /, read-only root, readonlyPaths, maskedPaths."""
    linux = config.get("linux") or {}
    prop = linux.get("rootfsPropagation")
    if prop:
        libc.mount(None, "/", None, options.PROPAGATION[prop])
    if linux.get("readonlyPaths") or linux.get("maskedPaths") or any(
            mounts.readonly_later(m) for m in config.get("mounts") or ()):
        # what follows mounts onto /proc/self/fd/N: that must be the kernel's procfs
        paths.require_procfs("linux.maskedPaths/readonlyPaths")
    for i, m in enumerate(config.get("mounts") or ()):
        if mounts.readonly_later(m):
            fd = _open_nofollow(m["destination"])
            try:
                mounts.remount_bind(paths.fd_path(fd),
                                    options.parse(m.get("options")).flags | C.MS_RDONLY)
            except OSError as e:
                raise PyruncError("mounts[%d] (%s): remounting read-only: %s" % (
                    i, m["destination"], e.strerror)) from None
            finally:
                os.close(fd)
    if (config.get("root") or {}).get("readonly"):
        mounts.remount_bind("/", C.MS_RDONLY)
    for i, p in enumerate(linux.get("readonlyPaths") or ()):
        try:
            readonly_path(p)
        except OSError as e:
            raise PyruncError("linux.readonlyPaths[%d] (%s): %s" % (i, p, e.strerror)) from None
    for i, p in enumerate(linux.get("maskedPaths") or ()):
        try:
            mask_path(p, _mount_label(linux))
        except OSError as e:
            raise PyruncError("linux.maskedPaths[%d] (%s): %s" % (i, p, e.strerror)) from None


def _open_nofollow(path):
    """O_PATH fd of ``path`` in the container, resolved inside / without magic links."""
    rootfd = os.open("/", C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return paths.open_in_root(rootfd, path)
    finally:
        os.close(rootfd)


def _mount_label(linux):
    """linux.mountLabel is an SELinux context: without SELinux runc leaves it out, as we do."""
    label = linux.get("mountLabel")
    if label and os.path.exists("/sys/fs/selinux/enforce"):
        return label
    return None


def readonly_path(path):
    try:
        fd = _open_nofollow(path)
    except FileNotFoundError:
        return
    try:
        p = paths.fd_path(fd)
        libc.mount(p, p, None, C.MS_BIND | C.MS_REC)
    finally:
        os.close(fd)
    fd = _open_nofollow(path)
    try:
        p = paths.fd_path(fd)
        # keep the nosuid/nodev/noexec the path had (runc's readonlyPath does the same): a
        # read-only /proc/sys must not become exec/suid/dev where /proc was not
        keep = mounts._current_flags(p) & (C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC)
        mounts.remount_bind(p, C.MS_RDONLY | C.MS_REC | keep)
    finally:
        os.close(fd)


def _dev_null_fd():
    """An O_PATH fd of the container's /dev/null, checked to really be the null device.

    A container image could make /dev/null a symlink or another file and have it bind-mounted
    over /proc/sysrq-trigger etc. (CVE-2025-31133): only char device 1:3 is accepted."""
    fd = _open_nofollow("/dev/null")
    st = os.fstat(fd)
    if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(1, 3):
        os.close(fd)
        raise PyruncError("/dev/null in the container is not the null device; refusing to "
                          "mask paths with it")
    return fd


def mask_path(path, label=None):
    try:
        fd = _open_nofollow(path)
    except FileNotFoundError:
        return
    try:
        if paths.is_dir_fd(fd):
            libc.mount("tmpfs", paths.fd_path(fd), "tmpfs", C.MS_RDONLY,
                       ("context=%s" % label) if label else None)
        else:
            nfd = _dev_null_fd()
            try:
                libc.mount(paths.fd_path(nfd), paths.fd_path(fd), None, C.MS_BIND)
            finally:
                os.close(nfd)
    finally:
        os.close(fd)
