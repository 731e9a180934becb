"""TAP 13 parsing, and running opencontainers/runtime-tools' validation suite against a runtime.

runtime-tools' ``validation/*.t`` programs (Go, built with ``make runtimetest
validation-executables``) each drive the runtime named by ``$RUNTIME`` through the OCI command
line and print a TAP stream.  ``parse(text)`` reads one such stream; ``run_suite(...)`` runs a
directory of them and ``Expectations`` compares the outcome with a list of tests expected to fail
on the host (``conformance/runtime-tools-expected-failures.txt``).  The command line is
``conformance/run-runtime-tools``.

The parser is lenient, as TAP consumers are: anything it does not understand is kept (``extra``)
and problems are listed in ``errors`` instead of raising.  What it understands (TAP 13, as
runtime-tools' tap-go writes it, and the common rest):

* ``TAP version 13`` (optional, first line);
* a plan ``1..N`` at the start or the end, ``1..0 # SKIP reason`` to skip everything;
* test points ``ok``/``not ok``, an optional number, an optional ``- description``, an optional
  ``# SKIP reason`` / ``# TODO reason`` directive (``\\#`` is a literal ``#``); a missing number
  is the next one;
* a YAML diagnostic block (``---`` ... ``...``, indented) after a test point; tap-go writes
  JSON in it, which is decoded, else simple ``key: value`` lines are, else the text is kept;
* ``# comments``, attached to the preceding test point (or to the header);
* ``Bail out! reason``: the stream stops there.

runtime-tools quirk: several tests (hooks, prestart, poststop...) report a failure only as a YAML
block with an ``error`` field that follows no test point, then print the plan ``1..0``.  The
parser keeps such blocks in ``orphan_yaml``; ``classify`` counts one with an ``error`` as a
failure instead of "skipped everything".
"""

import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

__all__ = ["TestPoint", "TapResult", "parse", "Expectation", "Expectations", "FileResult",
           "classify", "run_one", "run_suite", "find_tests", "format_report"]

# -- parsing ------------------------------------------------------------------------------------

_VERSION = re.compile(r"^TAP version (\d+)\s*$", re.I)
_PLAN = re.compile(r"^1\.\.(\d+)\s*(?:#\s*(.*))?$")
_POINT = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(.*)$")
_BAIL = re.compile(r"^Bail out!\s*(.*)$", re.I)
_DIRECTIVE = re.compile(r"^(skip|todo)[a-z]*:?(?:\s+(.*))?$", re.I | re.S)


class TestPoint:
    __slots__ = ("number", "ok", "description", "directive", "reason", "yaml", "diagnostics",
                 "line")

    def __init__(self, number, ok, description="", directive=None, reason="", line=0):
        self.number = number
        self.ok = ok
        self.description = description
        self.directive = directive      # None, "SKIP" or "TODO"
        self.reason = reason
        self.yaml = None                # decoded YAML block (dict/list/str) or None
        self.diagnostics = []           # "# ..." lines that followed it
        self.line = line

    @property
    def skipped(self):
        return self.directive == "SKIP"

    @property
    def todo(self):
        return self.directive == "TODO"

    @property
    def failed(self):
        """A real failure: not ok, and not excused by TODO (a "not ok # SKIP" still fails)."""
        return not self.ok and not self.todo

    @property
    def passed(self):
        return self.ok and self.directive is None

    def __repr__(self):
        d = " # %s %s" % (self.directive, self.reason) if self.directive else ""
        return "<%s %s - %s%s>" % ("ok" if self.ok else "not ok", self.number,
                                   self.description, d)


class TapResult:
    def __init__(self):
        self.version = None
        self.plan = None                # number of tests planned, or None
        self.plan_reason = ""           # "1..0 # SKIP why"
        self.plan_line = 0
        self.points = []
        self.bailed_out = None          # the reason, or None
        self.header_diagnostics = []    # comments before the first point
        self.orphan_yaml = []           # YAML blocks that follow no test point
        self.extra = []                 # lines that are not TAP
        self.errors = []                # what is wrong with the stream

    # counts
    @property
    def passed(self):
        return [p for p in self.points if p.passed]

    @property
    def failed(self):
        return [p for p in self.points if p.failed]

    @property
    def skipped(self):
        return [p for p in self.points if p.skipped and not p.failed]

    @property
    def todo(self):
        return [p for p in self.points if p.todo]

    @property
    def skip_all(self):
        return self.plan == 0 and not self.points

    @property
    def ok(self):
        """The stream, on its own, says everything passed."""
        return not self.failed and self.bailed_out is None and not self.errors

    def orphan_errors(self):
        """The ``error`` of every orphan YAML block that has one (runtime-tools' hook tests)."""
        out = []
        for y in self.orphan_yaml:
            if isinstance(y, dict) and y.get("error"):
                out.append(str(y["error"]))
        return out


