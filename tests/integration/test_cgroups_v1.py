"""linux.resources on cgroup v1 (hybrid here): every field written, then read back from the
container's cgroup files while it is created; fields the host can't apply fail create with
an error naming the field."""

import json
import os

import pytest

from tests.helpers import new_id

pytestmark = pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/memory"),
                                reason="needs cgroup v1 controllers")


def _dirs(rt, cid):
    with open(os.path.join(rt.root, cid, "state.json")) as f:
        paths = json.load(f)["cgroup_paths"]
    out = {}
    for key, path in paths.items():
        for c in key.split(","):
            out[c] = path
    return out


def _read(d, name):
    with open(os.path.join(d, name)) as f:
        return f.read().strip()


def _create(rt, make_bundle, resources, args=("sleep", "100")):
    b = make_bundle(*args)
    b.config["linux"]["resources"] = resources
    b.write()
    cid = new_id()
    r = rt.cmd("create", "--bundle", b.path, cid)
    return cid, r


def _exists(ctrl, name):
    return os.path.exists(os.path.join("/sys/fs/cgroup", ctrl, name)) or any(
        os.path.exists(os.path.join("/sys/fs/cgroup", ctrl, d, name))
        for d in os.listdir(os.path.join("/sys/fs/cgroup", ctrl))
        if os.path.isdir(os.path.join("/sys/fs/cgroup", ctrl, d)))


def test_memory_fields(pyrunc, make_bundle):
    mem = {"limit": 64 << 20, "reservation": 32 << 20, "swap": 128 << 20, "swappiness": 10,
           "disableOOMKiller": True, "useHierarchy": True, "kernelTCP": 16 << 20}
    cid, r = _create(pyrunc, make_bundle, {"memory": mem})
    assert r.code == 0, r
    d = _dirs(pyrunc, cid)["memory"]
    assert int(_read(d, "memory.limit_in_bytes")) == 64 << 20
    assert int(_read(d, "memory.soft_limit_in_bytes")) == 32 << 20
    assert int(_read(d, "memory.memsw.limit_in_bytes")) == 128 << 20
    assert _read(d, "memory.swappiness") == "10"
    assert "oom_kill_disable 1" in _read(d, "memory.oom_control")
    assert _read(d, "memory.use_hierarchy") == "1"
    assert int(_read(d, "memory.kmem.tcp.limit_in_bytes")) == 16 << 20


def test_memory_unlimited_and_swap_order(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {"memory": {"limit": -1}})
    assert r.code == 0, r
    d = _dirs(pyrunc, cid)["memory"]
    assert int(_read(d, "memory.limit_in_bytes")) > 1 << 60
    # raising memory above the old memsw limit needs memsw written first (runc's order)
    pyrunc.cmd("update", "--memory", "64m", "--memory-swap", "64m", cid, check=True)
    pyrunc.cmd("update", "--memory", "256m", "--memory-swap", "512m", cid, check=True)
    assert int(_read(d, "memory.limit_in_bytes")) == 256 << 20
    assert int(_read(d, "memory.memsw.limit_in_bytes")) == 512 << 20
    pyrunc.cmd("update", "--memory", "32m", "--memory-swap", "48m", cid, check=True)
    assert int(_read(d, "memory.limit_in_bytes")) == 32 << 20
    assert int(_read(d, "memory.memsw.limit_in_bytes")) == 48 << 20


def test_memory_swap_below_limit_names_field(pyrunc, make_bundle):
    _, r = _create(pyrunc, make_bundle, {"memory": {"limit": 64 << 20, "swap": 32 << 20}})
    assert r.code != 0 and "linux.resources.memory.swap" in r.err, r
    assert pyrunc.ids() == []


def test_memory_swappiness_range(pyrunc, make_bundle):
    _, r = _create(pyrunc, make_bundle, {"memory": {"swappiness": 101}})
    assert r.code != 0 and "linux.resources.memory.swappiness" in r.err, r


def test_memory_use_hierarchy_false_refused(pyrunc, make_bundle):
    # a 6.x kernel always uses the hierarchy: the field can't be applied
    _, r = _create(pyrunc, make_bundle, {"memory": {"useHierarchy": False}})
    if r.code == 0:
        pytest.skip("this kernel still allows use_hierarchy=0")
    assert "linux.resources.memory.useHierarchy" in r.err, r


def test_memory_kernel(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {"memory": {"kernel": 32 << 20}})
    if not _exists("memory", "memory.kmem.limit_in_bytes"):
        assert r.code != 0 and "linux.resources.memory.kernel" in r.err
        return
    assert r.code == 0, r
    got = int(_read(_dirs(pyrunc, cid)["memory"], "memory.kmem.limit_in_bytes"))
    assert got in (32 << 20, 2 ** 63 - 4096)  # newer kernels accept but ignore it


