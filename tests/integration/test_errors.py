"""Failures: invalid configs and impossible setups fail create with one line naming the
problem and leave nothing behind (state, cgroups, mounts, processes); --log json; the
lifecycle errors clients match on."""

import glob
import json
import os
import re
import time
import uuid

import pytest

from tests.helpers import new_id

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _cgroup_dirs(cg):
    """Where a cgroup at path ``cg`` would be, in every mounted hierarchy."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] in ("cgroup", "cgroup2"):
                out.append(left.split()[4] + cg)
    assert out, "no cgroup hierarchy mounted?"
    return out


def _mounts_mentioning(path):
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if path in line]


def _procs_of(cid, bundle):
    """Host processes that belong to the container: its id on their command line (pyrunc's
    init before exec), or a root inside the bundle."""
    found = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/cmdline", "rb") as f:
                cmd = f.read()
            root = os.readlink(d + "/root")
        except OSError:
            continue
        if cid.encode() in cmd or root.startswith(bundle):
            found.append((d, cmd))
    return found


def _assert_nothing_left(rt, cid, bundle, cg):
    assert not os.path.isdir(rt.root) or os.listdir(rt.root) == [], os.listdir(rt.root)
    for d in _cgroup_dirs(cg):
        assert not os.path.exists(d), "cgroup left behind: " + d
    assert _mounts_mentioning(bundle) == []
    deadline = time.monotonic() + 2
    while _procs_of(cid, bundle) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _procs_of(cid, bundle) == []


def _dead(pid):
    """Gone, or a zombie waiting for its reaper (here pid 1 reaps slowly)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _wait_dead(pid):
    for _ in range(250):
        if _dead(pid):
            return True
        time.sleep(0.02)
    return False


def _unique_cgroup():
    return "/pyrunc-errtest-%s" % uuid.uuid4().hex[:12]


# (name, config change, text the one-line error must contain)
def _bad_rlimit(c, b):
    c["process"]["rlimits"] = [{"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}]


def _dup_ns(c, b):
    c["linux"]["namespaces"].append({"type": "uts"})


def _relative_cwd(c, b):
    c["process"]["cwd"] = "tmp"


def _no_args(c, b):
    del c["process"]["args"]


def _empty_args(c, b):
    c["process"]["args"] = []


def _no_rootfs(c, b):
    c["root"]["path"] = "not-there"


def _no_bind_source(c, b):
    c["mounts"].append({"destination": "/data", "type": "bind",
                        "source": os.path.join(b.path, "no-such-dir"), "options": ["rbind"]})


def _no_exec(c, b):
    c["process"]["args"] = ["no-such-program", "arg"]


def _no_exec_path(c, b):
    c["process"]["args"] = ["/bin/no-such-program"]


def _rlimit_too_high(c, b):
    c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 10 ** 7, "hard": 10 ** 7}]


def _bad_ns_path(c, b):
    c["linux"]["namespaces"][1]["path"] = "/proc/self/ns/nope"


def _soft_above_hard(c, b):
    c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 20, "hard": 10}]


def _bad_sysctl(c, b):
    c["linux"]["sysctl"] = {"net.ipv4.no_such_knob": "1"}