def _unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] == '"':
        try:
            return json.loads(v)
        except ValueError:
            return v[1:-1]
    if len(v) >= 2 and v[0] == v[-1] == "'":
        return v[1:-1].replace("''", "'")
    return v


_KEY = re.compile(r"^([^\s:#][^:]*):(?:\s+(.*))?$")


def _decode_yaml(lines):
    """The body of a YAML block, decoded as far as this subset goes.

    JSON (tap-go's default) is decoded with json; otherwise a mapping of ``key: scalar``,
    ``key: |`` / ``key: >`` block scalars and one level of nested ``key: value`` lines;
    anything else is returned as the text."""
    text = "\n".join(lines)
    stripped = text.strip()
    if not stripped:
        return {}
    if stripped[:1] in "{[":
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    out = {}
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[:1] in " \t":
            return text
        m = _KEY.match(line.rstrip())
        if not m:
            return text
        key, value = m.group(1).strip(), (m.group(2) or "").strip()
        block = []
        while i < n and (not lines[i].strip() or lines[i][:1] in " \t"):
            block.append(lines[i])
            i += 1
        while block and not block[-1].strip():
            block.pop()
        if value and value[0] in "|>":
            ind = min(len(b) - len(b.lstrip()) for b in block if b.strip()) if block else 0
            body = [b[ind:] for b in block]
            if value[:1] == ">":
                joined = " ".join(b for b in body if b)
            else:
                joined = "\n".join(body)
            if "-" not in value:
                joined += "\n"
            out[key] = joined
        elif value:
            if block:
                return text
            out[key] = _unquote(value)
        else:
            nested = {}
            for b in block:
                if not b.strip():
                    continue
                mm = _KEY.match(b.strip())
                if not mm:
                    return text
                nested[mm.group(1).strip()] = _unquote(mm.group(2) or "")
            out[key] = nested if block else None
    return out


def _split_description(rest):
    """'- desc # SKIP why' -> (desc, directive, reason); honours '\\#'."""
    i = 0
    cut = None
    while i < len(rest):
        c = rest[i]
        if c == "\\" and i + 1 < len(rest):
            i += 2
            continue
        if c == "#":
            m = _DIRECTIVE.match(rest[i + 1:].strip())
            if m:
                cut = i
                break
        i += 1
    directive = reason = None
    if cut is not None:
        m = _DIRECTIVE.match(rest[cut + 1:].strip())
        directive = "SKIP" if m.group(1).lower().startswith("skip") else "TODO"
        reason = (m.group(2) or "").strip()
        rest = rest[:cut]
    desc = rest.strip()
    if desc.startswith("-"):
        desc = desc[1:].strip()
    desc = desc.replace("\\#", "#")
    return desc, directive, reason or ""


