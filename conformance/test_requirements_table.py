"""conformance/requirements.tsv stays well-formed and true to the tests, and report.py reports
it correctly.

The table is checked for shape (ids, levels, kinds, spec anchors), for a reason on every row
without a test, and for references that exist: every node id it names is collected by pytest,
and every ``@pytest.mark.req`` id used in a test is a row.  report.py is checked on a small
table and junit file written here, and once end to end with ``--run``."""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from conformance import report

REPO = report.REPO
REPORT = os.path.join(REPO, "conformance", "report.py")
PREFIX = {"runtime.md": "RT-", "runtime-linux.md": "RTL-", "config.md": "CFG-",
          "config-linux.md": "LNX-"}


@pytest.fixture(scope="module")
def rows():
    return report.load_table()


# -- the table ----------------------------------------------------------------------------------


def test_table_shape(rows):
    assert len(rows) > 250
    ids = [r.id for r in rows]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    assert not dup, "duplicate ids: %s" % dup
    for r in rows:
        where = "requirements.tsv:%d %s" % (r.line, r.id)
        assert re.match(r"^(RT|RTL|CFG|LNX)-[A-Z0-9]+(-[A-Z0-9]+)*$", r.id), where
        assert r.level in report.LEVELS, where
        assert r.kind in report.KINDS, where
        assert r.file in report.SPEC_FILES, where
        assert r.id.startswith(PREFIX[r.file]), where
        assert re.match(r"^[A-Za-z0-9-]+\.md#[A-Za-z0-9-]+$", r.spec), where


def test_every_spec_file_is_covered(rows):
    per = {f: sum(1 for r in rows if r.file == f) for f in report.SPEC_FILES}
    assert per["runtime.md"] >= 50 and per["config.md"] >= 100 and per["config-linux.md"] >= 60
    assert per["runtime-linux.md"] >= 1


def test_requirements_are_paraphrased(rows):
    """Our own words: one sentence, the level in its column rather than in the text."""
    for r in rows:
        where = "%s: %r" % (r.id, r.text)
        assert r.text.endswith("."), where
        assert 10 < len(r.text) < 260, where
        assert not re.search(r"\b(MUST|SHOULD|REQUIRED|SHALL)\b", r.text), where


def test_rows_without_tests_say_why(rows):
    for r in rows:
        if not r.tests:
            assert r.note not in ("", "-"), "%s has no test and no reason" % r.id
    for r in rows:
        if r.kind == "na":
            assert not r.tests, "%s is not applicable but names tests" % r.id


def test_notes_use_the_known_tags(rows):
    for r in rows:
        for tag in re.findall(r"\b([A-Z][A-Z ]{3,}):", r.note):
            assert tag in ("PARTIAL", "DEVIATION", "BUG", "UNTESTABLE HERE"), (r.id, tag)


def test_split_tests_keeps_spaces_inside_brackets():
    assert report.split_tests("-") == []
    assert report.split_tests("a.py::t[x y] b.py::u  c.py") == ["a.py::t[x y]", "b.py::u",
                                                               "c.py"]
    assert report.split_tests("a.py::t[rlimit soft>hard] a.py::t[[nested] x]") == \
        ["a.py::t[rlimit soft>hard]", "a.py::t[[nested] x]"]


@pytest.fixture(scope="module")
def collected(rows):
    """Node ids pytest collects from every file the table or the markers name."""
    markers = report.scan_markers()
    for r in rows:
        r.marked = list(markers.get(r.id, []))
    files = sorted({ref.split("::", 1)[0] for r in rows for ref in r.refs})
    missing = [f for f in files if not os.path.exists(os.path.join(REPO, f))]
    assert not missing, "the table names files that do not exist: %s" % missing
    cp = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                         "-p", "no:cacheprovider"] + files, cwd=REPO, capture_output=True,
                        text=True, timeout=600)
    ids = [line.strip() for line in cp.stdout.splitlines() if "::" in line]
    assert ids, cp.stdout + cp.stderr
    return ids


