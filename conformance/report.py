#!/usr/bin/env python3
"""Runtime-spec conformance coverage: requirements.tsv against a pytest run.

    python3 conformance/report.py                   # the table alone: which rows have tests
    python3 conformance/report.py --junit FILE      # an existing pytest --junitxml result
    python3 conformance/report.py --run [-- ARGS]   # run pytest over the mapped tests first

Each row of conformance/requirements.tsv is one MUST/SHOULD/REQUIRED of runtime-spec; its tests
are the node ids in its ``tests`` column plus every test marked ``@pytest.mark.req("ID")``
(found by reading the test files, so it also works on a junit file made elsewhere).  A row is

  passing      every matched result passed (skips aside)
  failing      a matched test failed or errored
  xfail        a matched test is an expected failure: a known pyrunc bug or deviation
  skipped      its tests were all skipped (e.g. cgroup v2 tests on a v1 host)
  not run      it names tests, but the results have none of them
  untested     no test names it: a gap (the note says why)
  untestable   no test, and the note says this host cannot check it ("UNTESTABLE HERE")
  n/a          kind "na": not a Linux runtime's business (other platforms, author rules)

Results of the reference runtime (a parametrization whose id starts or ends with "runc", as in
conformance/test_lifecycle_conformance.py) describe runc, not pyrunc: they are left out.

Exit status: 1 when a row is failing (with --strict also when one is not run), else 0.
"""

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TABLE = os.path.join(HERE, "requirements.tsv")
COLUMNS = ["id", "spec", "level", "kind", "requirement", "tests", "note"]
LEVELS = ["MUST", "MUST NOT", "REQUIRED", "SHOULD", "SHOULD NOT"]
KINDS = ["runtime", "config", "na"]
SPEC_FILES = ["runtime.md", "runtime-linux.md", "config.md", "config-linux.md"]
STATUSES = ["passing", "failing", "xfail", "skipped", "not run", "untested", "untestable",
            "n/a"]
UNTESTABLE = "UNTESTABLE HERE"


# -- the table ----------------------------------------------------------------------------------


class Row:
    def __init__(self, fields, line):
        (self.id, self.spec, self.level, self.kind, self.text, tests, self.note) = fields
        self.line = line
        self.tests = split_tests(tests)
        self.file = self.spec.split("#", 1)[0]
        # filled by evaluate()
        self.marked = []
        self.results = {}
        self.status = None

    @property
    def refs(self):
        return self.tests + [m for m in self.marked if m not in self.tests]


def split_tests(field):
    """Space-separated node ids; spaces inside [...] belong to a parametrization id."""
    field = field.strip()
    if field in ("", "-"):
        return []
    out, cur, depth = [], [], 0
    for c in field:
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        if c.isspace() and depth == 0:
            if cur:
                out.append("".join(cur))
                cur = []
            continue
        cur.append(c)
    if cur:
        out.append("".join(cur))
    return out


class TableError(ValueError):
    pass


def load_table(path=TABLE):
    rows = []
    header = None
    with open(path, encoding="utf-8") as f:
        for no, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if header is None:
                if fields != COLUMNS:
                    raise TableError("%s:%d: header must be %s" % (path, no, "\\t".join(COLUMNS)))
                header = fields
                continue
            if len(fields) != len(COLUMNS):
                raise TableError("%s:%d: %d fields, want %d" % (path, no, len(fields),
                                                                len(COLUMNS)))
            rows.append(Row(fields, no))
    if header is None:
        raise TableError("%s: no header line" % path)
    return rows


# -- @pytest.mark.req in the test files --------------------------------------------------------


def test_files(repo=REPO):
    out = []
    for base in ("tests", "conformance"):
        for dirpath, dirs, files in os.walk(os.path.join(repo, base)):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
            for f in sorted(files):
                if f.startswith("test_") and f.endswith(".py"):
                    out.append(os.path.relpath(os.path.join(dirpath, f), repo))
    return out


def _req_ids(node, aliases):
    """The ids of a ``pytest.mark.req("A", "B")`` / ``req("A")`` call node, else None."""
    if not isinstance(node, ast.Call):
        return None
    f = node.func
    name = None
    if isinstance(f, ast.Attribute) and f.attr == "req":
        name = "req"
    elif isinstance(f, ast.Name) and f.id in aliases:
        name = f.id
    if name is None:
        return None
    ids = []
    for a in node.args:
        if isinstance(a, ast.Constant) and isinstance(a.value, str):
            ids.append(a.value)
    return ids


