"""pyrunc events [--stats] [--interval DURATION] ID

JSON lines as runc writes them: ``{"type":"stats","id":ID,"data":{...}}`` every interval
(default 5s) and ``{"type":"oom","id":ID}`` on each OOM kill, until the container stops;
``--stats`` prints one stats event and exits.
"""

import re
import sys

from pyrunc.cli import args as A
from pyrunc.errors import UsageError

FLAGS = A.table(("stats", None, "bool"), ("interval", None, "str"))

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(s):
    """Go's time.ParseDuration: "5s", "1m30s", "250ms", "0"."""
    if s in ("0", "+0", "-0"):
        return 0.0
    m = re.fullmatch(r"([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+", s or "")
    if not m:
        raise UsageError('invalid value "%s" for flag -interval: time: invalid duration "%s"'
                         % (s, s))
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", s):
        total += float(num) * _UNITS[unit]
    return -total if m.group(1) == "-" else total


def run(g, argv):
    v, rest = A.parse(argv, FLAGS, "events")
    cid = A.need_id("events", rest)
    interval = parse_duration(v["interval"]) if v["interval"] is not None else 5.0
    import json
    from pyrunc.container import control

    def emit(ev):
        sys.stdout.write(json.dumps(ev, separators=(",", ":")) + "\n")
        sys.stdout.flush()
    try:
        control.events(g.root, cid, interval, emit, stats_once=v["stats"])
    except BrokenPipeError:
        pass
