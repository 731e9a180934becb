"""cgroups through real containers, on whatever this host has (v1/hybrid or pure v2):
enforcement (OOM, pids, freezer, devices, joining late) and the commands pause, resume,
update, events and ps. File-level checks of every resource are in test_cgroups_v1.py and
test_cgroups_v2.py."""

import json
import os
import subprocess
import time

import pytest

from tests.helpers import new_id

V2 = not any(os.path.isdir("/sys/fs/cgroup/" + c) for c in ("memory", "cpu", "pids"))


def cg_paths(rt, cid):
    with open(os.path.join(rt.root, cid, "state.json")) as f:
        return json.load(f)["cgroup_paths"]


def cg_dir(rt, cid, ctrl):
    paths = cg_paths(rt, cid)
    if V2:
        return paths[""]
    for key, path in paths.items():
        if ctrl in key.split(","):
            return path
    raise KeyError(ctrl)


def cg_read(rt, cid, ctrl, name):
    with open(os.path.join(cg_dir(rt, cid, ctrl), name)) as f:
        return f.read().strip()


def start_detached(rt, bundle, cid=None):
    cid = cid or new_id()
    rt.cmd("run", "-d", "--bundle", bundle.path, cid, check=True)
    return cid


def wait_status(rt, cid, status, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = rt.state(cid)
        if st and st["status"] == status:
            return
        time.sleep(0.05)
    raise AssertionError("%s never became %s: %r" % (cid, status, rt.state(cid)))


# -- enforcement ---------------------------------------------------------------------------
def test_memory_limit_oom_kills(pyrunc, make_bundle):
    b = make_bundle("dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
    b.config["linux"]["resources"] = {"memory": {"limit": 16 << 20, "swap": 16 << 20}}
    b.write()
    r = pyrunc.run(b)
    assert r.code == 137, r  # SIGKILL by the OOM killer


def test_memory_limit_enough_succeeds(pyrunc, make_bundle):
    b = make_bundle("dd", "if=/dev/zero", "of=/dev/null", "bs=4M", "count=1")
    b.config["linux"]["resources"] = {"memory": {"limit": 64 << 20}}
    b.write()
    r = pyrunc.run(b)
    assert r.code == 0, r


def test_join_late_tiny_memory_limit(pyrunc, make_bundle):
    """The init joins its cgroup after the Python setup: 512 KiB is enough for /bin/true."""
    b = make_bundle("true")
    b.config["linux"]["resources"] = {"memory": {"limit": 524288}}
    b.write()
    r = pyrunc.run(b)
    assert r.code == 0, r


def test_join_late_runtime_memory_not_charged(pyrunc, make_bundle):
    b = make_bundle("sleep", "30")
    b.config["linux"]["resources"] = {"memory": {"limit": 64 << 20}}
    b.write()
    cid = start_detached(pyrunc, b)
    peak = "memory.peak" if V2 else "memory.max_usage_in_bytes"
    try:
        v = int(cg_read(pyrunc, cid, "memory", peak))
    except FileNotFoundError:
        pytest.skip("no peak memory file")
    # the Python runtime needs ~10 MB; the container's own peak is far below that
    assert v < 4 << 20, v


def test_pids_limit_fork_fails(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "for i in 1 2 3 4 5 6; do sleep 2 & done; wait; echo done")
    b.config["linux"]["resources"] = {"pids": {"limit": 4}}
    b.write()
    r = pyrunc.run(b)
    assert "fork" in r.err.lower() or "resource temporarily unavailable" in r.err.lower(), r


def test_device_rule_denies_block_device(pyrunc, make_bundle):
    dev = _a_block_device()
    st = os.stat(dev)
    b = make_bundle("sh", "-c", "head -c1 /dev/hostblk >/dev/null && echo READ-OK; "
                    "echo x > /dev/null && echo NULL-OK; head -c1 /dev/zero | wc -c")
    b.config["linux"]["devices"] = [{"path": "/dev/hostblk", "type": "b",
                                     "major": os.major(st.st_rdev),
                                     "minor": os.minor(st.st_rdev), "fileMode": 0o600}]
    b.config["linux"]["resources"] = {"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": False, "type": "b", "major": os.major(st.st_rdev),
         "minor": os.minor(st.st_rdev), "access": "rwm"}]}
    b.write()
    r = pyrunc.run(b)
    assert "READ-OK" not in r.out, r
    assert "Operation not permitted" in r.err, r
    assert "NULL-OK" in r.out and r.out.strip().endswith("1"), r


