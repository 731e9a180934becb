"""pyrunc create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot]
[--no-new-keyring] [--preserve-fds N] ID"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
from pyrunc.cli import args as A

FLAGS = A.table(
    ("bundle", "b", "str"), ("pid-file", None, "str"), ("console-socket", None, "str"),
    ("no-pivot", None, "bool"), ("no-new-keyring", None, "bool"),
    ("preserve-fds", None, "int"),
)


def options(g, v):
    from pyrunc.container.lifecycle import CreateOptions
    preserve = v["preserve-fds"] or 0
    extra_env = []
    listen = os.environ.get("LISTEN_FDS")
    if listen and listen.isdigit() and int(listen) > 0:
        # socket activation (sd_listen_fds): pass the sockets on as fds 3.. and tell the
        # container's pid 1 they are its own, as runc does
        extra_env = ["LISTEN_FDS=" + listen, "LISTEN_PID=1"]
        preserve += int(listen)
    return CreateOptions(bundle=v["bundle"] or ".", pid_file=v["pid-file"],
                         console_socket=v["console-socket"], no_pivot=v["no-pivot"],
                         no_new_keyring=v["no-new-keyring"], preserve_fds=preserve,
                         systemd_cgroup=g.systemd_cgroup, extra_env=extra_env,
                         rootless=is_rootless(g.rootless))


def is_rootless(flag):
    """--rootless auto: rootless when not root in the initial user namespace (as runc)."""
    if flag != "auto":
        return flag == "true"
    if os.geteuid() != 0:
        return True
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() != ["0", "0", "4294967295"]
    except OSError:
        return False


def run(g, argv):
    v, rest = A.parse(argv, FLAGS, "create")
    cid = A.need_id("create", rest)
    from pyrunc.container import lifecycle
    lifecycle.create(g.root, cid, options(g, v))