def _mark_aliases(tree):
    """Module-level names bound to pytest.mark.req (``req = pytest.mark.req``)."""
    out = set()
    for n in tree.body:
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Attribute) and \
                n.value.attr == "req":
            out.update(t.id for t in n.targets if isinstance(t, ast.Name))
    return out


def scan_markers(repo=REPO, files=None):
    """{requirement id: [node id prefixes]} declared with @pytest.mark.req in test files."""
    found = {}

    def add(ids, nodeid):
        for i in ids:
            found.setdefault(i, [])
            if nodeid not in found[i]:
                found[i].append(nodeid)

    for rel in files if files is not None else test_files(repo):
        try:
            with open(os.path.join(repo, rel), encoding="utf-8") as f:
                tree = ast.parse(f.read(), rel)
        except (OSError, SyntaxError):
            continue
        aliases = _mark_aliases(tree)
        for n in tree.body:
            # pytestmark = pytest.mark.req(...) or [..., pytest.mark.req(...)]
            if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and
                                                 t.id == "pytestmark" for t in n.targets):
                vals = n.value.elts if isinstance(n.value, (ast.List, ast.Tuple)) \
                    else [n.value]
                for v in vals:
                    ids = _req_ids(v, aliases)
                    if ids:
                        add(ids, rel)

        def walk(body, prefix):
            for n in body:
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    nodeid = prefix + "::" + n.name
                    for d in n.decorator_list:
                        ids = _req_ids(d, aliases)
                        if ids:
                            add(ids, nodeid)
                    if isinstance(n, ast.ClassDef):
                        walk(n.body, nodeid)
        walk(tree.body, rel)
    return found


# -- results ------------------------------------------------------------------------------------


def _classname_to_path(classname, repo):
    """'tests.unit.test_x.TestY' -> ('tests/unit/test_x.py', ['TestY'])."""
    parts = classname.split(".")
    for i in range(len(parts), 0, -1):
        cand = "/".join(parts[:i]) + ".py"
        if os.path.isfile(os.path.join(repo, cand)):
            return cand, parts[i:]
    # not on this machine: the module is what comes before the first CamelCase part
    for i, p in enumerate(parts):
        if p[:1].isupper():
            return "/".join(parts[:i]) + ".py", parts[i:]
    return "/".join(parts) + ".py", []


def parse_junit(path, repo=REPO):
    """{node id: outcome} from a pytest --junitxml file.

    outcomes: passed, failed, error, skipped, xfailed."""
    tree = ET.parse(path)
    out = {}
    for tc in tree.iter("testcase"):
        name = tc.get("name", "")
        classname = tc.get("classname", "")
        nodeid = None
        for prop in tc.iter("property"):
            if prop.get("name") == "nodeid":
                nodeid = prop.get("value")
        if nodeid is None:
            f, classes = _classname_to_path(classname, repo)
            nodeid = "::".join([f] + classes + [name])
        kids = {c.tag for c in tc}
        if "failure" in kids:
            outcome = "failed"
        elif "error" in kids:
            outcome = "error"
        elif "skipped" in kids:
            sk = tc.find("skipped")
            outcome = "xfailed" if (sk.get("type") or "") == "pytest.xfail" else "skipped"
        else:
            outcome = "passed"
        prev = out.get(nodeid)
        # a test that passed its call and errored in teardown shows up twice
        if prev in ("failed", "error"):
            continue
        out[nodeid] = outcome
    return out


def matches(ref, nodeid):
    if nodeid == ref:
        return True
    if "[" in ref:
        return False
    return nodeid.startswith(ref + "[") or nodeid.startswith(ref + "::")


def is_reference(nodeid, reference):
    """A parametrization of the reference runtime: its id starts or ends with it."""
    if not reference or not nodeid.endswith("]") or "[" not in nodeid:
        return False
    params = nodeid[nodeid.index("[") + 1:-1].split("-")
    return params[0] == reference or params[-1] == reference


def evaluate(rows, results, markers, reference="runc"):
    """Set row.marked, row.results and row.status for every row."""
    for row in rows:
        row.marked = list(markers.get(row.id, []))
        row.results = {}
        if results is not None:
            for nodeid, outcome in results.items():
                if is_reference(nodeid, reference):
                    continue
                if any(matches(r, nodeid) for r in row.refs):
                    row.results[nodeid] = outcome
        row.status = _status(row, results is not None)
    return rows