def test_device_allow_rule_permits_block_device(pyrunc, make_bundle):
    dev = _a_block_device()
    st = os.stat(dev)
    b = make_bundle("sh", "-c", "head -c1 /dev/hostblk >/dev/null && echo READ-OK")
    b.config["linux"]["devices"] = [{"path": "/dev/hostblk", "type": "b",
                                     "major": os.major(st.st_rdev),
                                     "minor": os.minor(st.st_rdev), "fileMode": 0o600}]
    b.config["linux"]["resources"] = {"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "b", "major": os.major(st.st_rdev),
         "minor": os.minor(st.st_rdev), "access": "r"}]}
    b.write()
    r = pyrunc.run(b)
    assert r.code == 0 and r.out == "READ-OK\n" and r.err == "", r


def _a_block_device():
    """A host block device this process can open (the denial must come from the rule)."""
    for name in sorted(os.listdir("/sys/block"), key=lambda n: n.startswith("loop")):
        path = "/dev/" + name
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.read(fd, 1)
            finally:
                os.close(fd)
        except OSError:
            continue
        return path
    pytest.skip("no block device that can be opened")


# -- pause / resume --------------------------------------------------------------------------
def _counter_bundle(make_bundle):
    return make_bundle("sh", "-c", "while true; do echo x >> /tmp/count; done")


def _count(b):
    """Progress of the counter loop: the size of the file it appends to."""
    path = os.path.join(b.rootfs, "tmp", "count")
    for _ in range(100):
        if os.path.exists(path):
            return os.path.getsize(path)
        time.sleep(0.02)
    raise AssertionError("no counter")


def test_pause_resume_freezes_processes(pyrunc, make_bundle):
    b = _counter_bundle(make_bundle)
    cid = start_detached(pyrunc, b)
    _count(b)
    pyrunc.cmd("pause", cid, check=True)
    assert pyrunc.state(cid)["status"] == "paused"
    a = _count(b)
    time.sleep(0.3)
    assert _count(b) == a  # frozen: no progress
    r = pyrunc.cmd("pause", cid)
    assert r.code != 0 and "container not running" in r.err
    pyrunc.cmd("resume", cid, check=True)
    assert pyrunc.state(cid)["status"] == "running"
    time.sleep(0.3)
    assert _count(b) > a
    r = pyrunc.cmd("resume", cid)
    assert r.code != 0 and "container not paused" in r.err
    pyrunc.cmd("kill", cid, "9", check=True)
    wait_status(pyrunc, cid, "stopped")
    r = pyrunc.cmd("pause", cid)
    assert r.code != 0 and "container not running" in r.err


def test_kill_and_delete_force_paused(pyrunc, make_bundle):
    b = make_bundle("sleep", "100")
    cid = start_detached(pyrunc, b)
    pyrunc.cmd("pause", cid, check=True)
    pyrunc.cmd("delete", "--force", cid, check=True)
    assert pyrunc.state(cid) is None


def test_pause_unknown_container(pyrunc):
    for cmd in ("pause", "resume", "update", "ps", "events"):
        r = pyrunc.cmd(cmd, "nope")
        assert r.code != 0 and "container does not exist" in r.err, (cmd, r)


# -- ps --------------------------------------------------------------------------------------
def test_ps_json_and_table(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "sleep 100 & sleep 100")
    cid = start_detached(pyrunc, b)
    init = pyrunc.state(cid)["pid"]
    for _ in range(100):
        r = pyrunc.cmd("ps", "--format", "json", cid)
        pids = json.loads(r.out)
        if len(pids) == 2:
            break
        time.sleep(0.02)
    assert r.err == "" and r.out.endswith("]\n")
    assert init in pids and len(pids) == 2
    r = pyrunc.cmd("ps", cid)
    lines = r.out.splitlines()
    assert lines[0].split()[:2] == ["UID", "PID"]
    assert sorted(int(line.split()[1]) for line in lines[1:]) == sorted(pids)
    r = pyrunc.cmd("ps", "--format", "yaml", cid)
    assert r.code != 0 and "invalid format option" in r.err


