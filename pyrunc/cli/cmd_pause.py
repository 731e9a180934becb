"""pyrunc pause ID: freeze every process of the container (v1 freezer, v2 cgroup.freeze)."""

from pyrunc.cli import args as A


def run(g, argv):
    _, rest = A.parse(argv, {}, "pause")
    cid = A.need_id("pause", rest)
    from pyrunc.container import control
    control.pause(g.root, cid)
