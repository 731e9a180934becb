"""pyrunc list [--format table|json] [-q]"""

import sys

from pyrunc.cli import args as A
from pyrunc.errors import UsageError

FLAGS = A.table(("format", "f", "str"), ("quiet", "q", "bool"))


def run(g, argv):
    v, _ = A.parse(argv, FLAGS, "list")
    from pyrunc.container import lifecycle
    fmt = v["format"] or "table"
    if fmt not in ("table", "json"):
        raise UsageError("invalid format option")
    states = lifecycle.list_states(g.root)
    if v["quiet"]:
        sys.stdout.write("".join(s["id"] + "\n" for s in states))
        return
    if fmt == "json":
        from pyrunc import jsonio
        sys.stdout.write(jsonio.dumps(states) + "\n")
        return
    rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
    for s in states:
        rows.append((s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"],
                     s["owner"] or "root"))
    widths = [max(len(r[i]) for r in rows) + 3 for i in range(5)]
    out = []
    for r in rows:
        out.append("".join(c.ljust(w) for c, w in zip(r, widths)) + r[5])
    sys.stdout.write("\n".join(out) + "\n")
