"""pyrunc check [--bundle DIR] [--format text|json]: would `create` work here, and if not,
why? Validates the config and probes the host for everything it asks, creating nothing.
Exit status 1 if create would fail; warnings are what would be ignored."""

import sys

from pyrunc.cli import args as A
from pyrunc.errors import UsageError

FLAGS = A.table(("bundle", "b", "str"), ("format", "f", "str"))


def run(g, argv):
    v, _ = A.parse(argv, FLAGS, "check")
    fmt = v["format"] or "text"
    if fmt not in ("text", "json"):
        raise UsageError("invalid format option: %s" % fmt)
    from pyrunc import hostcheck
    findings = hostcheck.check_bundle(v["bundle"] or ".")
    errors = [f for f in findings if f[0] == hostcheck.ERROR]
    if fmt == "json":
        from pyrunc import jsonio
        sys.stdout.write(jsonio.dumps({
            "ok": not errors,
            "findings": [{"level": lv, "field": fd, "message": m} for lv, fd, m in findings],
        }, indent=2) + "\n")
    else:
        for lv, fd, m in findings:
            sys.stdout.write("%s: %s: %s\n" % (lv, fd, m))
        if not findings:
            sys.stdout.write("ok: this host can run the bundle\n")
    return 1 if errors else 0
