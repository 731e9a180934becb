"""The command line as clients use it: global flags in both forms, --version, kill's signal
forms and --all, list, spec (the same file as runc's), run --detach, signal relay by run."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from tests import helpers
from tests.helpers import new_id


def _raw(rt, *argv, **kw):
    """The runtime with exactly ``argv`` (no --root added). Output goes to files: a created
    container keeps the runtime's stdout open."""
    import tempfile
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        cp = subprocess.run(rt.argv + [str(a) for a in argv], stdout=out, stderr=err,
                            text=True, stdin=subprocess.DEVNULL, timeout=60, **kw)
        out.seek(0)
        err.seek(0)
        cp.stdout, cp.stderr = out.read(), err.read()
    return helpers.Result(cp)


def _wait_status(rt, cid, status, timeout=10.0):
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = rt.state(cid)
        if st and st["status"] == status:
            return st
        time.sleep(0.02)
    raise AssertionError("%s never became %s: %r" % (cid, status, st))


def _wait_file(path, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "never appeared: " + path
        time.sleep(0.02)


def _running(rt, b):
    cid = new_id()
    rt.cmd("create", "--bundle", b.path, cid, check=True)
    rt.cmd("start", cid, check=True)
    return cid, _wait_status(rt, cid, "running")["pid"]


# -- global flags -----------------------------------------------------------------------------


def test_global_flags_space_and_equals_forms(pyrunc, make_bundle, tmp_path):
    b = make_bundle("sleep", "30")
    cid = new_id()
    log1, log2 = tmp_path / "a.json", tmp_path / "b.json"
    # conmon's form: --log-format=json --log PATH
    r = _raw(pyrunc, "--root=" + pyrunc.root, "--log-format=json", "--log", log1,
             "create", "--bundle", b.path, cid)
    assert r.code == 0, r
    # the shim's form: --root R --log P --log-format json
    r = _raw(pyrunc, "--root", pyrunc.root, "--log", log2, "--log-format", "json", "state", cid)
    assert r.code == 0 and json.loads(r.out)["id"] == cid, r
    r = _raw(pyrunc, "--root=" + pyrunc.root, "--log=" + str(log2), "--log-format=json",
             "kill", "no-such-id", "9")
    assert r.code != 0
    assert json.loads(log2.read_text())["level"] == "error"
    assert not log1.exists() or log1.read_text() == ""
    r = _raw(pyrunc, "--root", pyrunc.root, "list", "-q")
    assert r.out.split() == [cid]


def test_global_flags_after_subcommand_are_not_global(pyrunc):
    r = _raw(pyrunc, "list", "--root", pyrunc.root)
    assert r.code != 0 and "root" in r.err


def test_unknown_global_flag(pyrunc):
    r = _raw(pyrunc, "--no-such-flag", "list")
    assert r.code != 0 and "no-such-flag" in r.err and len(r.err.strip().splitlines()) == 1


def test_version(pyrunc):
    for flag in ("--version", "-v"):
        r = _raw(pyrunc, flag)
        assert r.code == 0 and r.err == ""
        lines = r.out.splitlines()
        assert re.match(r"^\S+ version \S+", lines[0]), lines
        assert [l for l in lines if re.match(r"^commit: \S+$", l)], lines
        spec = [l for l in lines if l.startswith("spec: ")]
        assert spec and re.match(r"^spec: 1\.\d+\.\d+", spec[0]), lines


# -- kill -------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["9", "KILL", "SIGKILL", "kill"])
def test_kill_signal_forms(form, pyrunc, make_bundle):
    cid, _ = _running(pyrunc, make_bundle("sleep", "30"))
    pyrunc.cmd("kill", cid, form, check=True)
    assert _wait_status(pyrunc, cid, "stopped")["pid"] == 0


def test_kill_default_is_sigterm(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "trap 'echo got-term > /tmp/sig; exit 0' TERM; "
                    "touch /tmp/ready; while :; do sleep 0.05; done")
    cid, _ = _running(pyrunc, b)
    _wait_file(os.path.join(b.rootfs, "tmp", "ready"))
    pyrunc.cmd("kill", cid, check=True)
    _wait_status(pyrunc, cid, "stopped")
    with open(os.path.join(b.rootfs, "tmp", "sig")) as f:
        assert f.read() == "got-term\n"


def test_kill_numeric_signal_reaches_handler(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "trap 'echo usr1 > /tmp/sig; exit 0' USR1; "
                    "touch /tmp/ready; while :; do sleep 0.05; done")
    cid, _ = _running(pyrunc, b)
    _wait_file(os.path.join(b.rootfs, "tmp", "ready"))
    pyrunc.cmd("kill", cid, str(int(signal.SIGUSR1)), check=True)
    _wait_status(pyrunc, cid, "stopped")
    with open(os.path.join(b.rootfs, "tmp", "sig")) as f:
        assert f.read() == "usr1\n"


def test_kill_bad_signal(pyrunc, make_bundle):
    cid, _ = _running(pyrunc, make_bundle("sleep", "30"))
    for bad in ("NOPE", "999", "SIG", "-9"):
        r = pyrunc.cmd("kill", cid, bad)
        assert r.code != 0 and len(r.err.strip().splitlines()) == 1, (bad, r)
    assert pyrunc.state(cid)["status"] == "running"


def test_kill_signal_0_checks_liveness(pyrunc, make_bundle):
    cid, _ = _running(pyrunc, make_bundle("sleep", "30"))
    pyrunc.cmd("kill", cid, "0", check=True)
    assert pyrunc.state(cid)["status"] == "running"
    pyrunc.cmd("kill", cid, "KILL", check=True)
    _wait_status(pyrunc, cid, "stopped")
    r = pyrunc.cmd("kill", cid, "0")
    assert r.code != 0 and "container not running" in r.err


def _children(pid):
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
            out += [int(x) for x in f.read().split()]
    return out


def _dead(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _hostpid_container(make_bundle):
    # without a pid namespace killing the init leaves its children running: --all matters
    b = make_bundle("sh", "-c", "sleep 31 & sleep 32 & wait")
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"]
                                       if n["type"] != "pid"]
    return b.write()


def _two_children(pid):
    for _ in range(200):
        kids = _children(pid)
        if len(kids) == 2:
            return kids
        time.sleep(0.02)
    raise AssertionError("children of %d: %r" % (pid, _children(pid)))


def test_kill_all(pyrunc, make_bundle):
    cid, pid = _running(pyrunc, _hostpid_container(make_bundle))
    kids = _two_children(pid)
    pyrunc.cmd("kill", "--all", cid, "KILL", check=True)
    for _ in range(200):
        if all(_dead(p) for p in [pid] + kids):
            break
        time.sleep(0.02)
    assert all(_dead(p) for p in [pid] + kids)


def test_kill_without_all_signals_only_the_init(pyrunc, make_bundle):
    cid, pid = _running(pyrunc, _hostpid_container(make_bundle))
    kids = _two_children(pid)
    pyrunc.cmd("kill", cid, "KILL", check=True)
    for _ in range(200):
        if _dead(pid):
            break
        time.sleep(0.02)
    assert _dead(pid)
    assert not any(_dead(k) for k in kids)  # the fixture's cleanup kills them (cgroup)


# -- list -------------------------------------------------------------------------------------


def test_list_table_and_quiet(pyrunc, make_bundle):
    assert pyrunc.cmd("list", check=True).out.split() == \
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    b1, b2 = make_bundle("sleep", "30"), make_bundle("sleep", "30")
    c1 = new_id("a")
    pyrunc.cmd("create", "--bundle", b1.path, c1, check=True)
    c2, pid2 = _running(pyrunc, b2)
    r = pyrunc.cmd("list", check=True)
    assert r.err == ""
    lines = r.out.splitlines()
    assert lines[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    rows = {l.split()[0]: l.split() for l in lines[1:]}
    assert set(rows) == {c1, c2}
    st1 = pyrunc.state(c1)
    assert rows[c1][:4] == [c1, str(st1["pid"]), "created", b1.path]
    assert rows[c2][:4] == [c2, str(pid2), "running", b2.path]
    assert rows[c1][-1] == "root" and rows[c1][4] == st1["created"]
    # columns are aligned: every row's fields start where the header's do
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
    for l in lines[1:]:
        assert [m.start() for m in re.finditer(r"\S+", l)] == starts, lines
    assert sorted(pyrunc.cmd("list", "-q", check=True).out.splitlines()) == sorted([c1, c2])
    js = json.loads(pyrunc.cmd("list", "--format", "json", check=True).out)
    assert sorted(s["id"] for s in js) == sorted([c1, c2])


def test_list_empty_root_does_not_exist(pyrunc):
    assert not os.path.exists(pyrunc.root)
    r = pyrunc.cmd("list", "-q")
    assert r.code == 0 and r.out == "", r


# -- spec -------------------------------------------------------------------------------------


@pytest.mark.parametrize("rootless", [False, True])
def test_spec_same_as_runc(rootless, pyrunc, tmp_path):
    runc = shutil.which("runc")
    if runc is None:
        pytest.fail("runc is not installed")
    a, b = tmp_path / "runc", tmp_path / "pyrunc"
    a.mkdir()
    b.mkdir()
    extra = ["--rootless"] if rootless else []
    subprocess.run([runc, "spec", "--bundle", str(a)] + extra, check=True)
    r = _raw(pyrunc, "spec", "--bundle", b, *extra)
    assert r.code == 0 and r.out == "" and r.err == "", r
    ta, tb = (a / "config.json").read_text(), (b / "config.json").read_text()
    ja, jb = json.loads(ta), json.loads(tb)
    assert ja.pop("ociVersion") and jb.pop("ociVersion")
    assert ja == jb
    # byte for byte, apart from the version line
    strip = lambda t: re.sub(r'"ociVersion": "[^"]*"', "", t)  # noqa: E731
    assert strip(ta) == strip(tb)


def test_spec_in_cwd_and_refuses_to_overwrite(pyrunc, tmp_path):
    r = _raw(pyrunc, "spec", cwd=str(tmp_path))
    assert r.code == 0, r
    before = (tmp_path / "config.json").read_text()
    r = _raw(pyrunc, "spec", cwd=str(tmp_path))
    assert r.code != 0 and "exists" in r.err
    assert (tmp_path / "config.json").read_text() == before


# -- run --------------------------------------------------------------------------------------


def test_run_detach(pyrunc, make_bundle, tmp_path):
    b = make_bundle("sleep", "30")
    cid = new_id()
    t = time.monotonic()
    r = pyrunc.cmd("run", "--detach", "--bundle", b.path, "--pid-file", tmp_path / "pid", cid,
                   timeout=20)
    assert r.code == 0 and r.out == "", r
    assert time.monotonic() - t < 10
    st = pyrunc.state(cid)
    assert st["status"] == "running"
    assert (tmp_path / "pid").read_text() == str(st["pid"])
    assert os.readlink("/proc/%d/exe" % st["pid"]).endswith("busybox")


def test_run_relays_sigterm(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "trap 'exit 42' TERM; touch /tmp/ready; "
                    "while :; do sleep 0.05; done")
    cid = new_id()
    p = subprocess.Popen(pyrunc.argv + ["--root", pyrunc.root, "run", "--bundle", b.path, cid],
                         stdin=subprocess.DEVNULL)
    try:
        _wait_file(os.path.join(b.rootfs, "tmp", "ready"))  # the shell has set its trap
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 42
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert pyrunc.state(cid) is None  # run deleted it


def test_run_relays_sigint_and_sighup(pyrunc, make_bundle):
    for sig, code in ((signal.SIGINT, 7), (signal.SIGHUP, 9)):
        b = make_bundle("sh", "-c", "trap 'exit %d' %s; touch /tmp/ready; "
                        "while :; do sleep 0.05; done" % (code, sig.name[3:]))
        cid = new_id()
        p = subprocess.Popen(pyrunc.argv + ["--root", pyrunc.root, "run", "--bundle", b.path,
                                            cid], stdin=subprocess.DEVNULL)
        try:
            _wait_file(os.path.join(b.rootfs, "tmp", "ready"))
            p.send_signal(sig)
            assert p.wait(timeout=20) == code, sig
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_run_requires_id(pyrunc, make_bundle):
    r = pyrunc.cmd("run", "--bundle", make_bundle("true").path)
    assert r.code != 0 and len(r.err.strip().splitlines()) == 1


def test_state_and_delete_arg_errors(pyrunc):
    for args in (("state",), ("delete",), ("start",), ("kill",), ("state", "a", "b")):
        r = pyrunc.cmd(*args)
        assert r.code != 0 and len(r.err.strip().splitlines()) == 1, (args, r)
