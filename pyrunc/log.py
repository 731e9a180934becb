"""Where pyrunc's messages go: stderr, and the ``--log`` file in runc's formats.

Clients read errors from the log file: containerd decodes it as a stream of
``{"level","msg","time"}`` objects and takes the last error; podman decodes the *whole file*
as one object. So a successful command writes nothing there (debug lines only with --debug),
and a failing one appends exactly one line.
"""

import sys

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

_state = {"path": None, "format": "text", "debug": False, "sink": None}


def set_sink(fn):
    """Send warnings and debug lines to ``fn(level, msg)`` instead of writing them: the init
    runs after pivot_root, where the --log path no longer exists, so it forwards them to the
    parent over its sync channel (runc does the same with a log pipe)."""
    _state["sink"] = fn


def configure(path=None, fmt="text", debug=False):
    _state.update(path=path, format=fmt or "text", debug=debug)


def _line(level, msg):
    from pyrunc import util
    t = util.rfc3339_seconds()
    if _state["format"] == "json":
        from pyrunc import jsonio
        return jsonio.dumps({"level": level, "msg": msg, "time": t}) + "\n"
    q = msg.replace("\\", "\\\\").replace('"', '\\"')
    return 'time="%s" level=%s msg="%s"\n' % (t, level, q)


def emit(level, msg):
    """Write a line forwarded by the init (see set_sink)."""
    if level == "warning":
        warning(msg)
    elif level == "debug":
        debug(msg)
    else:
        _append(level, msg)


def _append(level, msg):
    sink = _state["sink"]
    if sink is not None and level != "error":
        try:
            sink(level, msg)
        except OSError:
            pass
        return True
    path = _state["path"]
    if not path:
        return False
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return False
    try:
        os.write(fd, _line(level, msg).encode())
    finally:
        os.close(fd)
    return True


def one_line(msg):
    """Errors are one line (clients take the last line of stderr or of the log): a newline
    from a path or value in the config is shown escaped."""
    if "\n" in msg or "\r" in msg:
        msg = msg.replace("\r", "\\r").replace("\n", "\\n")
    return msg


def error(msg):
    msg = one_line(msg)
    _append("error", msg)
    try:
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def warning(msg):
    if not _append("warning", msg):
        sys.stderr.write("WARN: " + msg + "\n")


def debug(msg):
    if _state["debug"]:
        if not _append("debug", msg):
            sys.stderr.write("DEBU: " + msg + "\n")
