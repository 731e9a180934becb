"""pyrunc state ID: the runtime-spec state as JSON on stdout (nothing on stderr)."""

import sys

from pyrunc.cli import args as A


def run(g, argv):
    _, rest = A.parse(argv, {}, "state")
    cid = A.need_id("state", rest)
    from pyrunc import jsonio
    from pyrunc.container import lifecycle
    sys.stdout.write(jsonio.dumps(lifecycle.state(g.root, cid), indent=2) + "\n")
