"""pyrunc ps [--format table|json] ID [ps options...]

json: the container's host pids as ``[pid,...]`` (``null`` when there are none, as runc's Go
encoder writes an empty list), newline-terminated, on stdout only (containerd parses stdout and
stderr together). table: ``ps -ef`` (or the given ps options) filtered to those pids.
"""

import sys

from pyrunc.cli import args as A
from pyrunc.errors import PyruncError, UsageError

FLAGS = A.table(("format", "f", "str"))


def run(g, argv):
    v, rest = A.parse(argv, FLAGS, "ps")
    if not rest:
        raise UsageError('"ps" requires a minimum of 1 argument(s)')
    cid, ps_args = rest[0], rest[1:]
    fmt = v["format"] or "table"
    if fmt not in ("table", "json"):
        raise UsageError("invalid format option")
    from pyrunc.container import control
    pids = control.processes(g.root, cid)
    if fmt == "json":
        sys.stdout.write(("[%s]" % ",".join(map(str, pids)) if pids else "null") + "\n")
        return
    import subprocess
    cp = subprocess.run(["ps"] + (ps_args or ["-ef"]), stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out = cp.stdout.decode(errors="replace")
    if cp.returncode != 0:
        raise PyruncError("exit status %d: %s" % (cp.returncode, out))
    lines = out.split("\n")
    titles = lines[0].split()
    if "PID" not in titles:
        raise PyruncError("couldn't find PID field in ps output")
    idx = titles.index("PID")
    want = set(pids)
    res = [lines[0]]
    for line in lines[1:]:
        if not line:
            continue
        fields = line.split()
        try:
            p = int(fields[idx])
        except (ValueError, IndexError):
            raise PyruncError("unable to parse pid: %r" % line) from None
        if p in want:
            res.append(line)
    sys.stdout.write("\n".join(res) + "\n")
