"""Thin, checked wrappers over the libc/syscall binding (the only module that calls C).

Each wrapper raises ``OSError(errno, strerror, what)`` on failure, so callers can report what
failed. The binding is loaded on first import; the init side imports this module before
pivot_root so that nothing needs the host filesystem afterwards.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc.linux._libc_ffi import ffi
from pyrunc.linux import consts as C

lib = ffi.dlopen(None)
_SYS = C.SYS
_long = ffi.cast


def _fail(what):
    e = ffi.errno
    raise OSError(e, os.strerror(e), what)


def _b(s):
    if s is None:
        return ffi.NULL
    return s if isinstance(s, bytes) else os.fsencode(s)


def mount(source, target, fstype, flags=0, data=None):
    if lib.mount(_b(source), _b(target), _b(fstype), flags, _b(data)) < 0:
        _fail(target)


def umount2(target, flags=0):
    if lib.umount2(_b(target), flags) < 0:
        _fail(target)


def unshare(flags):
    if lib.unshare(flags) < 0:
        _fail("unshare")


def setns(fd, nstype=0):
    if lib.setns(fd, nstype) < 0:
        _fail("setns")


def sethostname(name):
    n = _b(name)
    if lib.sethostname(n, len(n)) < 0:
        _fail("sethostname")


def setdomainname(name):
    n = _b(name)
    if lib.setdomainname(n, len(n)) < 0:
        _fail("setdomainname")


def prctl(option, a2=0, a3=0, a4=0, a5=0):
    r = lib.prctl(option, a2, a3, a4, a5)
    if r < 0:
        _fail("prctl(%d)" % option)
    return r


def syscall(name, *args):
    """A raw syscall by name (numbers in consts.SYS); args are ints or cdata pointers."""
    cargs = [a if isinstance(a, ffi.CData) else _long("long", a) for a in args]
    r = lib.syscall(_long("long", _SYS[name]), *cargs)
    if r < 0:
        _fail(name)
    return r


def pivot_root(new_root, put_old):
    nr, po = ffi.new("char[]", _b(new_root)), ffi.new("char[]", _b(put_old))
    syscall("pivot_root", nr, po)


def openat2(dirfd, path, flags, resolve, mode=0):
    how = ffi.new("struct open_how *", {"flags": flags | os.O_CLOEXEC, "mode": mode,
                                        "resolve": resolve})
    p = ffi.new("char[]", _b(path))
    try:
        return syscall("openat2", dirfd, p, how, ffi.sizeof("struct open_how"))
    except OSError as e:
        raise OSError(e.errno, e.strerror, path) from None


def close_range(first, last=0xFFFFFFFF, flags=0):
    syscall("close_range", first, last, flags)


def mknodat(dirfd, path, mode, dev):
    if lib.mknodat(dirfd, _b(path), mode, dev) < 0:
        _fail(path)


def setresuid(r, e, s):
    if lib.setresuid(r, e, s) < 0:
        _fail("setresuid")


def setresgid(r, e, s):
    if lib.setresgid(r, e, s) < 0:
        _fail("setresgid")


def setgroups(gids):
    arr = ffi.new("gid_t[]", list(gids) or [0])
    if lib.setgroups(len(gids), arr) < 0:
        _fail("setgroups")


def personality(persona):
    if lib.personality(persona) < 0:
        _fail("personality")


def capget():
    """(effective, permitted, inheritable) as 64-bit masks of the calling thread."""
    hdr = ffi.new("struct cap_header *", {"version": C.LINUX_CAPABILITY_VERSION_3, "pid": 0})
    data = ffi.new("struct cap_data[2]")
    syscall("capget", hdr, data)
    return tuple(getattr(data[0], f) | (getattr(data[1], f) << 32)
                 for f in ("effective", "permitted", "inheritable"))


def capset(effective, permitted, inheritable):
    hdr = ffi.new("struct cap_header *", {"version": C.LINUX_CAPABILITY_VERSION_3, "pid": 0})
    data = ffi.new("struct cap_data[2]")
    for i in (0, 1):
        sh = 32 * i
        data[i].effective = (effective >> sh) & 0xFFFFFFFF
        data[i].permitted = (permitted >> sh) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> sh) & 0xFFFFFFFF
    syscall("capset", hdr, data)


def socketpair(domain, type_):
    sv = ffi.new("int[2]")
    if lib.socketpair(domain, type_ | C.SOCK_CLOEXEC, 0, sv) < 0:
        _fail("socketpair")
    return sv[0], sv[1]


def loopback_up():
    """Bring ``lo`` up in the current network namespace (SIOCSIFFLAGS on a datagram socket)."""
    s = lib.socket(C.AF_INET, C.SOCK_DGRAM | C.SOCK_CLOEXEC, 0)
    if s < 0:
        _fail("socket")
    try:
        req = ffi.new("struct ifreq_flags *")
        req.ifr_name = b"lo"
        if lib.ioctl(s, C.SIOCGIFFLAGS, req) < 0:
            _fail("SIOCGIFFLAGS lo")
        if not req.ifr_flags & C.IFF_UP:
            req.ifr_flags |= C.IFF_UP
            if lib.ioctl(s, C.SIOCSIFFLAGS, req) < 0:
                _fail("SIOCSIFFLAGS lo")
    finally:
        os.close(s)


def ioctl_int(fd, request, arg=0):
    r = lib.ioctl(fd, request, ffi.cast("unsigned long", arg))
    if r < 0:
        _fail("ioctl")
    return r


def set_winsize(fd, rows, cols):
    ws = ffi.new("struct winsize *", {"ws_row": rows, "ws_col": cols})
    if lib.ioctl(fd, C.TIOCSWINSZ, ws) < 0:
        _fail("TIOCSWINSZ")


def get_winsize(fd):
    ws = ffi.new("struct winsize *")
    if lib.ioctl(fd, C.TIOCGWINSZ, ws) < 0:
        _fail("TIOCGWINSZ")
    return ws.ws_row, ws.ws_col


def ioprio_set(klass, level):
    syscall("ioprio_set", C.IOPRIO_WHO_PROCESS, 0, (klass << 13) | level)


def execve(path, args, env):
    """execve(2) with argv and envp exactly as given (os.execve wants a dict for env, which
    would reorder and de-duplicate it). Returns only by raising OSError."""
    keep = [ffi.new("char[]", _b(a)) for a in args] + [ffi.NULL]
    envp = [ffi.new("char[]", _b(e)) for e in env] + [ffi.NULL]
    argv_c = ffi.new("char *[]", keep)
    envp_c = ffi.new("char *[]", envp)
    lib.execve(_b(path), argv_c, envp_c)
    _fail(path)