# case: (config change, substrings the one-line error must contain: the field, the value)
INVALID = {
    "bad-rlimit-type": (_bad_rlimit, ("rlimits", "RLIMIT_NOPE")),
    "duplicate-namespace": (_dup_ns, ("namespaces", "uts")),
    "relative-cwd": (_relative_cwd, ("cwd", "tmp")),
    "missing-args": (_no_args, ("process.args",)),
    "empty-args": (_empty_args, ("process.args",)),
    "missing-rootfs": (_no_rootfs, ("root.path", "not-there")),
    "nonexistent-bind-source": (_no_bind_source, ("mounts", "no-such-dir")),
    "executable-not-found": (_no_exec, ("no-such-program",
                                        "executable file not found in $PATH")),
    "executable-path-missing": (_no_exec_path, ("/bin/no-such-program",
                                                "no such file or directory")),
    "rlimit-above-hard-limit": (_rlimit_too_high, ("rlimits", "RLIMIT_NOFILE")),
    "bad-namespace-path": (_bad_ns_path, ("namespaces", "/proc/self/ns/nope")),
    "soft-above-hard": (_soft_above_hard, ("rlimits", "soft")),
    "bad-sysctl": (_bad_sysctl, ("sysctl", "net.ipv4.no_such_knob")),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_config_fails_create_cleanly(case, pyrunc, make_bundle):
    change, texts = INVALID[case]
    b = make_bundle("true")
    cg = _unique_cgroup()
    b.config["linux"]["cgroupsPath"] = cg
    change(b.config, b)
    b.write()
    cid = new_id()
    r = pyrunc.cmd("create", "--bundle", b.path, cid)
    assert r.code != 0, r
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    for text in texts:
        assert text in lines[0], (text, r.err)
    assert "Traceback" not in r.err
    assert pyrunc.state(cid) is None
    _assert_nothing_left(pyrunc, cid, b.path, cg)


def test_cleanup_checks_see_a_real_container(pyrunc, make_bundle):
    """The leftovers checks above look in the right places: a created container has them."""
    b = make_bundle("sleep", "30")
    cg = _unique_cgroup()
    b.config["linux"]["cgroupsPath"] = cg
    b.write()
    cid = new_id()
    pyrunc.cmd("create", "--bundle", b.path, cid, check=True)
    assert os.listdir(pyrunc.root) == [cid]
    assert all(os.path.isdir(d) for d in _cgroup_dirs(cg))
    assert _procs_of(cid, b.path)
    pyrunc.cmd("delete", "--force", cid, check=True)
    _assert_nothing_left(pyrunc, cid, b.path, cg)


def test_failed_run_leaves_nothing(pyrunc, make_bundle):
    b = make_bundle("no-such-program")
    cg = _unique_cgroup()
    b.config["linux"]["cgroupsPath"] = cg
    b.write()
    cid = new_id()
    r = pyrunc.run(b, cid=cid)
    assert r.code != 0
    assert "executable file not found in $PATH" in r.err
    _assert_nothing_left(pyrunc, cid, b.path, cg)


def test_config_json_missing_or_garbage(pyrunc, make_bundle):
    b = make_bundle("true")
    with open(os.path.join(b.path, "config.json"), "w") as f:
        f.write("{not json")
    r = pyrunc.cmd("create", "--bundle", b.path, new_id())
    assert r.code != 0 and len(r.err.strip().splitlines()) == 1 and "config.json" in r.err, r
    os.unlink(os.path.join(b.path, "config.json"))
    r = pyrunc.cmd("create", "--bundle", b.path, new_id())
    assert r.code != 0 and len(r.err.strip().splitlines()) == 1 and "config.json" in r.err, r
    assert not os.path.isdir(pyrunc.root) or os.listdir(pyrunc.root) == []


# -- --log --log-format json ---------------------------------------------------------------


def _log_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().splitlines()


def test_log_json_one_line_for_failed_create(pyrunc, make_bundle, tmp_path):
    log = str(tmp_path / "log.json")
    b = make_bundle("no-such-program")
    r = pyrunc.cmd("create", "--bundle", b.path, new_id(),
                   global_args=("--log", log, "--log-format", "json"))
    assert r.code != 0
    lines = _log_lines(log)
    assert len(lines) == 1, lines
    entry = json.loads(lines[0])
    assert set(entry) == {"level", "msg", "time"}
    assert entry["level"] == "error"
    assert "executable file not found in $PATH" in entry["msg"]
    assert RFC3339.match(entry["time"]), entry["time"]
    # podman reads the whole file as one JSON object
    with open(log) as f:
        assert json.loads(f.read()) == entry


def test_log_json_nothing_for_successful_commands(pyrunc, make_bundle, tmp_path):
    log = str(tmp_path / "log.json")
    g = ("--log", log, "--log-format", "json")
    b = make_bundle("sleep", "30")
    cid = new_id()
    pyrunc.cmd("create", "--bundle", b.path, "--pid-file", tmp_path / "pid", cid,
               global_args=g, check=True)
    pyrunc.cmd("start", cid, global_args=g, check=True)
    pyrunc.cmd("state", cid, global_args=g, check=True)
    pyrunc.cmd("list", global_args=g, check=True)
    pyrunc.cmd("kill", cid, "9", global_args=g, check=True)
    for _ in range(200):
        if pyrunc.state(cid)["status"] == "stopped":
            break
        time.sleep(0.02)
    pyrunc.cmd("delete", cid, global_args=g, check=True)
    pyrunc.cmd("delete", "--force", cid, global_args=g, check=True)
    assert _log_lines(log) == []


def test_log_json_appends_one_line_per_failure(pyrunc, tmp_path):
    log = str(tmp_path / "log.json")
    g = ("--log", log, "--log-format", "json")
    pyrunc.cmd("kill", "nope", "9", global_args=g)
    pyrunc.cmd("state", "nope", global_args=g)
    lines = [json.loads(x) for x in _log_lines(log)]
    assert len(lines) == 2
    assert all(x["level"] == "error" and "does not exist" in x["msg"] for x in lines)


# -- lifecycle errors ------------------------------------------------------------------------


def _created(rt, b, cid=None):
    cid = cid or new_id()
    rt.cmd("create", "--bundle", b.path, cid, check=True)
    return cid


def _wait_stopped(rt, cid):
    for _ in range(250):
        st = rt.state(cid)
        if st["status"] == "stopped":
            return st
        time.sleep(0.02)
    raise AssertionError("not stopped: %r" % rt.state(cid))


def test_duplicate_id(pyrunc, make_bundle):
    b = make_bundle("sleep", "30")
    cid = _created(pyrunc, b)
    pid = pyrunc.state(cid)["pid"]
    r = pyrunc.cmd("create", "--bundle", b.path, cid)
    assert r.code != 0 and "exists" in r.err and len(r.err.strip().splitlines()) == 1, r
    # the first one is untouched
    st = pyrunc.state(cid)
    assert st["status"] == "created" and st["pid"] == pid
    r = pyrunc.run(b, cid=cid)
    assert r.code != 0 and "exists" in r.err
    assert pyrunc.state(cid)["status"] == "created"


def test_start_twice(pyrunc, make_bundle):
    cid = _created(pyrunc, make_bundle("sleep", "30"))
    pyrunc.cmd("start", cid, check=True)
    r = pyrunc.cmd("start", cid)
    assert r.code != 0
    assert "cannot start an already running container" in r.err, r
    assert pyrunc.state(cid)["status"] == "running"


def test_start_of_stopped(pyrunc, make_bundle):
    cid = _created(pyrunc, make_bundle("true"))
    pyrunc.cmd("start", cid, check=True)
    _wait_stopped(pyrunc, cid)
    r = pyrunc.cmd("start", cid)
    assert r.code != 0
    assert "cannot start a container that has stopped" in r.err, r


def test_kill_of_stopped(pyrunc, make_bundle):
    cid = _created(pyrunc, make_bundle("true"))
    pyrunc.cmd("start", cid, check=True)
    _wait_stopped(pyrunc, cid)
    r = pyrunc.cmd("kill", cid, "KILL")
    assert r.code != 0
    assert "container not running" in r.err, r


def test_kill_of_created_works(pyrunc, make_bundle):
    cid = _created(pyrunc, make_bundle("sleep", "30"))
    pyrunc.cmd("kill", cid, "KILL", check=True)
    assert _wait_stopped(pyrunc, cid)["pid"] == 0


def test_delete_running_needs_force(pyrunc, make_bundle):
    cid = _created(pyrunc, make_bundle("sleep", "30"))
    pyrunc.cmd("start", cid, check=True)
    pid = pyrunc.state(cid)["pid"]
    r = pyrunc.cmd("delete", cid)
    assert r.code != 0 and "running" in r.err, r
    assert pyrunc.state(cid)["status"] == "running"
    assert not _dead(pid)
    pyrunc.cmd("delete", "--force", cid, check=True)
    assert pyrunc.state(cid) is None
    assert _wait_dead(pid)


def test_delete_created_without_force(pyrunc, make_bundle):
    # runc deletes a created (never started) container without --force
    cid = _created(pyrunc, make_bundle("sleep", "30"))
    pid = pyrunc.state(cid)["pid"]
    pyrunc.cmd("delete", cid, check=True)
    assert pyrunc.state(cid) is None
    assert _wait_dead(pid)


def test_delete_force_unknown_id(pyrunc):
    r = pyrunc.cmd("delete", "--force", "never-existed")
    assert r.code == 0 and r.out == "" and r.err == "", r
    r = pyrunc.cmd("delete", "never-existed")
    assert r.code != 0 and "container does not exist" in r.err


def test_invalid_container_ids(pyrunc, make_bundle):
    b = make_bundle("true")
    for bad in ("../escape", "a/b", "", ".", ".."):
        r = pyrunc.cmd("create", "--bundle", b.path, bad)
        assert r.code != 0, (bad, r)
        assert len(r.err.strip().splitlines()) == 1, r
    assert not os.path.exists(os.path.join(os.path.dirname(pyrunc.root), "escape"))
