"""pyrunc start ID: let a created container exec its process."""

from pyrunc.cli import args as A


def run(g, argv):
    _, rest = A.parse(argv, {}, "start")
    cid = A.need_id("start", rest)
    from pyrunc.container import lifecycle
    lifecycle.start(g.root, cid)