def _status(row, have_results):
    if row.kind == "na":
        return "n/a"
    if not row.refs:
        return "untestable" if row.note.startswith(UNTESTABLE) or UNTESTABLE in row.note \
            else "untested"
    if not have_results or not row.results:
        return "not run"
    outs = set(row.results.values())
    if outs & {"failed", "error"}:
        return "failing"
    if "xfailed" in outs:
        return "xfail"
    if "passed" in outs:
        return "passing"
    return "skipped"


# -- reporting ----------------------------------------------------------------------------------


def _pct(a, b):
    return "%5.1f%%" % (100.0 * a / b) if b else "    -"


def summary(rows):
    appl = [r for r in rows if r.kind != "na"]
    counts = {s: sum(1 for r in rows if r.status == s) for s in STATUSES}
    return {
        "rows": len(rows),
        "applicable": len(appl),
        "with_tests": sum(1 for r in appl if r.refs),
        "counts": counts,
    }


def _group_table(rows, key, keys, title):
    cols = ["rows", "n/a", "tests", "pass", "fail", "xfail", "skip", "notrun", "untest"]
    out = ["%-18s" % title + "".join("%8s" % c for c in cols)]
    for k in keys:
        rs = [r for r in rows if key(r) == k]
        if not rs:
            continue
        c = {s: sum(1 for r in rs if r.status == s) for s in STATUSES}
        vals = [len(rs), c["n/a"], sum(1 for r in rs if r.kind != "na" and r.refs),
                c["passing"], c["failing"], c["xfail"], c["skipped"], c["not run"],
                c["untested"] + c["untestable"]]
        out.append("%-18s" % k + "".join("%8d" % v for v in vals))
    return out


def _clip(s, n):
    return s if len(s) <= n else s[:n - 3] + "..."


def format_report(rows, have_results, markers=None, table_ids=None, stale_refs=None,
                  verbose=False):
    s = summary(rows)
    c = s["counts"]
    out = []
    out.append("runtime-spec v1.2 conformance: %d requirements (%d not applicable to a Linux "
               "runtime)" % (s["rows"], c["n/a"]))
    out.append("  with tests     %4d / %d applicable  %s" % (s["with_tests"], s["applicable"],
                                                           _pct(s["with_tests"],
                                                                s["applicable"])))
    if have_results:
        out.append("  passing        %4d / %d applicable  %s" % (c["passing"], s["applicable"],
                                                               _pct(c["passing"],
                                                                    s["applicable"])))
        out.append("  failing %d, known failures (xfail) %d, skipped %d, not run %d, "
                   "untested %d, untestable here %d" % (c["failing"], c["xfail"], c["skipped"],
                                                        c["not run"], c["untested"],
                                                        c["untestable"]))
    else:
        out.append("  (no results: give --junit FILE or --run)  untested %d, untestable here %d"
                   % (c["untested"], c["untestable"]))
    out.append("")
    out += _group_table(rows, lambda r: r.file, SPEC_FILES, "by spec file")
    out.append("")
    out += _group_table(rows, lambda r: r.level, LEVELS, "by level")

    def section(title, rs, extra=None):
        if not rs:
            return
        out.append("")
        out.append("%s (%d):" % (title, len(rs)))
        for r in rs:
            out.append("  %-16s %-10s %s" % (r.id, r.level, _clip(r.text, 90)))
            if extra:
                for line in extra(r):
                    out.append("  %-16s %-10s   %s" % ("", "", line))

    have = have_results
    if have:
        section("FAILING", [r for r in rows if r.status == "failing"],
                lambda r: ["%s: %s" % (o, n) for n, o in sorted(r.results.items())
                           if o in ("failed", "error")])
        section("KNOWN FAILURES (xfail: a pyrunc bug or deviation)",
                [r for r in rows if r.status == "xfail"],
                lambda r: [n for n, o in sorted(r.results.items()) if o == "xfailed"] +
                ([r.note] if r.note != "-" else []))
        section("NOT RUN (tests named, none in the results)",
                [r for r in rows if r.status == "not run"],
                lambda r: r.refs if verbose else [" ".join(r.refs)[:100]])
        section("SKIPPED (every test skipped here)",
                [r for r in rows if r.status == "skipped"],
                lambda r: [n for n in sorted(r.results)][:3])
    section("GAPS: no test", [r for r in rows if r.status == "untested"],
            lambda r: [r.note] if r.note != "-" else [])
    section("UNTESTABLE HERE", [r for r in rows if r.status == "untestable"])
    if verbose:
        section("DEVIATIONS (deliberate)", [r for r in rows if "DEVIATION" in r.note],
                lambda r: [r.note])
    if markers is not None and table_ids is not None:
        unknown = sorted(set(markers) - set(table_ids))
        if unknown:
            out.append("")
            out.append("WARNING: @pytest.mark.req ids not in the table: %s" % ", ".join(unknown))
    if stale_refs:
        out.append("")
        out.append("WARNING: node ids that matched no result (renamed or removed tests?):")
        for row_id, ref in stale_refs:
            out.append("  %s: %s" % (row_id, ref))
    return "\n".join(out) + "\n"