def parse(text):
    """Parse a TAP stream (str or bytes) into a ``TapResult``.  Never raises."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    r = TapResult()
    lines = text.splitlines()
    expected_next = 1
    seen_numbers = set()
    last = None                  # the test point comments and YAML attach to
    plan_is_trailing = False     # the plan came after test points: nothing may follow it
    seen_content = False
    yaml_owner_ok = False        # a YAML block may follow only the line right after a point
    i = 0
    n = len(lines)
    while i < n:
        raw = lines[i]
        line_no = i + 1
        i += 1
        line = raw.rstrip("\r")
        stripped = line.strip()
        if not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        # YAML block
        if stripped == "---" and indent > 0:
            body = []
            closed = False
            while i < n:
                nxt = lines[i].rstrip("\r")
                i += 1
                if nxt.strip() == "...":
                    closed = True
                    break
                body.append(nxt[indent:] if nxt[:indent].strip() == "" else nxt)
            if not closed:
                r.errors.append("line %d: YAML block is not terminated by '...'" % line_no)
            value = _decode_yaml(body)
            if yaml_owner_ok and last is not None and last.yaml is None:
                last.yaml = value
            else:
                r.orphan_yaml.append(value)
            yaml_owner_ok = False
            continue
        if stripped.startswith("#"):
            # a comment: to the preceding test point (a YAML block may still follow it)
            comment = stripped[1:].strip()
            if last is not None:
                last.diagnostics.append(comment)
            else:
                r.header_diagnostics.append(comment)
            continue
        yaml_owner_ok = False
        m = _VERSION.match(stripped)
        if m:
            if seen_content:
                r.errors.append("line %d: 'TAP version' is not the first line" % line_no)
            else:
                r.version = int(m.group(1))
            seen_content = True
            continue
        seen_content = True
        m = _BAIL.match(stripped)
        if m:
            r.bailed_out = m.group(1).strip() or "(no reason)"
            break
        m = _PLAN.match(stripped)
        if m and indent == 0:
            if r.plan is not None:
                r.errors.append("line %d: more than one plan" % line_no)
            else:
                r.plan = int(m.group(1))
                r.plan_line = line_no
                plan_is_trailing = bool(r.points)
                reason = (m.group(2) or "").strip()
                dm = _DIRECTIVE.match(reason)
                r.plan_reason = (dm.group(2) or "").strip() if dm else reason
            continue
        m = _POINT.match(stripped)
        if m and indent == 0:
            ok = m.group(1) == "ok"
            number = int(m.group(2)) if m.group(2) else None
            desc, directive, reason = _split_description(m.group(3))
            if r.plan is not None and plan_is_trailing:
                r.errors.append("line %d: test point after the closing plan" % line_no)
            if number is None:
                number = expected_next
            elif number != expected_next:
                r.errors.append("line %d: test number %d out of sequence (expected %d)"
                                % (line_no, number, expected_next))
            if number in seen_numbers:
                r.errors.append("line %d: test number %d used twice" % (line_no, number))
            seen_numbers.add(number)
            expected_next = number + 1
            last = TestPoint(number, ok, desc, directive, reason, line_no)
            r.points.append(last)
            yaml_owner_ok = True
            continue
        r.extra.append(line)
    # the plan against what ran
    if r.bailed_out is None:
        if r.plan is None:
            r.errors.append("no plan")
        elif r.plan != len(r.points):
            r.errors.append("planned %d tests but ran %d" % (r.plan, len(r.points)))
    return r


# -- expectations -------------------------------------------------------------------------------


class Expectation:
    """One line of the expected-failures file: TEST | POINT | RUNTIME | REASON."""

    def __init__(self, test, point, runtime, reason, line=0):
        self.test = test
        self.point = point
        self.runtime = runtime
        self.reason = reason
        self.line = line

    @property
    def whole_file(self):
        return self.point == "*"

    def applies_to(self, test, runtime_name):
        return fnmatch.fnmatchcase(test, self.test) and \
            (self.runtime == "*" or self.runtime == runtime_name)

    def matches_point(self, point):
        if self.whole_file:
            return True
        if self.point.startswith("#"):
            try:
                return point.number == int(self.point[1:])
            except ValueError:
                return False
        return fnmatch.fnmatchcase(point.description, self.point)

    def __repr__(self):
        return "%s | %s | %s" % (self.test, self.point, self.runtime)


class Expectations:
    def __init__(self, entries=()):
        self.entries = list(entries)

    @classmethod
    def parse(cls, text):
        entries = []
        for no, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|", 3)]
            if len(parts) != 4 or not all(parts[:3]) or not parts[3]:
                raise ValueError("line %d: want 'TEST | POINT | RUNTIME | REASON': %r"
                                 % (no, raw))
            entries.append(Expectation(parts[0], parts[1], parts[2], parts[3], no))
        return cls(entries)

    @classmethod
    def load(cls, path):
        if not path or not os.path.exists(path):
            return cls()
        with open(path) as f:
            return cls.parse(f.read())

    def for_test(self, test, runtime_name):
        return [e for e in self.entries if e.applies_to(test, runtime_name)]


# -- running ------------------------------------------------------------------------------------


class FileResult:
    """One .t program's run: its TAP, how it exited, and the verdict against expectations."""

    def __init__(self, name, path):
        self.name = name          # the .t file name without .t
        self.path = path
        self.tap = TapResult()
        self.returncode = None
        self.timed_out = False
        self.stderr = ""
        self.stdout = ""
        self.duration = 0.0
        self.run_error = None     # could not be started
        self.status = None        # PASS FAIL XFAIL XPASS SKIP
        self.problems = []        # why it failed, in order (first = the "first failure")
        self.expected = []        # Expectation entries that applied
        self.unexpected = []      # problems no expectation covers
        self.stale = []           # expectations that did not happen