# -- update ----------------------------------------------------------------------------------
def _mem_limit(rt, cid):
    return int(cg_read(rt, cid, "memory", "memory.max" if V2 else "memory.limit_in_bytes"))


def test_update_docker_payload_zero_means_unchanged(pyrunc, make_bundle):
    b = make_bundle("sleep", "100")
    b.config["linux"]["resources"] = {"cpu": {"shares": 512}, "memory": {"limit": 128 << 20}}
    b.write()
    cid = start_detached(pyrunc, b)
    payload = {"memory": {"limit": 268435456, "reservation": 0, "swap": 536870912,
                          "kernel": 0}, "cpu": {"shares": 0, "quota": 50000, "period": 100000},
               "pids": {"limit": 100}, "blockIO": {"weight": 0}}
    r = pyrunc.cmd("update", "--resources", "-", cid, input=json.dumps(payload))
    assert r.code == 0 and r.out == "" and r.err == "", r
    assert _mem_limit(pyrunc, cid) == 268435456
    assert int(cg_read(pyrunc, cid, "pids", "pids.max")) == 100
    if V2:
        assert cg_read(pyrunc, cid, "cpu", "cpu.max") == "50000 100000"
        assert cg_read(pyrunc, cid, "cpu", "cpu.weight") == "20"  # shares 512, unchanged
    else:
        assert cg_read(pyrunc, cid, "cpu", "cpu.cfs_quota_us") == "50000"
        assert cg_read(pyrunc, cid, "cpu", "cpu.shares") == "512"  # 0: left unchanged
        assert int(cg_read(pyrunc, cid, "memory", "memory.memsw.limit_in_bytes")) == 536870912


def test_update_podman_file_and_flags(pyrunc, make_bundle, tmp_path):
    b = make_bundle("sleep", "100")
    cid = start_detached(pyrunc, b)
    f = tmp_path / "res.json"
    f.write_text(json.dumps({"memory": {"limit": 314572800, "swap": 629145600},
                             "cpu": {"quota": 50000, "period": 100000}}))
    pyrunc.cmd("update", "--resources=%s" % f, cid, check=True)
    assert _mem_limit(pyrunc, cid) == 314572800
    pyrunc.cmd("update", "--memory", "200m", "--memory-swap", "400m", "--pids-limit", "42",
               "--cpu-quota", "20000", "--cpu-share", "256", cid, check=True)
    assert _mem_limit(pyrunc, cid) == 200 << 20
    assert cg_read(pyrunc, cid, "pids", "pids.max") == "42"
    if not V2:
        assert cg_read(pyrunc, cid, "cpu", "cpu.shares") == "256"
        assert cg_read(pyrunc, cid, "cpu", "cpu.cfs_quota_us") == "20000"
        assert cg_read(pyrunc, cid, "cpu", "cpu.cfs_period_us") == "100000"
    else:
        assert cg_read(pyrunc, cid, "cpu", "cpu.max") == "20000 100000"
    # lowering below the usage is refused by the kernel with a clear message (v1) ...
    r = pyrunc.cmd("update", "--memory", "bogus", cid)
    assert r.code != 0 and "invalid value for memory" in r.err


def test_update_stopped_container(pyrunc, make_bundle):
    b = make_bundle("true")
    cid = new_id()
    pyrunc.cmd("create", "--bundle", b.path, cid, check=True)
    pyrunc.cmd("kill", cid, "9", check=True)
    wait_status(pyrunc, cid, "stopped")
    r = pyrunc.cmd("update", "--memory", "100m", cid)
    assert r.code != 0 and "container not running" in r.err


def test_update_check_before_update(pyrunc, make_bundle):
    b = make_bundle("sleep", "100")
    cid = start_detached(pyrunc, b)
    r = pyrunc.cmd("update", "-r", "-", cid, input=json.dumps(
        {"memory": {"limit": 4096, "checkBeforeUpdate": True}}))
    assert r.code != 0 and "update.memory.limit" in r.err and "usage" in r.err, r


