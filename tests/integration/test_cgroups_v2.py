"""linux.resources on a pure cgroup v2 host (the QEMU guest of tests/vm): the converted files
(cpu.weight, cpu.max, memory.max/swap.max/low, pids.max, io.*), cgroup.freeze, the eBPF
device filter and OOM accounting. Skipped on v1/hybrid hosts."""

import json
import os
import time

import pytest

from tests.helpers import new_id

pytestmark = pytest.mark.skipif(
    not os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
    reason="needs a pure cgroup v2 host (run tests/vm/guest-test.sh in the guest)")


def _dir(rt, cid):
    with open(os.path.join(rt.root, cid, "state.json")) as f:
        paths = json.load(f)["cgroup_paths"]
    assert list(paths) == [""]
    return paths[""]


def _read(d, name):
    with open(os.path.join(d, name)) as f:
        return f.read().strip()


def _create(rt, make_bundle, resources, args=("sleep", "100")):
    b = make_bundle(*args)
    b.config["linux"]["resources"] = resources
    b.write()
    cid = new_id()
    return cid, rt.cmd("create", "--bundle", b.path, cid)


def _controllers():
    with open("/sys/fs/cgroup/cgroup.controllers") as f:
        return f.read().split()


def test_controllers_enabled_for_container(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {})
    assert r.code == 0, r
    got = set(_read(_dir(pyrunc, cid), "cgroup.controllers").split())
    assert {"cpu", "memory", "pids"} <= got, got


def test_cpu(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {"cpu": {"shares": 1024, "quota": 20000,
                                                    "period": 50000, "cpus": "0",
                                                    "mems": "0", "idle": 0}})
    assert r.code == 0, r
    d = _dir(pyrunc, cid)
    assert _read(d, "cpu.weight") == "39"   # 1 + (1024 - 2) * 9999 / 262142
    assert _read(d, "cpu.max") == "20000 50000"
    if os.path.exists(os.path.join(d, "cpuset.cpus")):
        assert _read(d, "cpuset.cpus") == "0"
        assert _read(d, "cpuset.mems") == "0"
    if os.path.exists(os.path.join(d, "cpu.idle")):
        assert _read(d, "cpu.idle") == "0"


def test_cpu_burst(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {"cpu": {"quota": 20000, "period": 100000,
                                                    "burst": 10000}})
    if r.code != 0:
        assert "linux.resources.cpu.burst" in r.err
        return
    assert _read(_dir(pyrunc, cid), "cpu.max.burst") == "10000"


def test_memory(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {"memory": {"limit": 64 << 20, "swap": 96 << 20,
                                                       "reservation": 16 << 20,
                                                       "kernel": 8 << 20}})
    if r.code != 0 and "memory.swap" in r.err:
        pytest.skip("no swap accounting: %s" % r.err)
    assert r.code == 0, r
    d = _dir(pyrunc, cid)
    assert _read(d, "memory.max") == str(64 << 20)
    assert _read(d, "memory.swap.max") == str(32 << 20)   # v1 memsw semantics converted
    assert _read(d, "memory.low") == str(16 << 20)


def test_memory_unlimited(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {"memory": {"limit": -1}})
    assert r.code == 0, r
    assert _read(_dir(pyrunc, cid), "memory.max") == "max"


def test_pids(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {"pids": {"limit": 17}})
    assert r.code == 0, r
    assert _read(_dir(pyrunc, cid), "pids.max") == "17"


def _blockdev():
    for name in sorted(os.listdir("/sys/block")):
        if name.startswith(("loop", "zram", "ram", "sr")):
            continue
        with open("/sys/block/%s/dev" % name) as f:
            return tuple(int(x) for x in f.read().strip().split(":"))
    pytest.skip("no block device")


