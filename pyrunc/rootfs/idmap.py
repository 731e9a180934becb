"""Idmapped bind mounts (runtime-spec: ``uidMappings``/``gidMappings`` on a mount, options
``idmap``/``ridmap``).

Made on the runtime's side, before the init forks, because the mapping is written in host ids:
a throw-away child unshares a user namespace, we write its maps, keep an fd of it; the source
is cloned as a detached mount (open_tree OPEN_TREE_CLONE) and marked MOUNT_ATTR_IDMAP with that
namespace (mount_setattr). The init later moves the detached mount onto its destination inside
the rootfs (move_mount), resolving the destination like every other mount.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc.errors import PyruncError
from pyrunc.linux import consts as C

AT_FDCWD = -100
OPEN_TREE_CLONE = 1
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOVE_MOUNT_T_EMPTY_PATH = 0x40
MOUNT_ATTR_IDMAP = 0x100000


def wants_idmap(m):
    opts = m.get("options") or ()
    return bool(m.get("uidMappings") or m.get("gidMappings") or "idmap" in opts
                or "ridmap" in opts)


def _libc():
    # imported when there is an idmapped mount: create's parent imports this module for
    # wants_idmap, and cffi costs it ~0.8 MiB of RSS (its peak is measured against runc's)
    from pyrunc.linux import libc
    return libc


def userns_fd(uid_maps, gid_maps):
    """An fd of a new user namespace with the given maps (the process that made it is gone)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(w)
            _libc().unshare(C.CLONE_NEWUSER)
            os.read(r, 1)  # wait until the parent has written the maps and opened the ns
        finally:
            os._exit(0)
    os.close(r)
    try:
        # the child may not have unshared yet: wait until its user ns differs from ours
        mine = os.stat("/proc/self/ns/user").st_ino
        for _ in range(10000):
            if os.stat("/proc/%d/ns/user" % pid).st_ino != mine:
                break
            os.sched_yield()
        for name, maps in (("uid_map", uid_maps), ("gid_map", gid_maps)):
            with open("/proc/%d/%s" % (pid, name), "w") as f:
                f.write("".join("%d %d %d\n" % (m["containerID"], m["hostID"], m["size"])
                                for m in maps))
        return os.open("/proc/%d/ns/user" % pid, os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(w)
        os.waitpid(pid, 0)


def prepare(config, bundle):
    """{mount index: detached idmapped mount fd} for every idmapped mount of the config."""
    out = {}
    linux = config.get("linux") or {}
    try:
        for i, m in enumerate(config.get("mounts") or ()):
            if not wants_idmap(m):
                continue
            uid_maps = m.get("uidMappings") or linux.get("uidMappings") or ()
            gid_maps = m.get("gidMappings") or linux.get("gidMappings") or ()
            if not uid_maps or not gid_maps:
                raise PyruncError("mounts[%d]: an idmapped mount needs uidMappings and "
                                  "gidMappings (on the mount or in linux)" % i)
            src = m.get("source") or ""
            if not os.path.isabs(src):
                src = os.path.join(bundle, src)
            opts = m.get("options") or ()
            # rbind clones the submounts too; only ridmap maps them (idmap: the top one)
            recursive = "rbind" in opts or "ridmap" in opts
            map_recursive = "ridmap" in opts
            try:
                nsfd = userns_fd(uid_maps, gid_maps)
            except OSError as e:
                raise PyruncError("mounts[%d]: creating the id mapping: %s" % (i, e.strerror))
            try:
                from pyrunc.linux._libc_ffi import ffi
                libc = _libc()
                try:
                    tree = libc.syscall("open_tree", AT_FDCWD, ffi.new("char[]", src.encode()),
                                        OPEN_TREE_CLONE | os.O_CLOEXEC |
                                        (AT_RECURSIVE if recursive else 0))
                except OSError as e:
                    raise PyruncError("mounts[%d] (%s): open_tree %s: %s" % (
                        i, m.get("destination"), src, e.strerror)) from None
                # the clone is made here, in the runtime's mount namespace: of a shared source
                # it would be a peer, and mounts would propagate between the container and
                # the host both ways. As a slave it is what a plain bind in the container is
                # (its namespace is made a slave of ours): the host's mounts still reach it
                slave = ffi.new("struct mount_attr *", {"propagation": C.MS_SLAVE})
                attr = ffi.new("struct mount_attr *", {"attr_set": MOUNT_ATTR_IDMAP,
                                                       "userns_fd": nsfd})
                try:
                    libc.syscall("mount_setattr", tree, ffi.new("char[]", b""),
                                 AT_EMPTY_PATH | (AT_RECURSIVE if recursive else 0), slave,
                                 ffi.sizeof("struct mount_attr"))
                    libc.syscall("mount_setattr", tree, ffi.new("char[]", b""),
                                 AT_EMPTY_PATH | (AT_RECURSIVE if map_recursive else 0), attr,
                                 ffi.sizeof("struct mount_attr"))
                except OSError as e:
                    os.close(tree)
                    raise PyruncError(
                        "mounts[%d] (%s): idmapped mounts are not supported for %s here: %s"
                        % (i, m.get("destination"), src, e.strerror)) from None
                out[i] = tree
            finally:
                os.close(nsfd)
    except BaseException:
        for fd in out.values():
            os.close(fd)
        raise
    return out


def move_into(tree_fd, target_fd):
    from pyrunc.linux._libc_ffi import ffi
    empty = ffi.new("char[]", b"")
    _libc().syscall("move_mount", tree_fd, empty, target_fd, empty,
                    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
