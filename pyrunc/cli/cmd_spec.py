"""pyrunc spec [--bundle DIR] [--rootless]: write a default config.json, like runc spec."""

import os

from pyrunc.cli import args as A
from pyrunc.errors import PyruncError

FLAGS = A.table(("bundle", "b", "str"), ("rootless", None, "bool"))


def run(g, argv):
    v, _ = A.parse(argv, FLAGS, "spec")
    from pyrunc import jsonio
    from pyrunc.spec.default import default_spec
    path = os.path.join(v["bundle"] or ".", "config.json")
    if os.path.exists(path):
        raise PyruncError("File config.json exists. Remove it first")
    try:
        with open(path, "x") as f:
            f.write(_tabs(jsonio.dumps(default_spec(rootless=v["rootless"]), indent=1)))
    except OSError as e:
        raise PyruncError("%s: %s" % (path, e.strerror)) from None


def _tabs(text):
    """runc's layout (Go's json.MarshalIndent with a tab): one tab per level, no newline at
    the end of the file."""
    out = []
    for line in text.split("\n"):
        body = line.lstrip(" ")
        out.append("\t" * (len(line) - len(body)) + body)
    return "\n".join(out)
