"""runtime-spec mount options -> mount(2) flags, propagation, recursive attrs and data.

The table is the one in config.md ("Mounts", options), the same as runc's. Options that are not
flags are passed to the filesystem as its data string (``mode=755``, ``size=65536k``...).
"""

from pyrunc.linux import consts as C

# name: (clear?, flag)
FLAGS = {
    "async": (True, C.MS_SYNCHRONOUS),
    "atime": (True, C.MS_NOATIME),
    "bind": (False, C.MS_BIND),
    "defaults": (False, 0),
    "dev": (True, C.MS_NODEV),
    "diratime": (True, C.MS_NODIRATIME),
    "dirsync": (False, C.MS_DIRSYNC),
    "exec": (True, C.MS_NOEXEC),
    "iversion": (False, 1 << 23),
    "lazytime": (False, C.MS_LAZYTIME),
    "loud": (True, C.MS_SILENT),
    "mand": (False, C.MS_MANDLOCK),
    "noatime": (False, C.MS_NOATIME),
    "nodev": (False, C.MS_NODEV),
    "nodiratime": (False, C.MS_NODIRATIME),
    "noexec": (False, C.MS_NOEXEC),
    "noiversion": (True, 1 << 23),
    "nolazytime": (True, C.MS_LAZYTIME),
    "nomand": (True, C.MS_MANDLOCK),
    "norelatime": (True, C.MS_RELATIME),
    "nostrictatime": (True, C.MS_STRICTATIME),
    "nosuid": (False, C.MS_NOSUID),
    "nosymfollow": (False, C.MS_NOSYMFOLLOW),
    "rbind": (False, C.MS_BIND | C.MS_REC),
    "relatime": (False, C.MS_RELATIME),
    "remount": (False, C.MS_REMOUNT),
    "ro": (False, C.MS_RDONLY),
    "rw": (True, C.MS_RDONLY),
    "silent": (False, C.MS_SILENT),
    "strictatime": (False, C.MS_STRICTATIME),
    "suid": (True, C.MS_NOSUID),
    "sync": (False, C.MS_SYNCHRONOUS),
    "symfollow": (True, C.MS_NOSYMFOLLOW),
}

PROPAGATION = {
    "private": C.MS_PRIVATE,
    "rprivate": C.MS_PRIVATE | C.MS_REC,
    "shared": C.MS_SHARED,
    "rshared": C.MS_SHARED | C.MS_REC,
    "slave": C.MS_SLAVE,
    "rslave": C.MS_SLAVE | C.MS_REC,
    "unbindable": C.MS_UNBINDABLE,
    "runbindable": C.MS_UNBINDABLE | C.MS_REC,
}

# mount_setattr(2) MOUNT_ATTR_* bits
ATTR_RDONLY = 0x1
ATTR_NOSUID = 0x2
ATTR_NODEV = 0x4
ATTR_NOEXEC = 0x8
ATTR__ATIME = 0x70
ATTR_RELATIME = 0x0
ATTR_NOATIME = 0x10
ATTR_STRICTATIME = 0x20
ATTR_NODIRATIME = 0x80
ATTR_IDMAP = 0x100000
ATTR_NOSYMFOLLOW = 0x200000

# recursive options (runtime-spec 1.1): name: (clear?, attr)
RECURSIVE = {
    "rro": (False, ATTR_RDONLY), "rrw": (True, ATTR_RDONLY),
    "rnosuid": (False, ATTR_NOSUID), "rsuid": (True, ATTR_NOSUID),
    "rnodev": (False, ATTR_NODEV), "rdev": (True, ATTR_NODEV),
    "rnoexec": (False, ATTR_NOEXEC), "rexec": (True, ATTR_NOEXEC),
    "rnodiratime": (False, ATTR_NODIRATIME), "rdiratime": (True, ATTR_NODIRATIME),
    "rrelatime": (False, ATTR_RELATIME), "rnorelatime": (True, ATTR__ATIME),
    "rnoatime": (False, ATTR_NOATIME), "ratime": (True, ATTR__ATIME),
    "rstrictatime": (False, ATTR_STRICTATIME), "rnostrictatime": (True, ATTR__ATIME),
    "rnosymfollow": (False, ATTR_NOSYMFOLLOW), "rsymfollow": (True, ATTR_NOSYMFOLLOW),
}

# options that steer the runtime itself and are not passed to the kernel
EXTENSIONS = ("tmpcopyup", "idmap", "ridmap")


class MountOptions:
    __slots__ = ("flags", "clear", "propagation", "attr_set", "attr_clr", "data", "extensions")

    def __init__(self):
        self.flags = 0
        self.clear = 0
        self.propagation = []
        self.attr_set = 0
        self.attr_clr = 0
        self.data = []
        self.extensions = set()


def parse(options):
    """Split a spec ``options`` list into flags, propagation, recursive attrs and fs data."""
    mo = MountOptions()
    for opt in options or ():
        f = FLAGS.get(opt)
        if f is not None:
            clear, flag = f
            if clear:
                mo.flags &= ~flag
                mo.clear |= flag
            else:
                mo.flags |= flag
                mo.clear &= ~flag
            continue
        p = PROPAGATION.get(opt)
        if p is not None:
            mo.propagation.append(p)
            continue
        r = RECURSIVE.get(opt)
        if r is not None:
            clear, attr = r
            if clear:
                mo.attr_clr |= attr
            else:
                if attr in (ATTR_NOATIME, ATTR_STRICTATIME, ATTR_RELATIME):
                    mo.attr_clr |= ATTR__ATIME
                mo.attr_set |= attr
            continue
        if opt in EXTENSIONS:
            mo.extensions.add(opt)
            continue
        mo.data.append(opt)
    return mo
