"""Small helpers shared by several concerns: atomic files, timestamps, /proc readings."""

import time

from pyrunc.testing import killpoint


# The fds open when the CLI started a create, run or exec (remember_caller_fds), before it
# opened any of its own: what --preserve-fds may hand to the container. None: not taken.
CALLER_FDS = None


def remember_caller_fds():
    global CALLER_FDS
    from pyrunc import _os as os
    fds = []
    for name in os.listdir("/proc/self/fd"):
        try:
            os.fstat(int(name))  # (the listing's own fd is closed by now: not the caller's)
        except OSError:
            continue
        fds.append(int(name))
    CALLER_FDS = frozenset(fds)


def write_atomic(path, data, mode=0o644, durable=False):
    """Write ``data`` (str or bytes) to ``path`` so readers see the old or the new file, never
    a partial one: a hidden temp file in the same directory, renamed into place.

    The rename gives atomicity; ``durable`` adds an fsync, which state under /run (tmpfs, gone
    at reboot anyway) does not need and which costs milliseconds on a disk."""
    from pyrunc import _os as os  # (see pyrunc/_os.py)
    if isinstance(data, str):
        data = data.encode()
    d, name = os.path.split(path)
    tmp = os.path.join(d, ".%s.%d" % (name, os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            # a nearly full filesystem takes part of a write and refuses the rest: a short
            # count, not an error; renaming that would install a truncated file
            view = view[os.write(fd, view):]
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    killpoint("write-atomic:before-rename")
    os.rename(tmp, path)


def rfc3339_now():
    """UTC time as RFC 3339 with nanoseconds, like Go's time.Time in runc's state output."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + \
        ".%09dZ" % (ns % 1_000_000_000)


def rfc3339_seconds():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def proc_stat(pid):
    """(state letter, start time in clock ticks) of ``pid``, or None if it does not exist.

    The start time makes a pid + start time pair unique across pid reuse."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm may contain spaces and parentheses: split after the last ')'
    rest = data[data.rindex(b")") + 2:].split()
    return rest[0].decode(), int(rest[19])


def pid_alive(pid, start_time):
    """True if ``pid`` is the same process (same start time) and is not a zombie."""
    if not pid:
        return False
    st = proc_stat(pid)
    return st is not None and st[1] == start_time and st[0] not in ("Z", "X")
