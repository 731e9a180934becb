"""How args[0] is found, against runc: from process.cwd, and never through a relative PATH
entry (Go's exec.LookPath, which runc 1.1 calls once in the container's cwd)."""

import re

import pytest

CASES = {
    # a relative args[0] with a slash is taken from process.cwd
    "dot-slash-from-cwd": ("/bin", ["PATH=/usr/bin"], ["./true"]),
    "relative-dir-from-cwd": ("/", ["PATH=/usr/bin"], ["bin/true"]),
    "dot-slash-missing": ("/tmp", ["PATH=/usr/bin"], ["./true"]),
    # a PATH entry "." / "" / "bin" that finds it: refused (ErrDot); one that doesn't: passed
    "path-dot-finds-it": ("/bin", ["PATH=.:/usr/bin"], ["true"]),
    "path-empty-finds-it": ("/bin", ["PATH=:/usr/bin"], ["true"]),
    "path-relative-finds-it": ("/", ["PATH=bin:/usr/bin"], ["true"]),
    "path-dot-misses": ("/tmp", ["PATH=.:/bin"], ["true"]),
    "path-absolute": ("/tmp", ["PATH=/bin"], ["true"]),
}


def _outcome(r):
    """(exit status, runc's error text without its log prefix)."""
    err = r.err.replace('\\"', '"')  # runc's logrus line quotes its message
    m = re.search(r'(exec: "[^"]*": [^"\n]*)', err)
    return r.code, m.group(1).strip() if m else ""


@pytest.mark.parametrize("case", sorted(CASES))
def test_lookup_like_runc(case, make_bundle, pyrunc, runc):
    cwd, env, args = CASES[case]
    b = make_bundle(*args)
    b.config["process"]["cwd"] = cwd
    b.config["process"]["env"] = env
    b.write()
    want = _outcome(runc.run(b))
    got = _outcome(pyrunc.run(b))
    assert got == want