def _file_problems(fr):
    """Why a run failed, as (kind, text, point-or-None), in the order a reader wants them."""
    out = []
    if fr.run_error:
        out.append(("run", fr.run_error, None))
        return out
    if fr.timed_out:
        out.append(("timeout", "timed out", None))
    t = fr.tap
    for p in t.failed:
        text = "not ok %d - %s" % (p.number, p.description or "(no description)")
        if p.skipped:
            text += " # SKIP"
        out.append(("point", text, p))
    if t.bailed_out is not None:
        out.append(("bail", "Bail out! %s" % t.bailed_out, None))
    if not t.points:
        for err in t.orphan_errors():
            out.append(("diagnostic", "error: %s" % err.splitlines()[0] if err else err, None))
    crashed = fr.returncode not in (0, None) and not fr.timed_out
    if crashed:
        err = fr.stderr.strip().splitlines()
        tail = (": " + err[-1]) if err else ""
        out.append(("exit", "exited with status %d%s" % (fr.returncode, tail), None))
    for e in t.errors:
        if (fr.timed_out or crashed) and e.startswith(("no plan", "planned")):
            continue        # the timeout or the crash already says why
        out.append(("tap", e, None))
    return out


def classify(fr, expectations, runtime_name):
    """Set fr.status and friends: PASS, SKIP, FAIL (unexpected), XFAIL, XPASS."""
    fr.problems = _file_problems(fr)
    fr.expected = expectations.for_test(fr.name, runtime_name)
    whole = [e for e in fr.expected if e.whole_file]
    partial = [e for e in fr.expected if not e.whole_file]
    if not fr.problems:
        fr.unexpected = []
        fr.stale = list(fr.expected)
        if fr.stale:
            fr.status = "XPASS"
        elif fr.tap.skip_all or (fr.tap.points and all(p.skipped for p in fr.tap.points)):
            fr.status = "SKIP"
        else:
            fr.status = "PASS"
        return fr
    if whole:
        fr.unexpected = []
        fr.stale = []
        fr.status = "XFAIL"
        return fr
    unexpected = []
    used = set()
    for kind, text, point in fr.problems:
        hit = [e for e in partial if point is not None and e.matches_point(point)]
        if hit:
            used.update(id(e) for e in hit)
        else:
            unexpected.append((kind, text, point))
    fr.unexpected = unexpected
    fr.stale = [e for e in partial if id(e) not in used]
    fr.status = "FAIL" if unexpected else "XFAIL"
    return fr


def find_tests(suite, only=()):
    """Every ``*.t`` under ``suite`` (recursively), sorted, filtered by ``only`` globs/regexes."""
    found = []
    for dirpath, dirs, files in os.walk(suite):
        dirs.sort()
        for f in files:
            if f.endswith(".t"):
                found.append(os.path.join(dirpath, f))
    found.sort(key=lambda p: (os.path.basename(p), p))
    if only:
        keep = []
        for p in found:
            name = os.path.basename(p)[:-2]
            rel = os.path.relpath(p, suite)
            for pat in only:
                if fnmatch.fnmatchcase(name, pat) or fnmatch.fnmatchcase(rel, pat) or \
                        _re_search(pat, name):
                    keep.append(p)
                    break
        found = keep
    return found


def _re_search(pat, s):
    try:
        return re.fullmatch(pat, s) is not None
    except re.error:
        return False


def run_one(path, runtime, timeout, workdir=None, env=None):
    """Run one .t program with RUNTIME set; return its FileResult (not yet classified)."""
    name = os.path.basename(path)[:-2]
    fr = FileResult(name, path)
    e = dict(os.environ if env is None else env)
    e["RUNTIME"] = runtime
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            # a session of its own, so a timeout kills the whole tree (the .t, runtimes, sleeps)
            p = subprocess.Popen([os.path.abspath(path)], cwd=workdir, env=e,
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 start_new_session=True)
        except OSError as ex:
            fr.run_error = "cannot run: %s" % ex
            fr.duration = time.monotonic() - start
            return fr
        try:
            fr.returncode = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            fr.timed_out = True
            _kill_group(p)
            fr.returncode = p.wait()
        fr.duration = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        fr.stdout = out.read().decode("utf-8", "replace")
        fr.stderr = err.read().decode("utf-8", "replace")
    fr.tap = parse(fr.stdout)
    return fr


