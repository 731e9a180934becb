"""What the parent of create hands to the container's init, and how it gets there.

The init is forked before the parent has loaded the bundle (process/parent.py): it imports
its half of pyrunc meanwhile, then waits for this context. So the context crosses a socket:
plain fields as JSON, the open files (the start socket, the state dir, a console socket,
idmapped mounts) as SCM_RIGHTS. Its own module so that the parent need not import the init
side (``init``, ``attrs``, ``finalize``, ``rootfs``...).
"""

# fields that are file descriptors (or sockets): sent as SCM_RIGHTS, not JSON
_SOCKETS = ("start_sock", "console_sock")
_FDS = ("state_dir_fd",)
_PLAIN = ("cid", "config", "bundle", "rootfs", "no_pivot", "no_new_keyring", "rootless",
          "preserve_fds", "cgroup_mounts", "new_cgroupns", "in_userns")


class InitContext:
    """What the parent hands to the init."""

    def __init__(self, **kw):
        self.cid = ""
        self.config = None
        self.bundle = None
        self.rootfs = None
        self.no_pivot = False
        self.no_new_keyring = False
        self.rootless = False
        self.preserve_fds = 0
        self.sync_fd = -1
        self.start_sock = None          # listening _socket.socket for `start`
        self.state_dir_fd = -1          # O_PATH fd of the state dir (to unlink start.sock)
        self.cgroup_mounts = {}
        self.cgroup_paths = {}
        # the init's: waits for the parent to have made the cgroups, returns cgroup_paths
        self.wait_cgroups = lambda: self.cgroup_paths
        self.new_cgroupns = False
        self.in_userns = False
        self.console_sock = None        # connected _socket to send the pty master over
        self.seccomp = None             # the compiled linux.seccomp, if cached (seccomp/cache)
        self.idmap_fds = {}             # mount index -> detached idmapped mount (idmap.py)
        self.__dict__.update(kw)


def pack(ctx):
    """``(fields, fds)``: the context as a JSON-able dict and the list of fds it names (each
    field holding an fd names its index in that list)."""
    fields = {name: getattr(ctx, name) for name in _PLAIN}
    fds = []
    for name in _SOCKETS:
        sock = getattr(ctx, name)
        if sock is not None:
            fields[name] = len(fds)
            fds.append(sock.fileno())
    for name in _FDS:
        if getattr(ctx, name) >= 0:
            fields[name] = len(fds)
            fds.append(getattr(ctx, name))
    fields["idmap_fds"] = idmap = {}
    for index, fd in ctx.idmap_fds.items():
        idmap[str(index)] = len(fds)
        fds.append(fd)
    filt = ctx.seccomp
    if filt is not None:  # (cached programs only: no NOTIFY listener, see seccomp/cache.py)
        fields["seccomp"] = [filt.program.hex(), filt.flags, filt.seccomp_nr]
    return fields, fds


def unpack(ctx, fields, fds):
    """Fill ``ctx`` (the init's, which has its sync_fd from the fork) from what
    :func:`pack` made, with ``fds`` the descriptors as received."""
    for name in _PLAIN:
        setattr(ctx, name, fields[name])
    import _socket
    for name in _SOCKETS:
        if name in fields:
            setattr(ctx, name, _socket.socket(fileno=fds[fields[name]]))
    for name in _FDS:
        if name in fields:
            setattr(ctx, name, fds[fields[name]])
    ctx.idmap_fds = {int(k): fds[i] for k, i in fields["idmap_fds"].items()}
    if "seccomp" in fields:
        from pyrunc.seccomp.compile import Filter
        program, flags, nr = fields["seccomp"]
        ctx.seccomp = Filter(bytes.fromhex(program), flags, nr)
    return ctx
