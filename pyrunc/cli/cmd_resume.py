"""pyrunc resume ID: thaw a paused container."""

from pyrunc.cli import args as A


def run(g, argv):
    _, rest = A.parse(argv, {}, "resume")
    cid = A.need_id("resume", rest)
    from pyrunc.container import control
    control.resume(g.root, cid)
