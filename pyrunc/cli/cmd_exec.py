"""pyrunc exec [--process FILE | ARGS...] [-t] [-d] [--console-socket S] [--pid-file F]
[--cwd D] [-e K=V]... [-u UID[:GID]] [--additional-gids G]... [--cap C]... [--no-new-privs]
[--preserve-fds N] [--process-label L] [--apparmor P] ID"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
from pyrunc.cli import args as A
from pyrunc.errors import PyruncError, UsageError

FLAGS = A.table(
    ("process", "p", "str"), ("tty", "t", "bool"), ("detach", "d", "bool"),
    ("console-socket", None, "str"), ("pid-file", None, "str"), ("cwd", None, "str"),
    ("env", "e", "list"), ("user", "u", "str"), ("additional-gids", "g", "list"),
    ("cap", "c", "list"), ("no-new-privs", None, "bool"), ("preserve-fds", None, "int"),
    ("process-label", None, "str"), ("apparmor", None, "str"), ("ignore-paused", None, "bool"),
    ("no-subreaper", None, "bool"), ("cgroup", None, "list"),
)


def load_process_file(path):
    from pyrunc import jsonio
    from pyrunc.spec.validate import config_problem
    try:
        with open(path, "rb") as f:
            proc = jsonio.loads(f.read())
    except OSError as e:
        raise PyruncError("--process %s: %s" % (path, e.strerror)) from None
    except ValueError as e:
        raise PyruncError("--process %s: invalid JSON: %s" % (path, e)) from None
    if not isinstance(proc, dict):
        raise PyruncError("--process %s: not a JSON object" % path)
    problem = jsonio.document_problem(proc)
    if problem:
        raise PyruncError("--process %s: %s" % (path, problem))
    # validated as the `process` of a minimal config: the same schema, the same messages
    problem = config_problem({"ociVersion": "1.2.0", "root": {"path": "/"}, "process": proc})
    if problem is not None:
        raise PyruncError("%s: %s: %s" % (os.path.basename(path), problem[0], problem[1]))
    return proc


def build_process(v, rest, container_proc):
    if v["process"]:
        return load_process_file(v["process"])
    if not rest:
        raise UsageError('"exec" requires a minimum of 2 arguments')
    from pyrunc import jsonio
    # a deep copy (of JSON data: `copy` would import weakref, types, ... ~1 ms)
    p = jsonio.loads(jsonio.dumps(container_proc or {}))
    p["args"] = rest
    if v["cwd"]:
        p["cwd"] = v["cwd"]
    if v["apparmor"]:
        p["apparmorProfile"] = v["apparmor"]
    if v["process-label"]:
        p["selinuxLabel"] = v["process-label"]
    if v["cap"]:
        caps = p.setdefault("capabilities", {})
        for c in v["cap"]:
            for k in ("bounding", "effective", "permitted"):
                caps.setdefault(k, []).append(c)
    p["env"] = list(p.get("env") or []) + v["env"]
    p["terminal"] = v["tty"]
    if v["no-new-privs"]:
        p["noNewPrivileges"] = True
    if v["user"]:
        user = p.setdefault("user", {})
        u, _, g = v["user"].partition(":")
        try:
            user["uid"] = int(u)
            if g:
                user["gid"] = int(g)
        except ValueError:
            raise UsageError("--user %s: expected UID[:GID] as numbers" % v["user"]) from None
    for gid in v["additional-gids"]:
        try:
            p.setdefault("user", {}).setdefault("additionalGids", []).append(int(gid))
        except ValueError:
            raise UsageError("--additional-gids %s: not a number" % gid) from None
    return p


def run(g, argv):
    try:
        return _run(g, argv)
    except PyruncError as e:
        e.exit_code = 255  # runc's status for a failed exec (docker then reports 126)
        raise


def _run(g, argv):
    v, rest = A.parse(argv, FLAGS, "exec")
    if not rest:
        raise UsageError('"exec" requires a minimum of 1 argument')
    cid, rest = rest[0], rest[1:]
    from pyrunc.container import lifecycle
    from pyrunc.container.state import ContainerState
    st = ContainerState.load(g.root, cid)
    proc = build_process(v, rest, (st.data.get("config") or {}).get("process"))
    preserve = v["preserve-fds"] or 0
    if os.environ.get("LISTEN_FDS"):
        n = int(os.environ["LISTEN_FDS"])
        proc["env"] = list(proc.get("env") or []) + ["LISTEN_FDS=%d" % n, "LISTEN_PID=1"]
        preserve += n
    opts = lifecycle.ExecOptions(detach=v["detach"], pid_file=v["pid-file"],
                                 console_socket=v["console-socket"], preserve_fds=preserve,
                                 tty_relay=not v["detach"] and not v["console-socket"])
    if v["detach"]:
        lifecycle.exec_process(g.root, cid, proc, opts)
        return 0
    from pyrunc.linux import consts as C
    from pyrunc.linux import libc
    libc.prctl(C.PR_SET_CHILD_SUBREAPER, 1)
    opts.prefetch = ("pyrunc.cli.cmd_run",)  # (wait_relaying, below)
    pid = lifecycle.exec_process(g.root, cid, proc, opts)
    from pyrunc.cli.cmd_run import wait_relaying
    return wait_relaying(pid, opts.master_fd)
