"""What the parent of create hands to the container's init, by fork (not serialisation).

Its own module so that the parent need not import the init side (``init``, ``attrs``,
``finalize``, ``rootfs``...): the forked child imports those itself, while the parent goes on
with its half of create (process/parent.py).
"""


class InitContext:
    """What the parent hands to the init (by fork, not serialisation)."""

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
        self.new_cgroupns = False
        self.in_userns = False
        self.console_sock = None        # connected _socket to send the pty master over
        self.seccomp = None             # the compiled linux.seccomp, if cached (seccomp/cache)
        self.idmap_fds = {}             # mount index -> detached idmapped mount (idmap.py)
        self.__dict__.update(kw)
