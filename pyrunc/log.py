"""Where pyrunc's messages go: stderr, and the ``--log`` file in runc's formats.

Clients read errors from the log file: containerd decodes it as a stream of
``{"level","msg","time"}`` objects and takes the last error; podman decodes the *whole file*
as one object. So a successful command writes nothing there (debug lines only with --debug),
and a failing one appends exactly one line.
"""

import os
import sys

_state = {"path": None, "format": "text", "debug": False}


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


def _append(level, msg):
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


def error(msg):
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