def _kill_group(p):
    import signal
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=2)
            return
        except subprocess.TimeoutExpired:
            continue


def run_suite(tests, runtime, expectations, runtime_name=None, jobs=1, timeout=300,
              workdir=None, on_done=None):
    """Run every path in ``tests``; [FileResult] in the order of ``tests``, classified."""
    runtime_name = runtime_name or os.path.basename(runtime)

    def one(path):
        fr = run_one(path, runtime, timeout, workdir)
        classify(fr, expectations, runtime_name)
        if on_done:
            on_done(fr)
        return fr

    if jobs <= 1:
        return [one(p) for p in tests]
    with ThreadPoolExecutor(max_workers=jobs) as ex:
        return list(ex.map(one, tests))


# -- reporting ----------------------------------------------------------------------------------


def _first_failure(fr):
    if fr.status == "FAIL" and fr.unexpected:
        return fr.unexpected[0][1]
    if fr.problems:
        return fr.problems[0][1]
    if fr.status == "XPASS":
        return "expected to fail: %s" % fr.stale[0].reason
    if fr.status == "SKIP":
        return fr.tap.plan_reason or (fr.tap.points[0].reason if fr.tap.points else
                                      "no test points")
    return ""


def _clip(s, n):
    s = " ".join(str(s).split())
    return s if len(s) <= n else s[:n - 3] + "..."


def format_report(results, runtime, width=None):
    """The per-test table and the summary, as text."""
    rows = []
    for fr in results:
        t = fr.tap
        rows.append((fr.name, str(len(t.passed)), str(len(t.failed)),
                     str(len(t.skipped) + len(t.todo)), fr.status, _first_failure(fr)))
    namew = max([4] + [len(r[0]) for r in rows])
    out = []
    head = "%-*s %5s %5s %5s  %-6s %s" % (namew, "test", "pass", "fail", "skip", "status",
                                         "first failure / note")
    out.append(head)
    out.append("-" * min(len(head) + 20, 120))
    for r in rows:
        out.append("%-*s %5s %5s %5s  %-6s %s" % (namew, r[0], r[1], r[2], r[3], r[4],
                                                  _clip(r[5], 100)))
    out.append("")
    by = {}
    for fr in results:
        by[fr.status] = by.get(fr.status, 0) + 1
    points = [sum(len(getattr(fr.tap, k)) for fr in results)
              for k in ("passed", "failed", "skipped", "todo")]
    out.append("runtime: %s" % runtime)
    out.append("files: %d  passed %d  failed %d  expected failures %d  unexpected passes %d  "
               "skipped %d" % (len(results), by.get("PASS", 0), by.get("FAIL", 0),
                               by.get("XFAIL", 0), by.get("XPASS", 0), by.get("SKIP", 0)))
    out.append("test points: passed %d  failed %d  skipped %d  todo %d" % tuple(points))
    fails = [fr for fr in results if fr.status == "FAIL"]
    if fails:
        out.append("")
        out.append("UNEXPECTED FAILURES:")
        for fr in fails:
            for kind, text, _ in fr.unexpected:
                out.append("  %s: %s" % (fr.name, _clip(text, 150)))
    stale = [(fr, e) for fr in results for e in fr.stale]
    if stale:
        out.append("")
        out.append("EXPECTED TO FAIL BUT DID NOT (update %s):" % "the expected-failures file")
        for fr, e in stale:
            out.append("  %s | %s | %s  (line %d: %s)" % (e.test, e.point, e.runtime, e.line,
                                                         _clip(e.reason, 80)))
    return "\n".join(out) + "\n"


def results_json(results, runtime):
    out = {"runtime": runtime, "tests": []}
    for fr in results:
        out["tests"].append({
            "name": fr.name, "path": fr.path, "status": fr.status,
            "returncode": fr.returncode, "timed_out": fr.timed_out,
            "duration": round(fr.duration, 3),
            "passed": len(fr.tap.passed), "failed": len(fr.tap.failed),
            "skipped": len(fr.tap.skipped), "todo": len(fr.tap.todo),
            "problems": [text for _, text, _ in fr.problems],
            "unexpected": [text for _, text, _ in fr.unexpected],
            "stale_expectations": [repr(e) for e in fr.stale],
        })
    return out