# -- events ----------------------------------------------------------------------------------
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "..", "shared", "reference", "clients", "examples",
    "runc-events-stats.json")


def test_events_stats_shape(pyrunc, make_bundle):
    b = make_bundle("sleep", "100")
    b.config["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}}
    b.write()
    cid = start_detached(pyrunc, b)
    r = pyrunc.cmd("events", "--stats", cid)
    assert r.code == 0 and r.err == ""
    lines = r.out.splitlines()
    assert len(lines) == 1
    ev = json.loads(lines[0])
    assert list(ev) == ["type", "id", "data"] and ev["type"] == "stats" and ev["id"] == cid
    d = ev["data"]
    assert list(d) == ["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt",
                       "network_interfaces"]
    assert d["pids"] == {"current": 1, "limit": 50}
    assert d["memory"]["usage"]["limit"] == 64 << 20
    assert d["memory"]["usage"]["usage"] > 0
    assert d["cpu"]["usage"]["total"] > 0
    if os.path.exists(EXAMPLE) and not V2:
        with open(EXAMPLE) as f:
            ex = json.load(f)["data"]
        # cache is omitempty (0 in a fresh container)
        assert [k for k in d["memory"] if k != "cache"] == [k for k in ex["memory"]
                                                            if k != "cache"]
        assert set(d["memory"]["raw"]) == set(ex["memory"]["raw"])
        assert list(d["cpuset"]) == list(ex["cpuset"])


def test_events_stream_and_oom(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1; "
                    "sleep 1")
    b.config["linux"]["resources"] = {"memory": {"limit": 16 << 20, "swap": 16 << 20}}
    b.write()
    cid = new_id()
    pyrunc.cmd("create", "--bundle", b.path, cid, check=True)
    p = subprocess.Popen(pyrunc.argv + ["--root", pyrunc.root, "events", "--interval",
                                        "300ms", cid], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        pyrunc.cmd("start", cid, check=True)
        out, err = p.communicate(timeout=20)  # ends by itself when the container stops
    finally:
        if p.poll() is None:
            p.kill()
    evs = [json.loads(line) for line in out.splitlines()]
    types = [e["type"] for e in evs]
    assert "oom" in types, (out, err)
    assert types.count("stats") >= 2, types
    assert {"type": "oom", "id": cid} in evs


def test_events_stopped_and_bad_interval(pyrunc, make_bundle):
    b = make_bundle("sleep", "100")
    cid = start_detached(pyrunc, b)
    r = pyrunc.cmd("events", "--interval", "0s", cid)
    assert r.code != 0 and "duration interval must be greater than 0" in r.err
    pyrunc.cmd("kill", cid, "9", check=True)
    wait_status(pyrunc, cid, "stopped")
    r = pyrunc.cmd("events", "--stats", cid)
    assert r.code != 0 and "is not running" in r.err


@pytest.mark.runc
def test_events_stats_keys_match_runc(pyrunc, runc, make_bundle):
    b = make_bundle("sleep", "100")
    b.config["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}}
    b.write()
    shapes = []
    for rt in (pyrunc, runc):
        cid = new_id()
        b.config["linux"]["cgroupsPath"] = "/pyrunc-test-%s" % cid
        b.write()
        rt.cmd("run", "-d", "--bundle", b.path, cid, check=True)
        ev = json.loads(rt.cmd("events", "--stats", cid, check=True).out)
        shapes.append(_shape(ev))
    # omitempty fields that depend on the values (a file cache, I/O done, a peak runc 1.1
    # does not read on v2) may differ between two containers
    loose = ("/data/memory/cache:", "/data/memory/usage/max:", "/data/blkio/")
    a, b = ([s for s in sh if not s.startswith(loose)] for sh in shapes)
    assert a == b, set(a) ^ set(b)


def _shape(x, p=""):
    if isinstance(x, dict):
        out = []
        for k, v in x.items():
            out += _shape(v, p + "/" + k)
        return out
    if isinstance(x, list):
        return [p + "[]"]
    return [p + ":" + type(x).__name__]
