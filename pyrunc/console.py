"""Terminals: a pty allocated *inside* the container, its master handed to the client.

The init (or exec'd process) opens the container's own /dev/ptmx (its devpts instance), gets
the slave through TIOCGPTPEER (no path lookup the container could redirect), makes it the
controlling terminal and fds 0-2. The master goes to the client over ``--console-socket``
exactly as runc sends it: one sendmsg, payload "/dev/ptmx", one SCM_RIGHTS fd. In a foreground
``run``/``exec`` without a console socket, pyrunc is its own client: it receives the master
over a socketpair and relays it to its terminal (raw mode, SIGWINCH resizes).
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
import sys

from pyrunc.errors import PyruncError
from pyrunc.linux import consts as C
from pyrunc.linux import libc

TIOCSPTLCK = 0x40045431
TIOCGPTN = 0x80045430
SOL_SOCKET = 1
SCM_RIGHTS = 1


def connect_socket(path):
    """Connect to the client's console socket (done by the runtime, before any pivot)."""
    import _socket
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        s.close()
        raise PyruncError("--console-socket %s: %s" % (path, e.strerror)) from None
    return s


def _open_ptmx():
    """Open /dev/ptmx, checked to be the pty multiplexer (char 5:2) *before* it is opened:
    /dev may come from a volume, and opening another device node has effects of its own
    (/dev/watchdog arms the host's watchdog); the runtime is not in the container's device
    cgroup yet. The checked inode itself is reopened, through a checked /proc."""
    import stat
    from pyrunc.rootfs import paths
    flags = os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC
    try:
        pfd = os.open("/dev/ptmx", C.O_PATH | os.O_CLOEXEC)
    except OSError as e:
        raise PyruncError("process.terminal: open /dev/ptmx: %s (is devpts mounted at "
                          "/dev/pts?)" % e.strerror) from None
    try:
        st = os.fstat(pfd)
        if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(5, 2):
            raise PyruncError("process.terminal: /dev/ptmx is not the pty multiplexer "
                              "(character device 5:2)")
        try:
            paths.require_procfs("process.terminal")
            target = paths.fd_path(pfd)
        except PyruncError:
            target = "/dev/ptmx"  # no procfs to reopen through: by path, checked after
        try:
            master = os.open(target, flags)
        except OSError as e:
            raise PyruncError("process.terminal: open /dev/ptmx: %s (is devpts mounted at "
                              "/dev/pts?)" % e.strerror) from None
        if os.fstat(master).st_rdev != os.makedev(5, 2):
            os.close(master)
            raise PyruncError("process.terminal: /dev/ptmx changed while being opened")
        return master
    finally:
        os.close(pfd)


def open_pty(size=None):
    """(master fd, slave fd, slave path) from the devpts mounted at /dev/pts in this root."""
    master = _open_ptmx()
    from pyrunc.linux._libc_ffi import ffi
    zero = ffi.new("int *", 0)
    if libc.lib.ioctl(master, TIOCSPTLCK, zero) < 0:
        libc._fail("unlockpt")
    n = ffi.new("unsigned int *")
    if libc.lib.ioctl(master, TIOCGPTN, n) < 0:
        libc._fail("TIOCGPTN")
    slave = libc.ioctl_int(master, C.TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    if size:
        libc.set_winsize(master, size.get("height", 0), size.get("width", 0))
    return master, slave, "/dev/pts/%d" % n[0]


def send_master(sock, master):
    """runc's console-socket message: payload "/dev/ptmx", exactly one SCM_RIGHTS fd."""
    fdbytes = master.to_bytes(4, sys.byteorder, signed=True)
    sock.sendmsg([b"/dev/ptmx"], [(SOL_SOCKET, SCM_RIGHTS, fdbytes)])


def recv_master(sock):
    """The receiving side (pyrunc's own foreground relay, and tests)."""
    msg, anc, _flags, _addr = sock.recvmsg(4096, 64)
    for level, typ, data in anc:
        if level == SOL_SOCKET and typ == SCM_RIGHTS:
            return int.from_bytes(data[:4], sys.byteorder, signed=True)
    raise PyruncError("console socket: no pty master received")


def become_controlling(slave):
    """Make ``slave`` the controlling terminal and fds 0, 1, 2 (we are a session leader)."""
    libc.ioctl_int(slave, C.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)


def mount_console(slave_path, slave_fd=None):
    """Bind the pty slave onto /dev/console, as runc does for a container with a terminal.

    CVE-2025-52565: both ends are named by descriptor, never by a path a racing process
    could swap for a symlink: the source is the slave we hold (/proc/self/fd/N of a checked
    procfs), the target /dev/console resolved inside / without following any symlink."""
    import stat
    from pyrunc.rootfs import paths
    try:
        fd = os.open("/dev/console", os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        os.close(fd)
    except OSError as e:
        raise PyruncError("/dev/console: %s" % e.strerror) from None
    source = slave_path
    if slave_fd is not None:
        paths.require_procfs("process.terminal")
        source = paths.fd_path(slave_fd)
    rootfd = os.open("/", C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        tfd = libc.openat2(rootfd, "dev/console", C.O_PATH, C.RESOLVE_IN_ROOT |
                           C.RESOLVE_NO_SYMLINKS | C.RESOLVE_NO_MAGICLINKS)
    except OSError as e:
        raise PyruncError("/dev/console: %s" % e.strerror) from None
    finally:
        os.close(rootfd)
    try:
        mode = os.fstat(tfd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
            raise PyruncError("/dev/console: not a file or a character device")
        libc.mount(source, paths.fd_path(tfd), None, C.MS_BIND)
    finally:
        os.close(tfd)


def relay(master, stdin_fd=0, stdout_fd=1, child_done=None):
    """Copy between our terminal and the pty master until the container side closes.

    Raw mode on our terminal (restored on return), window size copied now and on SIGWINCH."""
    import select
    import termios
    is_tty = os.isatty(stdin_fd)
    saved = None
    import _signal
    old_winch = None
    if is_tty:
        saved = termios.tcgetattr(stdin_fd)
        import tty
        tty.setraw(stdin_fd)

        def winch(_s, _f):
            try:
                r, c = libc.get_winsize(stdin_fd)
                libc.set_winsize(master, r, c)
            except OSError:
                pass
        winch(None, None)
        old_winch = _signal.signal(_signal.SIGWINCH, winch)
    fds = [master, stdin_fd]
    try:
        while True:
            try:
                r, _, _ = select.select(fds, [], [], 0.2)
            except InterruptedError:
                continue
            if not r and child_done is not None and child_done():
                # drain what is left
                r = [master]
            if master in r:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                os.write(stdout_fd, data)
            if stdin_fd in r:
                data = os.read(stdin_fd, 65536)
                if not data:
                    fds.remove(stdin_fd)
                else:
                    os.write(master, data)
    finally:
        if saved is not None:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)
        if old_winch is not None:
            _signal.signal(_signal.SIGWINCH, old_winch)