def main(argv=None):
    import argparse
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(
        prog="run-runtime-tools",
        description="Run opencontainers/runtime-tools' validation/*.t programs against a "
                    "runtime and compare with the expected failures of this kind of host.")
    ap.add_argument("--suite", required=True,
                    help="directory holding the built *.t programs (searched recursively), "
                         "e.g. a runtime-tools checkout after 'make runtimetest "
                         "validation-executables'")
    ap.add_argument("--runtime", default=None,
                    help="the runtime binary (RUNTIME for the tests); default: pyrunc")
    ap.add_argument("--jobs", "-j", type=int, default=1,
                    help="tests run at once (default 1: the cgroup tests share /cgrouptest)")
    ap.add_argument("--only", action="append", default=[], metavar="PATTERN",
                    help="run only tests whose name (or path under --suite) matches this glob, "
                         "or fully matches it as a regex; repeatable")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per test (300)")
    ap.add_argument("--workdir", default=None,
                    help="where the tests run: it must hold 'runtimetest' and "
                         "'rootfs-<arch>.tar.gz' (default: --suite)")
    ap.add_argument("--expected", default=os.path.join(here,
                                                       "runtime-tools-expected-failures.txt"),
                    help="expected-failures file (default: %(default)s)")
    ap.add_argument("--runtime-name", default=None,
                    help="name the expected-failures RUNTIME column matches (default: the "
                         "runtime's file name)")
    ap.add_argument("--tap-dir", default=None, help="save each test's stdout/stderr here")
    ap.add_argument("--json", default=None, metavar="FILE", help="also write results as JSON")
    ap.add_argument("--strict", action="store_true",
                    help="also fail when an expected failure passes")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print each unexpected failure's YAML diagnostics")
    a = ap.parse_args(argv)

    runtime = a.runtime or _default_runtime(here)
    if os.sep in runtime:
        runtime = os.path.abspath(runtime)
    if not os.path.isdir(a.suite):
        ap.error("--suite %s is not a directory" % a.suite)
    workdir = os.path.abspath(a.workdir or a.suite)
    tests = find_tests(a.suite, a.only)
    if not tests:
        print("no *.t programs under %s%s" % (a.suite, " matching --only" if a.only else ""),
              file=sys.stderr)
        return 2
    if a.expected and not os.path.exists(a.expected):
        print("no expected-failures file %s" % a.expected, file=sys.stderr)
        return 2
    try:
        expectations = Expectations.load(a.expected)
    except ValueError as e:
        print("%s: %s" % (a.expected, e), file=sys.stderr)
        return 2
    missing = [f for f in ("runtimetest",) if not os.path.exists(os.path.join(workdir, f))]
    if missing:
        print("warning: %s has no %s: tests that run it inside the container will fail"
              % (workdir, ", ".join(missing)), file=sys.stderr)
    name = a.runtime_name or os.path.basename(runtime)

    def progress(fr):
        print("%-6s %s (%.1fs)" % (fr.status, fr.name, fr.duration), file=sys.stderr,
              flush=True)
        if a.tap_dir:
            os.makedirs(a.tap_dir, exist_ok=True)
            with open(os.path.join(a.tap_dir, fr.name + ".tap"), "w") as f:
                f.write(fr.stdout)
            with open(os.path.join(a.tap_dir, fr.name + ".stderr"), "w") as f:
                f.write(fr.stderr)

    results = run_suite(tests, runtime, expectations, name, a.jobs, a.timeout, workdir,
                        on_done=progress)
    sys.stdout.write(format_report(results, runtime))
    if a.verbose:
        for fr in results:
            for kind, text, point in fr.unexpected:
                if point is not None and (point.yaml or point.diagnostics):
                    print("\n%s: %s" % (fr.name, text))
                    if point.yaml is not None:
                        print("  " + json.dumps(point.yaml, indent=1).replace("\n", "\n  "))
                    for d in point.diagnostics:
                        print("  # " + d)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results_json(results, runtime), f, indent=1)
    bad = any(fr.status == "FAIL" for fr in results)
    if a.strict and any(fr.stale for fr in results):
        bad = True
    return 1 if bad else 0


def _default_runtime(here):
    import shutil
    exe = shutil.which("pyrunc")
    if exe:
        return exe
    return os.path.join(os.path.dirname(here), ".venv", "bin", "pyrunc")