def test_every_referenced_test_exists(rows, collected):
    stale = []
    for r in rows:
        for ref in r.tests:
            if not any(report.matches(ref, n) for n in collected):
                stale.append("%s: %s" % (r.id, ref))
    assert not stale, "node ids that pytest does not collect:\n" + "\n".join(stale)


def test_every_marker_names_a_row(rows):
    ids = {r.id for r in rows}
    markers = report.scan_markers()
    assert "RT-CREATE-02" in markers          # the lifecycle tests declare theirs
    unknown = {i: where for i, where in markers.items() if i not in ids}
    assert not unknown, unknown


def test_lifecycle_tests_cover_the_lifecycle_rows(rows):
    lifecycle = "conformance/test_lifecycle_conformance.py"
    markers = report.scan_markers()
    for r in rows:
        if r.id.startswith(("RT-QUERY-", "RT-CREATE-", "RT-START-", "RT-KILL-", "RT-DEL-")):
            refs = r.tests + markers.get(r.id, [])
            assert any(ref.startswith(lifecycle) for ref in refs), r.id


# -- report.py ----------------------------------------------------------------------------------

TABLE = """\
# a comment
id\tspec\tlevel\tkind\trequirement\ttests\tnote
RT-A-01\truntime.md#a\tMUST\truntime\tPasses.\tt/test_a.py::test_ok\t-
RT-A-02\truntime.md#a\tMUST\truntime\tFails.\tt/test_a.py::test_ok t/test_a.py::test_bad\t-
RT-A-03\truntime.md#a\tMUST NOT\truntime\tKnown bug.\tt/test_a.py::test_x\tBUG: it
RT-A-04\truntime.md#a\tSHOULD\truntime\tSkipped.\tt/test_a.py::test_skip\t-
RT-A-05\truntime.md#a\tMUST\truntime\tNot run.\tt/test_gone.py::test_z\t-
CFG-B-01\tconfig.md#b\tREQUIRED\tconfig\tUntested.\t-\tno test yet
CFG-B-02\tconfig.md#b\tMUST\truntime\tUntestable.\t-\tUNTESTABLE HERE: no hardware
CFG-B-03\tconfig.md#b\tMUST\tna\tWindows.\t-\tWindows only
CFG-B-04\tconfig.md#b\tSHOULD\truntime\tParametrized.\tt/test_a.py::test_p t/test_a.py::TestK\t-
CFG-B-05\tconfig.md#b\tMUST\truntime\tOne param.\tt/test_a.py::test_p[two words]\t-
CFG-B-06\tconfig.md#b\tMUST\truntime\tBy marker.\t-\tmarked
CFG-B-07\tconfig.md#b\tMUST\truntime\tOnly runc ran.\tt/test_a.py::test_rt\t-
"""

JUNIT = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="12">
 <testcase classname="t.test_a" name="test_ok" time="0.1"/>
 <testcase classname="t.test_a" name="test_bad" time="0.1"><failure message="x">boom</failure></testcase>
 <testcase classname="t.test_a" name="test_x" time="0.1"><skipped type="pytest.xfail" message="bug"/></testcase>
 <testcase classname="t.test_a" name="test_skip" time="0.1"><skipped type="pytest.skip" message="v2 only"/></testcase>
 <testcase classname="t.test_a" name="test_p[one]" time="0.1"/>
 <testcase classname="t.test_a" name="test_p[two words]" time="0.1"/>
 <testcase classname="t.test_a.TestK" name="test_m" time="0.1"/>
 <testcase classname="t.test_a" name="test_marked[pyrunc]" time="0.1"/>
 <testcase classname="t.test_a" name="test_marked[runc]" time="0.1"><failure message="runc differs"/></testcase>
 <testcase classname="t.test_a" name="test_rt[runc-case]" time="0.1"/>
 <testcase classname="t.test_a" name="test_teardown" time="0.1"/>
 <testcase classname="t.test_a" name="test_teardown" time="0.1"><error message="teardown"/></testcase>