def test_cpu_fields(pyrunc, make_bundle):
    cpu = {"shares": 512, "quota": 20000, "period": 50000, "burst": 10000, "cpus": "0",
           "mems": "0", "idle": 0}
    cid, r = _create(pyrunc, make_bundle, {"cpu": cpu})
    assert r.code == 0, r
    d = _dirs(pyrunc, cid)
    assert _read(d["cpu"], "cpu.shares") == "512"
    assert _read(d["cpu"], "cpu.cfs_quota_us") == "20000"
    assert _read(d["cpu"], "cpu.cfs_period_us") == "50000"
    assert _read(d["cpu"], "cpu.cfs_burst_us") == "10000"
    assert _read(d["cpu"], "cpu.idle") == "0"
    assert _read(d["cpuset"], "cpuset.cpus") == "0"
    assert _read(d["cpuset"], "cpuset.mems") == "0"


def test_cpu_realtime(pyrunc, make_bundle):
    # the container's cgroup is made below ours, and a child gets at most our realtime budget:
    # none in a container started without --cpu-rt-runtime (Dockerfile.test)
    from tests.e2e.clients import cgroup_path
    own = os.path.join(cgroup_path(os.getpid(), "cpu"), "cpu.rt_runtime_us")
    if os.path.exists(own) and int(_read(os.path.dirname(own), "cpu.rt_runtime_us")) < 10000:
        pytest.skip("our own cgroup has no realtime budget to give (%s)" % own)
    cid, r = _create(pyrunc, make_bundle, {"cpu": {"realtimePeriod": 1000000,
                                                   "realtimeRuntime": 10000}})
    assert r.code == 0, r
    d = _dirs(pyrunc, cid)
    assert _read(d["cpu"], "cpu.rt_period_us") == "1000000"
    assert _read(d["cpu"], "cpu.rt_runtime_us") == "10000"


def test_cpu_idle(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {"cpu": {"idle": 1}})
    assert r.code == 0, r
    assert _read(_dirs(pyrunc, cid)["cpu"], "cpu.idle") == "1"


def test_cpu_shares_zero_not_written_and_limits_reported(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {"cpu": {"shares": 0, "quota": -1}})
    assert r.code == 0, r
    assert _read(_dirs(pyrunc, cid)["cpu"], "cpu.shares") == "1024"
    _, r = _create(pyrunc, make_bundle, {"cpu": {"shares": 1}})
    assert r.code != 0 and "linux.resources.cpu.shares" in r.err \
        and "minimum allowed cpu-shares is 2" in r.err, r


def test_cpuset_bad_cpus_names_field(pyrunc, make_bundle):
    _, r = _create(pyrunc, make_bundle, {"cpu": {"cpus": "99"}})
    assert r.code != 0 and "linux.resources.cpu.cpus" in r.err, r


def test_pids_limit(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {"pids": {"limit": 33}})
    assert r.code == 0, r
    assert _read(_dirs(pyrunc, cid)["pids"], "pids.max") == "33"
    cid, r = _create(pyrunc, make_bundle, {"pids": {"limit": -1}})
    assert _read(_dirs(pyrunc, cid)["pids"], "pids.max") == "max"


def _blockdev():
    for name in sorted(os.listdir("/sys/block")):
        with open("/sys/block/%s/dev" % name) as f:
            ma, mi = f.read().strip().split(":")
        if not name.startswith(("loop", "zram")):
            return int(ma), int(mi)
    pytest.skip("no block device")


def test_blkio_fields(pyrunc, make_bundle):
    ma, mi = _blockdev()
    bio = {"weight": 300,
           "throttleReadBpsDevice": [{"major": ma, "minor": mi, "rate": 1048576}],
           "throttleWriteBpsDevice": [{"major": ma, "minor": mi, "rate": 2097152}],
           "throttleReadIOPSDevice": [{"major": ma, "minor": mi, "rate": 100}],
           "throttleWriteIOPSDevice": [{"major": ma, "minor": mi, "rate": 200}]}
    cid, r = _create(pyrunc, make_bundle, {"blockIO": bio})
    assert r.code == 0, r
    d = _dirs(pyrunc, cid)["blkio"]
    wfile = "blkio.weight" if os.path.exists(os.path.join(d, "blkio.weight")) \
        else "blkio.bfq.weight"
    assert "300" in _read(d, wfile)
    dev = "%d:%d" % (ma, mi)
    assert _read(d, "blkio.throttle.read_bps_device") == dev + " 1048576"
    assert _read(d, "blkio.throttle.write_bps_device") == dev + " 2097152"
    assert _read(d, "blkio.throttle.read_iops_device") == dev + " 100"
    assert _read(d, "blkio.throttle.write_iops_device") == dev + " 200"


