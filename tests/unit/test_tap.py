"""conformance/tap.py: the TAP 13 parser, expectations, and the runtime-tools runner end to end.

The runner is exercised on a fake suite: small shell ``.t`` scripts that print TAP the way
runtime-tools' programs (tap-go) do, including its quirks."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conformance import tap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(REPO, "conformance", "run-runtime-tools")


def P(text):
    return tap.parse(textwrap.dedent(text).lstrip("\n"))


# -- the parser ---------------------------------------------------------------------------------


def test_plan_first_all_pass():
    r = P("""
        TAP version 13
        1..3
        ok 1 - first
        ok 2 - second
        ok 3
        """)
    assert r.version == 13 and r.plan == 3
    assert [p.number for p in r.points] == [1, 2, 3]
    assert [p.description for p in r.points] == ["first", "second", ""]
    assert len(r.passed) == 3 and not r.failed and not r.errors
    assert r.ok


def test_plan_last_like_tapgo_autoplan():
    r = P("""
        TAP version 13
        ok 1 - has expected hostname
        not ok 2 - has expected user ID
        1..2
        """)
    assert r.plan == 2 and not r.errors
    assert [p.ok for p in r.points] == [True, False]
    assert r.failed[0].description == "has expected user ID"
    assert not r.ok


def test_missing_numbers_are_assigned():
    r = P("""
        1..3
        ok - a
        not ok
        ok b
        """)
    assert [p.number for p in r.points] == [1, 2, 3]
    assert [p.description for p in r.points] == ["a", "", "b"]
    assert r.version is None and not r.errors


def test_skip_and_todo_directives():
    r = P("""
        TAP version 13
        ok 1 # SKIP linux.gidMappings not set
        ok 2 # skip
        not ok 3 # TODO we need the major/minor from the controlling TTY
        ok 4 - bonus # todo not expected to work yet
        ok 5 - plain # Skipped: because
        1..5
        """)
    p = r.points
    assert p[0].skipped and p[0].reason == "linux.gidMappings not set" and p[0].description == ""
    assert p[1].skipped and p[1].reason == ""
    assert p[2].todo and not p[2].failed and not p[2].ok
    assert p[3].todo and p[3].description == "bonus" and p[3].reason == "not expected to work yet"
    assert p[4].skipped and p[4].description == "plain" and p[4].reason == "because"
    assert len(r.skipped) == 3 and len(r.todo) == 2 and not r.failed and not r.passed
    assert r.ok


def test_escaped_hash_is_part_of_the_description():
    r = P(r"""
        1..2
        ok 1 - issue \#42 fixed
        ok 2 - a # b is a comment-looking word, not a directive
        """)
    assert r.points[0].description == "issue #42 fixed" and r.points[0].directive is None
    # '# b ...' is not SKIP/TODO, so it stays in the description
    assert r.points[1].directive is None
    assert r.points[1].description.startswith("a # b")


def test_not_ok_skip_still_fails():
    r = P("""
        1..1
        not ok 1 # SKIP but it was not ok
        """)
    assert r.failed and not r.ok


def test_yaml_json_block_like_tapgo():
    r = P("""
        TAP version 13
        ok 1 - has expected hostname
          ---
          {
            "actual": "mrsdalloway",
            "expected": "mrsdalloway"
          }
          ...
        not ok 2 - the state of the container MUST be passed to "prestart" hook over stdin
          ---
          {
            "error": "wrong status \\"creating\\"",
            "reference": "https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#posix-platform-hooks"
          }
          ...
        1..2
        """)
    assert r.points[0].yaml == {"actual": "mrsdalloway", "expected": "mrsdalloway"}
    assert r.points[1].yaml["error"] == 'wrong status "creating"'
    assert not r.errors and not r.orphan_yaml


def test_yaml_plain_mapping_and_block_scalars():
    r = P("""
        1..1
        not ok 1 - failed to create
          ---
          error: exit status 1
          level: MUST
          stderr: |
            line one
            line two
          folded: >
            a
            b
          nested:
            actual: 3
            expected: '4'
          ...
        """)
    y = r.points[0].yaml
    assert y["error"] == "exit status 1" and y["level"] == "MUST"
    assert y["stderr"] == "line one\nline two\n"
    assert y["folded"] == "a b\n"
    assert y["nested"] == {"actual": "3", "expected": "4"}


def test_yaml_that_is_not_understood_is_kept_as_text():
    r = P("""
        1..1
        not ok 1 - x
          ---
          - a list
          - of things
          ...
        """)
    assert r.points[0].yaml == "- a list\n- of things"
    assert not r.errors


def test_comments_attach_to_the_previous_point_and_yaml_may_follow_them():
    r = P("""
        # header comment
        ok 1 - cpu shares is set correctly
        # expect: 1024, actual: 1024
          ---
          {"a": 1}
          ...
        1..1
        """)
    assert r.header_diagnostics == ["header comment"]
    assert r.points[0].diagnostics == ["expect: 1024, actual: 1024"]
    assert r.points[0].yaml == {"a": 1}


def test_orphan_yaml_with_error_like_runtime_tools_hook_tests():
    # prestart.t / hooks.t: no test point at all, a YAML error, then "1..0"
    r = P("""
        TAP version 13
          ---
          {
            "error": "Pre-start hooks MUST be called after the `start` operation is called"
          }
          ...
        1..0
        """)
    assert r.plan == 0 and not r.points and r.skip_all
    assert r.orphan_errors() == [
        "Pre-start hooks MUST be called after the `start` operation is called"]
    assert not r.errors        # well-formed TAP: the runner decides what it means


def test_skip_all_plan_with_reason():
    r = P("""
        TAP version 13
        1..0 # SKIP linux-specific namespace test
        """)
    assert r.skip_all and r.plan_reason == "linux-specific namespace test" and r.ok


def test_bail_out_stops_the_stream():
    r = P("""
        TAP version 13
        1..3
        ok 1 - a
        Bail out! cannot reach the runtime
        ok 2 - never seen
        """)
    assert r.bailed_out == "cannot reach the runtime"
    assert len(r.points) == 1
    assert not r.ok
    assert not r.errors       # no "planned 3 but ran 1" on top of the bail out


def test_unknown_lines_are_kept_not_fatal():
    r = P("""
        TAP version 13
        failed to create the container
        container_linux.go:348: starting container process caused ...
        ok 1 - x
        1..1
        """)
    assert r.extra == ["failed to create the container",
                       "container_linux.go:348: starting container process caused ..."]
    assert r.ok


@pytest.mark.parametrize("text, error", [
    ("", "no plan"),
    ("TAP version 13\nok 1 - a\n", "no plan"),
    ("1..3\nok 1\nok 2\n", "planned 3 tests but ran 2"),
    ("1..1\nok 1\nok 2\n", "planned 1 tests but ran 2"),
    ("1..2\nok 1\nok 1\n", "test number 1 used twice"),
    ("1..2\nok 2\nok 3\n", "test number 2 out of sequence (expected 1)"),
    ("1..1\n1..1\nok 1\n", "more than one plan"),
    ("ok 1\n1..1\nok 2\n", "test point after the closing plan"),
    ("ok 1\nTAP version 13\n1..1\n", "'TAP version' is not the first line"),
    ("1..1\nok 1 - x\n  ---\n  {\"a\": 1}\n", "YAML block is not terminated"),
])
def test_malformed_streams_are_reported(text, error):
    r = tap.parse(text)
    assert any(error in e for e in r.errors), r.errors
    assert not r.ok


@pytest.mark.parametrize("junk", [
    b"\xff\xfe\x00garbage\n1..1\nok 1\n",
    "ok\tweird whitespace\n1..1\n",
    "not ok 99999999999999999999 - huge number\n1..1\n",
    "  ---\n  ...\n",
    "1..x\nok 1\n",
    "okay 1 - not a test line\nok 1\n1..1\n",
    "\r\n".join(["TAP version 13", "ok 1 - crlf", "1..1", ""]),
])
def test_garbage_never_raises(junk):
    r = tap.parse(junk)
    assert isinstance(r, tap.TapResult)


def test_crlf_and_okay_lines():
    assert tap.parse("TAP version 13\r\nok 1 - crlf\r\n1..1\r\n").ok
    r = tap.parse("okay 1 - not a test line\nok 1\n1..1\n")
    assert r.extra == ["okay 1 - not a test line"] and len(r.points) == 1 and r.ok


# -- expectations -------------------------------------------------------------------------------


EXPECTED = """
# comment
whole      | *              | *     | [host] reason one
partial    | memory kernel* | *     | [host] kmem
partial    | #3             | *     | [tool] by number
runconly   | *              | runc  | [runc] only runc
glob_*     | *              | *     | [host] a glob
"""


def test_expectations_file_parsing_and_matching():
    e = tap.Expectations.parse(EXPECTED)
    assert len(e.entries) == 5
    assert [x.test for x in e.for_test("whole", "pyrunc")] == ["whole"]
    assert e.for_test("runconly", "pyrunc") == []
    assert len(e.for_test("runconly", "runc")) == 1
    assert len(e.for_test("glob_anything", "pyrunc")) == 1
    part = e.for_test("partial", "pyrunc")
    p3 = tap.TestPoint(3, False, "something")
    pk = tap.TestPoint(7, False, "memory kernel is set correctly")
    assert [x.matches_point(p3) for x in part] == [False, True]
    assert [x.matches_point(pk) for x in part] == [True, False]


@pytest.mark.parametrize("bad", ["only | three | fields", "a | b | c |", " | * | * | why"])
def test_expectations_file_errors(bad):
    with pytest.raises(ValueError):
        tap.Expectations.parse(bad)


def test_the_shipped_expected_failures_file_parses():
    e = tap.Expectations.load(os.path.join(REPO, "conformance",
                                           "runtime-tools-expected-failures.txt"))
    assert len(e.entries) > 10
    for x in e.entries:
        assert x.reason.split()[0] in ("[host]", "[tool]", "[spec]", "[runc]", "[compat]"), x


def _fr(name, text, rc=0, **kw):
    fr = tap.FileResult(name, "/x/%s.t" % name)
    fr.tap = tap.parse(text)
    fr.returncode = rc
    for k, v in kw.items():
        setattr(fr, k, v)
    return fr


def test_classify():
    e = tap.Expectations.parse(EXPECTED)
    ok = "1..2\nok 1\nok 2\n"
    assert tap.classify(_fr("other", ok), e, "pyrunc").status == "PASS"
    assert tap.classify(_fr("other", "1..0 # SKIP x\n"), e, "pyrunc").status == "SKIP"
    assert tap.classify(_fr("other", "1..1\nok 1 # SKIP y\n"), e, "pyrunc").status == "SKIP"
    assert tap.classify(_fr("other", "1..1\nnot ok 1 - z\n"), e, "pyrunc").status == "FAIL"
    # a clean stream but a non-zero exit (util.Fatal) is a failure
    fr = tap.classify(_fr("other", ok, rc=1, stderr="boom\n"), e, "pyrunc")
    assert fr.status == "FAIL" and fr.unexpected[0][1] == "exited with status 1: boom"
    # runtime-tools hook tests: 1..0 with a YAML error
    hook = "TAP version 13\n  ---\n  {\"error\": \"hooks MUST be called in order\"}\n  ...\n1..0\n"
    fr = tap.classify(_fr("other", hook), e, "pyrunc")
    assert fr.status == "FAIL" and "hooks MUST be called in order" in fr.unexpected[0][1]
    # whole-file expectation
    assert tap.classify(_fr("whole", "1..1\nnot ok 1\n", rc=1), e, "pyrunc").status == "XFAIL"
    assert tap.classify(_fr("whole", hook), e, "pyrunc").status == "XFAIL"
    fr = tap.classify(_fr("whole", ok), e, "pyrunc")
    assert fr.status == "XPASS" and fr.stale[0].test == "whole"
    # point-level expectations: only the listed points are excused
    text = "1..3\nnot ok 1 - memory kernel is set correctly\nok 2\nnot ok 3 - x\n"
    fr = tap.classify(_fr("partial", text), e, "pyrunc")
    assert fr.status == "XFAIL" and not fr.stale
    text = "1..3\nnot ok 1 - memory kernel is set correctly\nnot ok 2 - new\nnot ok 3\n"
    fr = tap.classify(_fr("partial", text), e, "pyrunc")
    assert fr.status == "FAIL" and [t for _, t, _ in fr.unexpected] == ["not ok 2 - new"]
    # one listed point failed, the other did not: XFAIL, and the other is stale
    fr = tap.classify(_fr("partial", "1..3\nnot ok 1 - memory kernel\nok 2\nok 3\n"), e, "pyrunc")
    assert fr.status == "XFAIL" and [x.point for x in fr.stale] == ["#3"]
    # a crash is not excused by point-level entries
    fr = tap.classify(_fr("partial", "", rc=2), e, "pyrunc")
    assert fr.status == "FAIL"
    # runtime-specific entries
    assert tap.classify(_fr("runconly", "1..1\nnot ok 1\n"), e, "runc").status == "XFAIL"
    assert tap.classify(_fr("runconly", "1..1\nnot ok 1\n"), e, "pyrunc").status == "FAIL"


def test_timeout_classification():
    fr = _fr("other", "TAP version 13\nok 1 - started\n", rc=-9, timed_out=True)
    tap.classify(fr, tap.Expectations(), "pyrunc")
    assert fr.status == "FAIL" and [t for _, t, _ in fr.problems] == ["timed out"]


def test_find_tests_recursive_and_only(tmp_path):
    for rel in ("validation/a/a.t", "validation/b.t", "validation/c/c.go", "x/linux_ns_path.t"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("")
    names = [os.path.basename(p) for p in tap.find_tests(str(tmp_path))]
    assert names == ["a.t", "b.t", "linux_ns_path.t"]
    assert [os.path.basename(p) for p in tap.find_tests(str(tmp_path), ["linux_*"])] == \
        ["linux_ns_path.t"]
    assert [os.path.basename(p) for p in tap.find_tests(str(tmp_path), ["^[ab]$"])] == \
        ["a.t", "b.t"]
    assert [os.path.basename(p) for p in tap.find_tests(str(tmp_path), ["validation/a/*"])] == \
        ["a.t"]


# -- the runner end to end on a fake suite ------------------------------------------------------

SCRIPTS = {
    # passes, and proves RUNTIME and the working directory are what the runner says
    "validation/env/env.t": r'''
        echo "TAP version 13"
        if [ "$RUNTIME" = "$EXPECT_RUNTIME" ]; then echo "ok 1 - RUNTIME is set"; else echo "not ok 1 - RUNTIME is '$RUNTIME'"; fi
        if [ -e ./runtimetest ]; then echo "ok 2 - runs in the workdir"; else echo "not ok 2 - cwd $(pwd)"; fi
        echo "1..2"
        ''',
    "validation/fails.t": r'''
        echo "TAP version 13"
        echo "ok 1 - fine"
        echo "not ok 2 - memory kernel is set correctly"
        echo "# expect: 1, actual: 2"
        echo "not ok 3 - really broken"
        echo "  ---"
        echo '  {"error": "boom"}'
        echo "  ..."
        echo "1..3"
        ''',
    "validation/xfail.t": r'''
        echo "TAP version 13"
        echo "not ok 1 - memory kernel is set correctly"
        echo "1..1"
        ''',
    "validation/xpass.t": r'''
        echo "TAP version 13"
        echo "ok 1 - it works now"
        echo "1..1"
        ''',
    "validation/skipall.t": r'''
        echo "TAP version 13"
        echo "1..0 # SKIP linux-specific"
        ''',
    "validation/hookerr.t": r'''
        echo "TAP version 13"
        echo "  ---"
        echo '  {"error": "Hooks MUST be called in the listed order"}'
        echo "  ..."
        echo "1..0"
        ''',
    "validation/fatal.t": r'''
        echo "TAP version 13"
        echo "ok 1 - partial output"
        echo "cgroupv2 is not supported yet" >&2
        exit 1
        ''',
    "validation/bail.t": r'''
        echo "TAP version 13"
        echo "1..2"
        echo "ok 1"
        echo "Bail out! runtime vanished"
        ''',
    "validation/hang.t": r'''
        echo "TAP version 13"
        echo "ok 1 - started"
        sleep 60 &
        echo $! > "$PIDS_DIR/hang.child"
        wait
        ''',
}


@pytest.fixture
def suite(tmp_path):
    d = tmp_path / "suite"
    for rel, body in SCRIPTS.items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("#!/bin/sh\n" + textwrap.dedent(body).lstrip("\n"))
        p.chmod(0o755)
    (d / "runtimetest").write_text("")
    (d / "not-a-test.go").write_text("")
    exp = tmp_path / "expected.txt"
    exp.write_text(textwrap.dedent("""
        # test | point | runtime | reason
        xfail | memory kernel is set correctly | * | [host] kmem
        xpass | * | * | [tool] was broken
        hookerr | * | fake-runtime | [tool] known
        """))
    (tmp_path / "pids").mkdir()
    return d, exp, tmp_path


def _run(suite_dir, exp, tmp_path, *args, runtime=None):
    runtime = runtime or str(tmp_path / "bin" / "fake-runtime")
    env = dict(os.environ, EXPECT_RUNTIME=runtime, PIDS_DIR=str(tmp_path / "pids"))
    return subprocess.run([sys.executable, RUNNER, "--suite", str(suite_dir), "--runtime",
                           runtime, "--expected", str(exp), "--timeout", "3"] + list(args),
                          capture_output=True, text=True, env=env, timeout=120)


def test_runner_end_to_end(suite):
    d, exp, tmp = suite
    out_json = tmp / "results.json"
    taps = tmp / "taps"
    r = _run(d, exp, tmp, "--jobs", "4", "--json", str(out_json), "--tap-dir", str(taps))
    assert r.returncode == 1, r
    rows = {}
    for line in r.stdout.splitlines():
        f = line.split(None, 5)
        if len(f) >= 5 and f[4] in ("PASS", "FAIL", "XFAIL", "XPASS", "SKIP"):
            rows[f[0]] = (int(f[1]), int(f[2]), int(f[3]), f[4], f[5] if len(f) > 5 else "")
    assert rows["env"][:4] == (2, 0, 0, "PASS")
    assert rows["fails"][:4] == (1, 2, 0, "FAIL")
    assert rows["fails"][4] == "not ok 2 - memory kernel is set correctly"
    assert rows["xfail"][3] == "XFAIL"
    assert rows["xpass"][3] == "XPASS"
    assert rows["skipall"][3] == "SKIP" and rows["skipall"][4] == "linux-specific"
    assert rows["hookerr"][3] == "XFAIL"           # the runtime's name is fake-runtime
    assert rows["fatal"][3] == "FAIL" and "exited with status 1" in rows["fatal"][4]
    assert rows["bail"][3] == "FAIL" and "Bail out! runtime vanished" in rows["bail"][4]
    assert rows["hang"][3] == "FAIL" and rows["hang"][4] == "timed out"
    assert "files: 9  passed 1  failed 4  expected failures 2  unexpected passes 1  " \
           "skipped 1" in r.stdout
    assert "UNEXPECTED FAILURES:" in r.stdout
    assert "  fails: not ok 3 - really broken" in r.stdout
    assert "EXPECTED TO FAIL BUT DID NOT" in r.stdout and "xpass | * | *" in r.stdout
    # the hung test's whole process group was killed
    child = int((tmp / "pids" / "hang.child").read_text())
    assert not os.path.exists("/proc/%d" % child) or \
        open("/proc/%d/stat" % child).read().split()[2] == "Z"
    res = json.loads(out_json.read_text())
    assert {t["name"]: t["status"] for t in res["tests"]}["xfail"] == "XFAIL"
    assert (taps / "fails.tap").read_text().startswith("TAP version 13")
    assert "cgroupv2 is not supported yet" in (taps / "fatal.stderr").read_text()


def test_runner_only_and_exit_codes(suite):
    d, exp, tmp = suite
    r = _run(d, exp, tmp, "--only", "env", "--only", "x*")
    assert r.returncode == 0, r                      # PASS, XFAIL, XPASS: nothing unexpected
    assert "files: 3  passed 1  failed 0  expected failures 1  unexpected passes 1" in r.stdout
    r = _run(d, exp, tmp, "--only", "env", "--only", "x*", "--strict")
    assert r.returncode == 1                         # --strict: a stale expectation fails
    r = _run(d, exp, tmp, "--only", "hookerr", runtime="/bin/true")
    assert r.returncode == 1 and "FAIL" in r.stdout  # the entry is for fake-runtime only
    r = _run(d, exp, tmp, "--only", "hookerr", "--runtime-name", "fake-runtime",
             runtime="/bin/true")
    assert r.returncode == 0
    r = _run(d, exp, tmp, "--only", "nothing-matches")
    assert r.returncode == 2 and "no *.t programs" in r.stderr


def test_runner_bad_expectations_and_suite(suite, tmp_path):
    d, exp, tmp = suite
    bad = tmp_path / "bad.txt"
    bad.write_text("no pipes here\n")
    r = _run(d, bad, tmp, "--only", "env")
    assert r.returncode == 2 and "TEST | POINT | RUNTIME | REASON" in r.stderr
    r = subprocess.run([sys.executable, RUNNER, "--suite", str(tmp_path / "nope")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "not a directory" in r.stderr
    r = _run(d, tmp_path / "missing.txt", tmp, "--only", "env")
    assert r.returncode == 2 and "no expected-failures file" in r.stderr
