"""pyrunc delete [--force] ID: remove a stopped (or created) container; --force kills first."""

from pyrunc.cli import args as A

FLAGS = A.table(("force", "f", "bool"))


def run(g, argv):
    v, rest = A.parse(argv, FLAGS, "delete")
    cid = A.need_id("delete", rest)
    from pyrunc.container import lifecycle
    lifecycle.delete(g.root, cid, v["force"])