</testsuite></testsuites>
"""


def test_parse_junit(tmp_path):
    p = tmp_path / "r.xml"
    p.write_text(JUNIT)
    res = report.parse_junit(str(p), repo=str(tmp_path))
    assert res["t/test_a.py::test_ok"] == "passed"
    assert res["t/test_a.py::test_bad"] == "failed"
    assert res["t/test_a.py::test_x"] == "xfailed"
    assert res["t/test_a.py::test_skip"] == "skipped"
    assert res["t/test_a.py::test_p[two words]"] == "passed"
    assert res["t/test_a.py::TestK::test_m"] == "passed"       # CamelCase part: a class
    assert res["t/test_a.py::test_teardown"] == "error"        # passed, then teardown error
    # when the module exists, its path decides where the classes start
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "test_a.py").write_text("")
    res = report.parse_junit(str(p), repo=str(tmp_path))
    assert "t/test_a.py::TestK::test_m" in res


def test_matching_and_reference_runs():
    m = report.matches
    assert m("a.py::t", "a.py::t") and m("a.py::t", "a.py::t[x]")
    assert m("a.py", "a.py::t[x]") and m("a.py::C", "a.py::C::t")
    assert not m("a.py::t", "a.py::t2") and not m("a.py::t[x]", "a.py::t[xy]")
    r = report.is_reference
    assert r("a.py::t[runc]", "runc") and r("a.py::t[runc-case]", "runc")
    assert r("a.py::t[case-runc]", "runc")
    assert not r("a.py::t[pyrunc]", "runc") and not r("a.py::t[pyrunc-runc-x]", "runc")
    assert not r("a.py::test_same_as_runc[default]", "runc") and not r("a.py::t[runc]", "")


def _write(tmp_path):
    table = tmp_path / "req.tsv"
    table.write_text(TABLE)
    junit = tmp_path / "r.xml"
    junit.write_text(JUNIT)
    return table, junit


def test_evaluate(tmp_path):
    table, junit = _write(tmp_path)
    rows = report.load_table(str(table))
    results = report.parse_junit(str(junit), repo=str(tmp_path))
    markers = {"CFG-B-06": ["t/test_a.py::test_marked"]}
    report.evaluate(rows, results, markers)
    got = {r.id: r.status for r in rows}
    assert got == {
        "RT-A-01": "passing", "RT-A-02": "failing", "RT-A-03": "xfail", "RT-A-04": "skipped",
        "RT-A-05": "not run", "CFG-B-01": "untested", "CFG-B-02": "untestable",
        "CFG-B-03": "n/a", "CFG-B-04": "passing", "CFG-B-05": "passing",
        "CFG-B-06": "passing",   # the runc parametrization's failure is runc's
        "CFG-B-07": "not run",   # only the reference runtime ran it
    }
    b4 = next(r for r in rows if r.id == "CFG-B-04")
    assert sorted(b4.results) == ["t/test_a.py::TestK::test_m", "t/test_a.py::test_p[one]",
                                  "t/test_a.py::test_p[two words]"]
    s = report.summary(rows)
    assert s["rows"] == 12 and s["applicable"] == 11 and s["with_tests"] == 9
    # without results every row with tests is "not run"
    report.evaluate(rows, None, markers)
    assert {r.status for r in rows if r.refs} == {"not run"}


def _report(*args):
    return subprocess.run([sys.executable, REPORT] + [str(a) for a in args], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


def test_report_command_on_a_junit_file(tmp_path):
    table, junit = _write(tmp_path)
    out = tmp_path / "out.json"
    r = _report("--table", table, "--junit", junit, "--json", out)
    assert r.returncode == 1, r            # RT-A-02 is failing
    text = r.stdout
    assert "12 requirements (1 not applicable to a Linux runtime)" in text
    # B-06 has tests through a marker only in the real repo, not here: 8 of 11 have tests
    assert re.search(r"with tests\s+8 / 11 applicable", text), text
    assert re.search(r"passing\s+3 / 11 applicable", text), text
    assert "failing 1, known failures (xfail) 1, skipped 1, not run 2, untested 2, " \
           "untestable here 1" in text
    assert re.search(r"runtime\.md\s+5\s+0\s+5\s+1\s+1\s+1\s+1\s+1\s+0", text), text
    assert re.search(r"MUST NOT\s+1\s+0\s+1\s+0\s+0\s+1", text), text
    assert "FAILING (1):" in text and "failed: t/test_a.py::test_bad" in text
    assert "KNOWN FAILURES" in text and "t/test_a.py::test_x" in text
    assert "GAPS: no test (2):" in text and "CFG-B-01" in text
    assert "UNTESTABLE HERE (1):" in text
    data = json.loads(out.read_text())
    assert {r["id"]: r["status"] for r in data["rows"]}["RT-A-03"] == "xfail"
    # no failing row: exit 0; --strict makes "not run" rows fail the run
    table.write_text(TABLE.replace(" t/test_a.py::test_bad", ""))
    assert _report("--table", table, "--junit", junit).returncode == 0
    assert _report("--table", table, "--junit", junit, "--strict").returncode == 1


def test_report_command_errors(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("id\tspec\n")
    r = _report("--table", bad)
    assert r.returncode == 2 and "header must be" in r.stderr
    table, _ = _write(tmp_path)
    junk = tmp_path / "junk.xml"
    junk.write_text("<not closed")
    r = _report("--table", table, "--junit", junk)
    assert r.returncode == 2


def test_report_command_without_results_on_the_real_table():
    r = _report()
    assert r.returncode == 0, r
    assert "runtime-spec v1.2 conformance:" in r.stdout and "no results" in r.stdout
    assert "WARNING" not in r.stdout


def test_report_run_end_to_end(tmp_path):
    table = tmp_path / "req.tsv"
    table.write_text(textwrap.dedent("""\
        id\tspec\tlevel\tkind\trequirement\ttests\tnote
        RT-X-01\truntime.md#x\tMUST\truntime\tThe TAP parser reads a plan.\ttests/unit/test_tap.py::test_plan_first_all_pass\t-
        RT-X-02\truntime.md#x\tMUST\truntime\tBroken tests are noticed.\ttests/unit/test_tap.py::test_does_not_exist\t-
        """))
    junit = tmp_path / "kept.xml"
    r = _report("--table", table, "--run", "--junit-out", junit, "--",
                "-k", "test_plan_first_all_pass")
    assert r.returncode == 0, r
    assert re.search(r"passing\s+1 / 2 applicable", r.stdout), r.stdout
    assert "NOT RUN" in r.stdout and "RT-X-02" in r.stdout
    assert "WARNING: node ids that matched no result" in r.stdout
    assert junit.exists()


def test_marker_scanner(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_m.py").write_text(textwrap.dedent("""
        import pytest
        req = pytest.mark.req
        pytestmark = [pytest.mark.slow, pytest.mark.req("MOD-01")]

        @req("A-01", "A-02")
        def test_a():
            pass

        @pytest.mark.req("B-01")
        @pytest.mark.parametrize("x", [1, 2])
        def test_b(x):
            pass

        @pytest.mark.req("C-01")
        class TestC:
            @req("C-02")
            def test_m(self):
                pass

        def test_plain():
            pass
        """))
    found = report.scan_markers(str(tmp_path))
    assert found == {"MOD-01": ["tests/test_m.py"], "A-01": ["tests/test_m.py::test_a"],
                     "A-02": ["tests/test_m.py::test_a"], "B-01": ["tests/test_m.py::test_b"],
                     "C-01": ["tests/test_m.py::TestC"],
                     "C-02": ["tests/test_m.py::TestC::test_m"]}
