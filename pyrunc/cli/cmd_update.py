"""pyrunc update [--resources FILE|-] [--memory N] [--cpu-quota N] ... ID

Either a LinuxResources JSON (docker's and podman's form: 0 or absent leaves a value
unchanged; with --resources every other option is ignored, as in runc) or runc's flags.
Memory values take docker's units (512m, 1g); -1 means unlimited.
"""

import re
import sys

from pyrunc.cli import args as A
from pyrunc.errors import UsageError

FLAGS = A.table(
    ("resources", "r", "str"), ("blkio-weight", None, "str"), ("cpu-period", None, "str"),
    ("cpu-quota", None, "str"), ("cpu-share", None, "str"), ("cpu-shares", None, "str"),
    ("cpu-rt-period", None, "str"), ("cpu-rt-runtime", None, "str"),
    ("cpuset-cpus", None, "str"), ("cpuset-mems", None, "str"),
    ("kernel-memory", None, "str"), ("kernel-memory-tcp", None, "str"),
    ("memory", None, "str"), ("memory-reservation", None, "str"),
    ("memory-swap", None, "str"), ("pids-limit", None, "str"),
    ("l3-cache-schema", None, "str"), ("mem-bw-schema", None, "str"),
)

_RAM = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_in_bytes(s, opt):
    """go-units RAMInBytes: "512", "512k", "1.5g", "10MiB" (binary multiples)."""
    if s == "-1":
        return -1
    m = re.fullmatch(r"(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?", s)
    if not m:
        raise UsageError("invalid value for %s: invalid size: '%s'" % (opt, s))
    return int(float(m.group(1)) * _RAM[(m.group(2) or "").lower()])


def _int(s, opt, signed):
    try:
        v = int(s, 10)
    except ValueError:
        raise UsageError("invalid value for %s: %r" % (opt, s)) from None
    if not signed and v < 0:
        raise UsageError("invalid value for %s: %r" % (opt, s))
    return v


def resources_from_flags(v):
    r = {"memory": {}, "cpu": {}, "blockIO": {}, "pids": {}}
    if v["blkio-weight"]:
        r["blockIO"]["weight"] = _int(v["blkio-weight"], "blkio-weight", False)
    if v["cpuset-cpus"]:
        r["cpu"]["cpus"] = v["cpuset-cpus"]
    if v["cpuset-mems"]:
        r["cpu"]["mems"] = v["cpuset-mems"]
    for opt, key, signed in (("cpu-period", "period", False),
                             ("cpu-rt-period", "realtimePeriod", False),
                             ("cpu-share", "shares", False), ("cpu-shares", "shares", False),
                             ("cpu-quota", "quota", True),
                             ("cpu-rt-runtime", "realtimeRuntime", True)):
        if v[opt]:
            r["cpu"][key] = _int(v[opt], opt, signed)
    for opt, key in (("memory", "limit"), ("memory-swap", "swap"),
                     ("kernel-memory", "kernel"), ("kernel-memory-tcp", "kernelTCP"),
                     ("memory-reservation", "reservation")):
        if v[opt]:
            r["memory"][key] = ram_in_bytes(v[opt], opt)
    if v["pids-limit"]:
        r["pids"]["limit"] = _int(v["pids-limit"], "pids-limit", True)
    return {k: val for k, val in r.items() if val}


def run(g, argv):
    v, rest = A.parse(argv, FLAGS, "update")
    cid = A.need_id("update", rest)
    if v["l3-cache-schema"]:
        raise UsageError("Intel RDT/CAT: l3 cache schema is not enabled")
    if v["mem-bw-schema"]:
        raise UsageError("Intel RDT/MBA: memory bandwidth schema is not enabled")
    if v["resources"]:
        from pyrunc import jsonio
        try:
            if v["resources"] == "-":
                text = sys.stdin.read()
            else:
                with open(v["resources"]) as f:
                    text = f.read()
        except OSError as e:
            raise UsageError("open %s: %s" % (v["resources"], e.strerror)) from None
        try:
            res = jsonio.loads(text)
        except ValueError as e:
            raise UsageError("update: invalid resources JSON: %s" % e) from None
        if not isinstance(res, dict):
            raise UsageError("update: resources must be a JSON object")
    else:
        res = resources_from_flags(v)
    from pyrunc.container import control
    control.update(g.root, cid, res)
