"""The process ``pyrunc.api`` starts for the operations that fork: create and exec.

A fresh, single-threaded interpreter (``python -I -S``, the caller's ``sys.path``) that runs
the command line's own code (``pyrunc.cli.cmd_create`` / ``cmd_exec``, so ``lifecycle``) and
reports the outcome as one JSON line on a pipe the API owns (``--report-fd``), instead of
printing it: ``{"pid": N}`` or ``{"exit_code": N}`` on success, ``{"error": "<module.Class>",
"message": ..., "exit_code": N}`` on failure, so the API can raise the same exception class.

``create``: the worker makes itself a child subreaper first, so the container's init, which
create leaves running, is reparented to it. After reporting the init's pid it stays as the
container's shim: it waits for the init (relaying signals, as ``pyrunc run`` does) and exits
with its status (128+N for signal N), which is how the API learns a container's exit code.

``exec``: ``pyrunc exec`` in the foreground (it waits for the process and returns its status).

The report pipe is never passed on: it is moved to a close-on-exec descriptor >= 64 at
start-up, and only fds 0-2 reach a container process. Internal; not a stable interface.
"""

import os
import sys


def _report(fd, obj):
    from pyrunc import jsonio
    data = (jsonio.dumps(obj) + "\n").encode()
    while data:
        try:
            n = os.write(fd, data)
        except BrokenPipeError:
            return
        data = data[n:]


def _error_report(e):
    from pyrunc import errors
    cls = type(e)
    if isinstance(e, errors.PyruncError):
        return {"error": "%s.%s" % (cls.__module__, cls.__qualname__), "message": str(e),
                "exit_code": e.exit_code}
    if isinstance(e, KeyboardInterrupt):
        return {"error": "KeyboardInterrupt", "message": "interrupted", "exit_code": 130}
    import traceback
    return {"error": "%s.%s" % (cls.__module__, cls.__qualname__),
            "message": "internal error: %s: %s" % (cls.__name__, e), "exit_code": 1,
            "traceback": traceback.format_exc()}


def _globals(root, log_file):
    from pyrunc import log
    from pyrunc.cli import Globals
    log.configure(log_file, "json", False)
    return Globals({"root": root, "log": log_file, "log-format": "json", "debug": False,
                    "systemd-cgroup": False, "rootless": None})


def create(fd, root, log_file, pid_file, argv):
    """argv: cmd_create's arguments (flags, then the id); must include --pid-file pid_file."""
    from pyrunc.linux import consts as C
    from pyrunc.linux import libc
    libc.prctl(C.PR_SET_CHILD_SUBREAPER, 1)
    try:
        g = _globals(root, log_file)
        from pyrunc.cli import cmd_create
        cmd_create.run(g, argv)
        with open(pid_file) as f:
            pid = int(f.read())
    except BaseException as e:
        _report(fd, _error_report(e))
        return 255
    _report(fd, {"pid": pid})
    os.close(fd)
    from pyrunc.cli.cmd_run import wait_relaying
    return wait_relaying(pid)


def exec_(fd, root, log_file, argv):
    """argv: cmd_exec's arguments (flags, id, command)."""
    try:
        g = _globals(root, log_file)
        from pyrunc.cli import cmd_exec
        code = cmd_exec.run(g, argv) or 0
    except BaseException as e:
        rep = _error_report(e)
        _report(fd, rep)
        return rep["exit_code"] or 255
    _report(fd, {"exit_code": code})
    return code


def main(argv):
    """argv: REPORT_FD MODE ROOT LOG_FILE [PID_FILE] ARGS..."""
    import fcntl
    fd = fcntl.fcntl(int(argv[0]), fcntl.F_DUPFD_CLOEXEC, 64)
    os.close(int(argv[0]))
    mode, root, log_file = argv[1], argv[2], argv[3]
    if mode == "create":
        return create(fd, root, log_file, argv[4], argv[5:])
    if mode == "exec":
        return exec_(fd, root, log_file, argv[4:])
    _report(fd, {"error": "ValueError", "message": "unknown worker mode %s" % mode})
    return 2


# Run by the API as ``python -I -S -c BOOT PATHS ARGS...``: PATHS is the directory holding
# the pyrunc package, then the caller's sys.path, joined with newlines (no site: the caller's
# path already has what site added). pyrunc's directory goes first, as in the launcher; the
# caller's entries go after the interpreter's own, so they cannot shadow the stdlib.
BOOT = ("import sys\n"
        "p = [x for x in sys.argv[1].split('\\n') if x]\n"
        "sys.path[:0] = p[:1]\n"
        "sys.path += [x for x in p[1:] if x not in sys.path]\n"
        "from pyrunc.api_worker import main\n"
        "sys.exit(main(sys.argv[2:]))\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
