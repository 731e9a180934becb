"""pyrunc kill [--all] ID [SIGNAL]: SIGNAL as a number, KILL or SIGKILL (default SIGTERM)."""

from pyrunc.cli import args as A
from pyrunc.errors import UsageError

FLAGS = A.table(("all", "a", "bool"))


def parse_signal(s):
    import _signal
    if s.isdigit():
        n = int(s)
        if 0 <= n < _signal.NSIG:  # 0 as in runc: only checks that the init is alive
            return n
        raise UsageError("unknown signal %r" % s)
    name = s.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    n = getattr(_signal, name, None)
    if isinstance(n, int) and not name.startswith("SIG_"):
        return n
    raise UsageError("unknown signal %r" % s)


def run(g, argv):
    v, rest = A.parse(argv, FLAGS, "kill")
    cid = A.need_id("kill", rest, extra=1)
    sig = parse_signal(rest[1]) if len(rest) > 1 else 15
    from pyrunc.container import lifecycle
    lifecycle.kill(g.root, cid, sig, v["all"])