def stale_references(rows, results, reference="runc"):
    """(row id, ref) for refs that match no result at all, when the ref's file was run."""
    if results is None:
        return []
    files = {n.split("::", 1)[0] for n in results}
    out = []
    for r in rows:
        for ref in r.refs:
            f = ref.split("::", 1)[0]
            if f in files and not any(matches(ref, n) for n in results):
                out.append((r.id, ref))
    return out


def to_json(rows):
    s = summary(rows)
    return {"summary": s, "rows": [
        {"id": r.id, "spec": r.spec, "level": r.level, "kind": r.kind, "requirement": r.text,
         "tests": r.refs, "status": r.status, "results": r.results, "note": r.note}
        for r in rows]}


def files_to_run(rows):
    files = []
    for r in rows:
        for ref in r.refs:
            f = ref.split("::", 1)[0]
            if f not in files and os.path.exists(os.path.join(REPO, f)):
                files.append(f)
    return files


def run_pytest(files, extra, junit):
    py = os.path.join(REPO, ".venv", "bin", "python")
    if not os.path.exists(py):
        py = sys.executable
    cmd = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", junit] + \
        files + list(extra)
    print("+ " + " ".join(cmd[:8]) + (" ... (%d files)" % len(files)), file=sys.stderr,
          flush=True)
    # pytest's own output goes to stderr: stdout is the report
    return subprocess.call(cmd, cwd=REPO, stdout=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", default=TABLE, help="requirements table (default: %(default)s)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--junit", metavar="FILE", help="read results from a pytest --junitxml file")
    g.add_argument("--run", action="store_true",
                   help="run pytest over every file the table and the markers name, then "
                        "report; arguments after '--' go to pytest")
    ap.add_argument("--junit-out", metavar="FILE",
                    help="with --run: keep the junit file here (default: a temporary file)")
    ap.add_argument("--json", metavar="FILE", help="also write the per-row result as JSON")
    ap.add_argument("--reference", default="runc",
                    help="parametrization id of the reference runtime, whose results are "
                         "left out (default: runc; '' keeps everything)")
    ap.add_argument("--strict", action="store_true", help="also exit 1 when rows are not run")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="list every node id of rows not run, and the deviations")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    a = ap.parse_args(argv)

    try:
        rows = load_table(a.table)
    except (OSError, TableError) as e:
        print("report: %s" % e, file=sys.stderr)
        return 2
    markers = scan_markers()
    results = None
    if a.run:
        for row in rows:
            row.marked = list(markers.get(row.id, []))
        files = files_to_run(rows)
        junit = a.junit_out or tempfile.mktemp(prefix="conformance-", suffix=".xml")
        run_pytest(files, extra, junit)
        if not os.path.exists(junit):
            print("report: pytest wrote no %s" % junit, file=sys.stderr)
            return 2
        results = parse_junit(junit)
        if not a.junit_out:
            os.unlink(junit)
    elif a.junit:
        try:
            results = parse_junit(a.junit)
        except (OSError, ET.ParseError) as e:
            print("report: %s: %s" % (a.junit, e), file=sys.stderr)
            return 2
    evaluate(rows, results, markers, a.reference)
    sys.stdout.write(format_report(rows, results is not None, markers, [r.id for r in rows],
                                   stale_references(rows, results, a.reference), a.verbose))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(to_json(rows), f, indent=1)
    if any(r.status == "failing" for r in rows):
        return 1
    if a.strict and any(r.status == "not run" for r in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