def test_io(pyrunc, make_bundle):
    if "io" not in _controllers():
        pytest.skip("no io controller")
    ma, mi = _blockdev()
    cid, r = _create(pyrunc, make_bundle, {"blockIO": {
        "weight": 500,
        "throttleReadBpsDevice": [{"major": ma, "minor": mi, "rate": 1048576}],
        "throttleWriteIOPSDevice": [{"major": ma, "minor": mi, "rate": 300}]}})
    assert r.code == 0, r
    d = _dir(pyrunc, cid)
    if os.path.exists(os.path.join(d, "io.bfq.weight")):
        assert "500" in _read(d, "io.bfq.weight")
    elif os.path.exists(os.path.join(d, "io.weight")):
        assert "default 4950" in _read(d, "io.weight")
    iomax = _read(d, "io.max")
    assert "%d:%d rbps=1048576 wbps=max riops=max wiops=300" % (ma, mi) in iomax, iomax


def test_unified_overrides(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {"memory": {"limit": 64 << 20},
                                           "unified": {"memory.max": "33554432",
                                                       "pids.max": "9"}})
    assert r.code == 0, r
    d = _dir(pyrunc, cid)
    assert _read(d, "memory.max") == "33554432"
    assert _read(d, "pids.max") == "9"


@pytest.mark.parametrize("resources,field", [
    ({"memory": {"swappiness": 10}}, "linux.resources.memory.swappiness"),
    ({"cpu": {"realtimeRuntime": 1000}}, "linux.resources.cpu.realtimeRuntime"),
    ({"network": {"classID": 7}}, "linux.resources.network"),
    ({"unified": {"nosuch.file": "1"}}, "linux.resources.unified[nosuch.file]"),
])
def test_unavailable_field_is_an_error(pyrunc, make_bundle, resources, field):
    _, r = _create(pyrunc, make_bundle, resources)
    assert r.code != 0 and field in r.err, r
    assert pyrunc.ids() == []


def test_device_filter_attached(pyrunc, make_bundle):
    from pyrunc.cgroups import bpf
    cid, r = _create(pyrunc, make_bundle, {"devices": [{"allow": False, "access": "rwm"}]})
    assert r.code == 0, r
    fd = os.open(_dir(pyrunc, cid), os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert len(bpf.attached_programs(fd)) == 1
    finally:
        os.close(fd)


def test_freeze_file(pyrunc, make_bundle):
    b = make_bundle("sleep", "100")
    cid = new_id()
    pyrunc.cmd("run", "-d", "--bundle", b.path, cid, check=True)
    d = _dir(pyrunc, cid)
    pyrunc.cmd("pause", cid, check=True)
    assert _read(d, "cgroup.freeze") == "1"
    assert "frozen 1" in _read(d, "cgroup.events")
    assert pyrunc.state(cid)["status"] == "paused"
    pyrunc.cmd("resume", cid, check=True)
    assert _read(d, "cgroup.freeze") == "0"
    assert pyrunc.state(cid)["status"] == "running"


def test_oom_counted(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 100")
    b.config["linux"]["resources"] = {"memory": {"limit": 16 << 20, "swap": 16 << 20}}
    b.write()
    cid = new_id()
    r = pyrunc.cmd("run", "-d", "--bundle", b.path, cid)
    if r.code != 0 and "memory.swap" in r.err:
        b.config["linux"]["resources"] = {"memory": {"limit": 16 << 20}}
        b.write()
        pyrunc.cmd("run", "-d", "--bundle", b.path, cid, check=True)
    d = _dir(pyrunc, cid)
    for _ in range(200):
        ev = dict(line.split() for line in _read(d, "memory.events").splitlines())
        if int(ev.get("oom_kill", 0)) >= 1:
            break
        time.sleep(0.1)
    assert int(ev["oom_kill"]) >= 1, ev
    stats = json.loads(pyrunc.cmd("events", "--stats", cid, check=True).out)["data"]
    assert stats["memory"]["usage"]["limit"] == 16 << 20
    assert stats["memory"]["usage"]["failcnt"] >= 1
