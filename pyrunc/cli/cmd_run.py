"""pyrunc run [--detach] [create flags] ID: create + start; in the foreground, wait for the
container's exit (relaying signals to it), delete it, and exit with its status (128+N for a
signal)."""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
from pyrunc.cli import args as A
from pyrunc.cli.cmd_create import FLAGS as CREATE_FLAGS, options

FLAGS = dict(CREATE_FLAGS)
FLAGS.update(A.table(("detach", "d", "bool"), ("keep", None, "bool")))

# everything a terminal or a supervisor might send; SIGCHLD is ours
_RELAYED = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH",
            "SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGALRM", "SIGPIPE", "SIGURG")


def run(g, argv):
    v, rest = A.parse(argv, FLAGS, "run")
    cid = A.need_id("run", rest)
    from pyrunc.container import lifecycle
    from pyrunc.linux import consts as C
    from pyrunc.linux import libc
    opts = options(g, v)
    if v["detach"]:
        lifecycle.create(g.root, cid, opts)
        lifecycle.start(g.root, cid)
        return 0
    # become the subreaper so the init is reparented to us and we can wait for it
    libc.prctl(C.PR_SET_CHILD_SUBREAPER, 1)
    opts.tty_relay = not opts.console_socket
    pid = lifecycle.create(g.root, cid, opts)
    try:
        lifecycle.start(g.root, cid)
        return wait_relaying(pid, opts.master_fd)
    finally:
        if not v["keep"]:
            try:
                lifecycle.delete(g.root, cid, force=True)
            except Exception:
                pass


def wait_relaying(pid, master_fd=-1):
    """Relay our signals (and terminal) to ``pid`` until it exits; its exit status, 128+N for
    a signal (we are a subreaper, so it is reparented to us)."""
    import _signal

    def relay(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    for name in _RELAYED:
        if master_fd >= 0 and name == "SIGWINCH":
            continue  # the terminal relay resizes the pty instead
        _signal.signal(getattr(_signal, name), relay)
    if master_fd >= 0:
        from pyrunc import console
        console.relay(master_fd)
    status = None
    while True:
        try:
            wpid, st = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if wpid == pid:
            status = st
            break
    if status is None:
        return 255
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code