def test_blkio_weight_device(pyrunc, make_bundle):
    ma, mi = _blockdev()
    cid, r = _create(pyrunc, make_bundle, {"blockIO": {"weightDevice": [
        {"major": ma, "minor": mi, "weight": 500}]}})
    if r.code != 0:
        # only a device using BFQ (or CFQ) takes a per-device weight
        assert "linux.resources.blockIO.weightDevice[0]" in r.err, r
        return
    d = _dirs(pyrunc, cid)["blkio"]
    f = "blkio.weight_device" if os.path.exists(os.path.join(d, "blkio.weight_device")) \
        else "blkio.bfq.weight_device"
    assert "%d:%d 500" % (ma, mi) in _read(d, f)


@pytest.mark.parametrize("resources,field", [
    ({"blockIO": {"leafWeight": 500}}, "linux.resources.blockIO.leafWeight"),
    ({"hugepageLimits": [{"pageSize": "2MB", "limit": 1 << 21}]},
     "linux.resources.hugepageLimits[0]"),
    ({"network": {"classID": 1048577}}, "linux.resources.network.classID"),
    ({"network": {"priorities": [{"name": "eth0", "priority": 5}]}},
     "linux.resources.network.priorities[0]"),
    ({"rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}},
     "linux.resources.rdma[mlx5_1]"),
    ({"unified": {"memory.max": "1000000"}}, "linux.resources.unified[memory.max]"),
    ({"unified": {"../x": "1"}}, "linux.resources.unified[../x]"),
])
def test_unavailable_field_is_an_error(pyrunc, make_bundle, resources, field):
    key = list(resources)[0]
    probe = {"blockIO": ("blkio", "blkio.leaf_weight"),
             "hugepageLimits": ("hugetlb", "hugetlb.2MB.limit_in_bytes"),
             "network": ("net_cls", "net_cls.classid"),
             "rdma": ("rdma", "rdma.max")}.get(key)
    if probe and os.path.isdir("/sys/fs/cgroup/" + probe[0]) and _exists(*probe):
        pytest.skip("this host has %s" % probe[1])
    if key == "network" and "priorities" in resources[key] and \
            os.path.isdir("/sys/fs/cgroup/net_prio"):
        pytest.skip("this host has net_prio")
    _, r = _create(pyrunc, make_bundle, resources)
    assert r.code != 0, r
    assert field in r.err, r
    assert "\n" == r.err[-1] and r.err.count("\n") == 1  # one line
    assert pyrunc.ids() == []


def test_unified_on_hybrid_existing_file(pyrunc, make_bundle):
    if not os.path.isdir("/sys/fs/cgroup/unified"):
        pytest.skip("no unified hierarchy")
    cid, r = _create(pyrunc, make_bundle, {"unified": {"cgroup.max.descendants": "7"}})
    assert r.code == 0, r
    with open(os.path.join(pyrunc.root, cid, "state.json")) as f:
        u = json.load(f)["cgroup_paths"][""]
    assert _read(u, "cgroup.max.descendants") == "7"


def test_default_devices_with_deny_all(pyrunc, make_bundle):
    """podman sends only deny-all: the runtime's default devices are still allowed."""
    cid, r = _create(pyrunc, make_bundle, {"devices": [{"allow": False, "access": "rwm"}]})
    assert r.code == 0, r
    lst = _read(_dirs(pyrunc, cid)["devices"], "devices.list").splitlines()
    for rule in ("c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                 "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c *:* m", "b *:* m"):
        assert rule in lst, (rule, lst)
    assert "a *:* rwm" not in lst


def test_privileged_devices_allow_all(pyrunc, make_bundle):
    cid, r = _create(pyrunc, make_bundle, {"devices": [{"allow": True, "access": "rwm"}]})
    assert r.code == 0, r
    assert _read(_dirs(pyrunc, cid)["devices"], "devices.list") == "a *:* rwm"


def test_device_rule_validation(pyrunc, make_bundle):
    _, r = _create(pyrunc, make_bundle, {"devices": [{"allow": True, "type": "c",
                                                      "access": "rwx"}]})
    assert r.code != 0 and "linux.resources.devices[0].access" in r.err, r


@pytest.mark.runc
def test_devices_list_matches_runc(pyrunc, runc, make_bundle):
    """Same rules as runc for docker's device list (runc has no 5:1 console default)."""
    res = {"devices": [{"allow": False, "access": "rwm"},
                       {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                       {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"},
                       {"allow": False, "type": "c", "major": 5, "minor": 1, "access": "rwm"}]}
    lists = []
    for rt in (pyrunc, runc):
        b = make_bundle("sleep", "100")
        cid = new_id()
        b.config["linux"]["resources"] = res
        b.config["linux"]["cgroupsPath"] = "/pyrunc-test-" + cid
        b.write()
        rt.cmd("create", "--bundle", b.path, cid, check=True)
        with open("/sys/fs/cgroup/devices/pyrunc-test-%s/devices.list" % cid) as f:
            lists.append(set(f.read().split("\n")) - {""})
    assert lists[0] - {"c 5:1 rwm"} == lists[1] - {"c 5:1 rwm"}
