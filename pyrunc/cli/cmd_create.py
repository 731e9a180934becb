"""pyrunc create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot]
[--no-new-keyring] [--preserve-fds N] ID"""

from pyrunc.cli import args as A

FLAGS = A.table(
    ("bundle", "b", "str"), ("pid-file", None, "str"), ("console-socket", None, "str"),
    ("no-pivot", None, "bool"), ("no-new-keyring", None, "bool"),
    ("preserve-fds", None, "int"),
)


def options(g, v):
    from pyrunc.container.lifecycle import CreateOptions
    return CreateOptions(bundle=v["bundle"] or ".", pid_file=v["pid-file"],
                         console_socket=v["console-socket"], no_pivot=v["no-pivot"],
                         no_new_keyring=v["no-new-keyring"],
                         preserve_fds=v["preserve-fds"] or 0,
                         systemd_cgroup=g.systemd_cgroup)


def run(g, argv):
    v, rest = A.parse(argv, FLAGS, "create")
    cid = A.need_id("create", rest)
    from pyrunc.container import lifecycle
    lifecycle.create(g.root, cid, options(g, v))
