"""cgroup logic without a kernel: conversions, the devices emulator and its eBPF program,
resource writers against fake cgroup directories, stats parsing, CLI value parsing."""

import os
import struct

import pytest

from pyrunc.cgroups import common, devices, stats, v1, v2
from pyrunc.cli.cmd_events import parse_duration
from pyrunc.cli.cmd_update import ram_in_bytes, resources_from_flags
from pyrunc.errors import PyruncError


# -- conversions (runc's formulas) -----------------------------------------------------------
@pytest.mark.parametrize("shares,weight", [(0, 0), (2, 1), (1024, 39), (512, 20),
                                           (262144, 10000)])
def test_cpu_shares_to_weight(shares, weight):
    assert v2.cpu_shares_to_weight(shares) == weight


@pytest.mark.parametrize("w,io", [(0, 0), (10, 1), (500, 4950), (1000, 10000)])
def test_blkio_weight_to_io_weight(w, io):
    assert v2.blkio_weight_to_io_weight(w) == io


def test_memory_swap_to_v2():
    w = common.Writer()
    assert v2.memory_swap_to_v2(0, -1, w) == -1
    assert v2.memory_swap_to_v2(-1, 100, w) == -1
    assert v2.memory_swap_to_v2(0, 100, w) == 0
    assert v2.memory_swap_to_v2(300, 100, w) == 200
    with pytest.raises(PyruncError, match="linux.resources.memory.swap: .*>= memory"):
        v2.memory_swap_to_v2(50, 100, w)
    with pytest.raises(PyruncError, match="without memory limit"):
        v2.memory_swap_to_v2(50, 0, w)


# -- devices ---------------------------------------------------------------------------------
def test_emulator_deny_all_plus_defaults():
    emu = devices.emulate(devices.all_rules([{"allow": False, "access": "rwm"}]))
    assert not emu.default_allow
    got = {r.cgroup_string() for r in emu.rules()[1:]}
    assert {"c 1:3 rwm", "c 136:* rwm", "c *:* m", "b *:* m", "c 5:1 rwm"} <= got


def test_emulator_allow_all_then_deny():
    emu = devices.emulate(devices.parse_rules([
        {"allow": True, "access": "rwm"},
        {"allow": False, "type": "b", "major": 8, "minor": 0, "access": "rw"}]))
    assert emu.default_allow
    assert [r.cgroup_string() for r in emu.rules()] == ["a", "b 8:0 rw"]


def test_emulator_deny_removes_allowed_access():
    emu = devices.emulate(devices.parse_rules([
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "w"}]))
    assert [r.cgroup_string() for r in emu.rules()] == ["a", "c 1:3 rm"]


def test_parse_rules_validation():
    with pytest.raises(PyruncError, match=r"linux.resources.devices\[0\].type"):
        devices.parse_rules([{"allow": True, "type": "x", "access": "r"}])
    with pytest.raises(PyruncError, match=r"devices\[1\].access"):
        devices.parse_rules([{"allow": True}, {"allow": True, "access": ""}])


def test_write_v1_order(tmp_path):
    writes = []
    devices.write_v1(str(tmp_path), devices.all_rules([{"allow": False, "access": "rwm"}]),
                     lambda p, f, v: writes.append((f, v)))
    assert writes[0] == ("devices.deny", "a")
    assert all(f == "devices.allow" for f, _ in writes[1:])


def _decode(prog):
    return [struct.unpack("<BBhi", prog[i:i + 8]) for i in range(0, len(prog), 8)]


def _run_bpf(prog, typ, major, minor, access):
    """A tiny interpreter for the instructions bpf_program emits."""
    insns = _decode(prog)
    ctx = [typ | (access << 16), major, minor]
    r = [0] * 11
    pc = 0
    while True:
        code, regs, off, imm = insns[pc]
        dst, src = regs & 0xF, regs >> 4
        pc += 1
        if code == 0x61:
            r[dst] = ctx[off // 4]
        elif code == 0x54:
            r[dst] = (r[dst] & imm) & 0xFFFFFFFF
        elif code == 0x74:
            r[dst] = (r[dst] & 0xFFFFFFFF) >> imm
        elif code == 0xbc:
            r[dst] = r[src] & 0xFFFFFFFF
        elif code == 0xb4:
            r[dst] = imm & 0xFFFFFFFF
        elif code == 0x55:
            if r[dst] != (imm & 0xFFFFFFFFFFFFFFFF):
                pc += off
        elif code == 0x5d:
            if r[dst] != r[src]:
                pc += off
        elif code == 0x95:
            return r[0]
        else:
            raise AssertionError("opcode %#x" % code)


def test_bpf_program_semantics():
    prog = devices.bpf_program(devices.all_rules([
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "b", "major": 8, "minor": 0, "access": "r"}]))
    C, B = devices.BPF_DEVCG_DEV_CHAR, devices.BPF_DEVCG_DEV_BLOCK
    R, W, M = devices.BPF_DEVCG_ACC_READ, devices.BPF_DEVCG_ACC_WRITE, \
        devices.BPF_DEVCG_ACC_MKNOD
    assert _run_bpf(prog, C, 1, 3, R | W) == 1          # /dev/null
    assert _run_bpf(prog, C, 136, 7, R | W) == 1        # a pts
    assert _run_bpf(prog, B, 8, 0, R) == 1              # the allowed read
    assert _run_bpf(prog, B, 8, 0, W) == 0              # but not write
    assert _run_bpf(prog, B, 8, 1, R) == 0
    assert _run_bpf(prog, B, 9, 9, M) == 1              # mknod of anything
    assert _run_bpf(prog, C, 4, 1, R) == 0


def test_bpf_program_allow_all():
    prog = devices.bpf_program(devices.all_rules([{"allow": True, "access": "rwm"}]))
    assert _run_bpf(prog, devices.BPF_DEVCG_DEV_BLOCK, 8, 0, 7) == 1


# -- resource writers on fake cgroup directories ---------------------------------------------
class FakeCgroup:
    """A directory of cgroup-like files that records the order of writes."""

    def __init__(self, path, files):
        self.path = str(path)
        os.makedirs(self.path, exist_ok=True)
        for name, val in files.items():
            with open(os.path.join(self.path, name), "w") as f:
                f.write(val)

    def read(self, name):
        with open(os.path.join(self.path, name)) as f:
            return f.read()


def test_v1_memory_zero_fields_untouched(tmp_path):
    m = FakeCgroup(tmp_path / "m", {"memory.limit_in_bytes": "9223372036854771712",
                                    "memory.memsw.limit_in_bytes": "9223372036854771712",
                                    "memory.soft_limit_in_bytes": "x"})
    c = FakeCgroup(tmp_path / "c", {"cpu.shares": "1024", "cpu.cfs_quota_us": "-1",
                                    "cpu.cfs_period_us": "100000"})
    b = FakeCgroup(tmp_path / "b", {"blkio.weight": "500"})
    v1.apply({"memory": m.path, "cpu": c.path, "blkio": b.path},
             {"memory": {"limit": 1 << 20, "reservation": 0, "swap": 2 << 20, "kernel": 0},
              "cpu": {"shares": 0, "quota": 50000, "period": 100000},
              "blockIO": {"weight": 0}}, common.Writer("update"), update=True)
    assert m.read("memory.limit_in_bytes") == str(1 << 20)
    assert m.read("memory.memsw.limit_in_bytes") == str(2 << 20)
    assert m.read("memory.soft_limit_in_bytes") == "x"
    assert c.read("cpu.shares") == "1024"
    assert c.read("cpu.cfs_quota_us") == "50000"
    assert b.read("blkio.weight") == "500"


def test_v1_missing_controller_names_field():
    with pytest.raises(PyruncError, match=r"^linux.resources.pids.limit: the pids cgroup "):
        v1.apply({}, {"pids": {"limit": 5}}, common.Writer(), update=True)
    with pytest.raises(PyruncError, match=r"^linux.resources.unified: .*cgroup v1"):
        v1.apply({}, {"unified": {"memory.max": "1"}}, common.Writer(), update=True)


def test_v1_missing_file_names_field(tmp_path):
    m = FakeCgroup(tmp_path / "m", {"memory.limit_in_bytes": "0"})
    with pytest.raises(PyruncError, match=r"^linux.resources.memory.kernel: not supported"):
        v1.apply({"memory": m.path}, {"memory": {"kernel": 1 << 20}}, common.Writer(),
                 update=True)


def test_v2_files(tmp_path):
    d = FakeCgroup(tmp_path / "c", {
        "cpu.weight": "100", "cpu.max": "max 100000", "memory.max": "max",
        "memory.swap.max": "max", "memory.low": "0", "pids.max": "max", "io.weight": "",
        "io.max": "", "cpuset.cpus": "", "cpu.max.burst": "0", "cgroup.controllers":
        "cpu memory pids io"})
    v2.apply(d.path, {"cpu": {"shares": 1024, "quota": 20000, "period": 50000,
                              "burst": 1000, "cpus": "0"},
                      "memory": {"limit": 64 << 20, "swap": 96 << 20, "reservation": 1 << 20,
                                 "kernel": 5 << 20},
                      "pids": {"limit": -1}, "blockIO": {"weight": 500},
                      "unified": {"memory.max": "12345"}},
             common.Writer(), update=True)
    assert d.read("cpu.weight") == "39"
    assert d.read("cpu.max") == "20000 50000"
    assert d.read("cpu.max.burst") == "1000"
    assert d.read("memory.swap.max") == str(32 << 20)
    assert d.read("memory.max") == "12345"  # unified is written last and wins
    assert d.read("memory.low") == str(1 << 20)
    assert d.read("pids.max") == "max"
    assert d.read("io.weight") == "4950"
    assert d.read("cpuset.cpus") == "0"


def test_v2_unavailable_fields(tmp_path):
    d = FakeCgroup(tmp_path / "c", {"cgroup.controllers": "cpu memory"})
    for res, field in (({"memory": {"swappiness": 5}}, "memory.swappiness"),
                       ({"memory": {"disableOOMKiller": True}}, "memory.disableOOMKiller"),
                       ({"cpu": {"realtimeRuntime": 5}}, "cpu.realtimeRuntime"),
                       ({"network": {"classID": 5}}, "network"),
                       ({"blockIO": {"leafWeight": 10}}, "blockIO.leafWeight"),
                       ({"unified": {"hugetlb.2MB.max": "1"}}, "unified[hugetlb.2MB.max]")):
        with pytest.raises(PyruncError, match="^linux.resources.%s: " % field.replace(
                "[", r"\[").replace("]", r"\]")):
            v2.apply(d.path, res, common.Writer(), update=True)


# -- stats -----------------------------------------------------------------------------------
def test_v1_stats_from_files(tmp_path):
    acct = FakeCgroup(tmp_path / "acct", {
        "cpuacct.usage": "300", "cpuacct.usage_percpu": "100 200 \n",
        "cpuacct.stat": "user 2\nsystem 1\n",
        "cpuacct.usage_all": "cpu user system\n0 60 40\n1 150 50\n"})
    cpu = FakeCgroup(tmp_path / "cpu", {"cpu.stat": "nr_periods 4\nnr_throttled 0\n"
                                                     "throttled_time 0\n"})
    mem = FakeCgroup(tmp_path / "mem", {
        "memory.stat": "rss 10\ncache 5\n", "memory.usage_in_bytes": "100",
        "memory.max_usage_in_bytes": "200", "memory.failcnt": "0",
        "memory.limit_in_bytes": "1000"})
    pids = FakeCgroup(tmp_path / "pids", {"pids.current": "3", "pids.max": "max"})
    s = stats.v1_stats({"cpuacct": acct.path, "cpu": cpu.path, "memory": mem.path,
                        "pids": pids.path})
    assert s["cpu"] == {"usage": {"total": 300, "percpu": [100, 200],
                                  "percpu_kernel": [40, 50], "percpu_user": [60, 150],
                                  "kernel": 10000000, "user": 20000000},
                        "throttling": {"periods": 4}}
    assert s["memory"]["cache"] == 5
    assert s["memory"]["usage"] == {"limit": 1000, "usage": 100, "max": 200, "failcnt": 0}
    assert s["memory"]["swap"] == {"limit": 0, "failcnt": 0}
    assert list(s["memory"]["raw"]) == ["cache", "rss"]   # sorted like Go's maps
    assert s["pids"] == {"current": 3}
    assert s["blkio"] == {} and s["hugetlb"] == {} and s["network_interfaces"] is None


def test_v2_stats_from_files(tmp_path):
    d = FakeCgroup(tmp_path / "c", {
        "cpu.stat": "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 0\n",
        "memory.stat": "file 7\nanon 3\n", "memory.current": "50", "memory.max": "max",
        "memory.swap.current": "5", "memory.swap.max": "100", "memory.events": "max 2\n",
        "pids.current": "2", "pids.max": "9",
        "io.stat": "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n"})
    s = stats.v2_stats(d.path)
    assert s["cpu"]["usage"] == {"total": 10000, "kernel": 4000, "user": 6000}
    assert s["memory"]["usage"] == {"limit": 2 ** 64 - 1, "usage": 50, "failcnt": 2}
    assert s["memory"]["swap"] == {"limit": 2 ** 64 - 1, "usage": 55, "failcnt": 0}
    assert s["memory"]["cache"] == 7
    assert s["pids"] == {"current": 2, "limit": 9}
    assert s["blkio"]["ioServiceBytesRecursive"] == [
        {"major": 8, "op": "Read", "value": 10}, {"major": 8, "op": "Write", "value": 20}]


# -- CLI values ------------------------------------------------------------------------------
def test_parse_duration():
    assert parse_duration("5s") == 5
    assert parse_duration("250ms") == 0.25
    assert parse_duration("1m30s") == 90
    assert parse_duration("0") == 0
    with pytest.raises(PyruncError, match="invalid duration"):
        parse_duration("5")


def test_ram_in_bytes():
    assert ram_in_bytes("512", "memory") == 512
    assert ram_in_bytes("512k", "memory") == 512 << 10
    assert ram_in_bytes("100m", "memory") == 100 << 20
    assert ram_in_bytes("1.5g", "memory") == 3 << 29
    assert ram_in_bytes("10MiB", "memory") == 10 << 20
    assert ram_in_bytes("-1", "memory") == -1
    with pytest.raises(PyruncError, match="invalid value for memory"):
        ram_in_bytes("lots", "memory")


def test_update_flags_to_resources():
    from pyrunc.cli import args as A
    from pyrunc.cli.cmd_update import FLAGS
    v, rest = A.parse(["--memory", "1g", "--cpu-share", "100", "--cpu-quota", "-1",
                       "--pids-limit", "9", "--blkio-weight", "300", "--cpuset-cpus", "0-1",
                       "c1"], FLAGS, "update")
    assert rest == ["c1"]
    assert resources_from_flags(v) == {
        "memory": {"limit": 1 << 30}, "cpu": {"cpus": "0-1", "shares": 100, "quota": -1},
        "blockIO": {"weight": 300}, "pids": {"limit": 9}}


def test_relative_path_placement_matches_runc(monkeypatch):
    """A relative (or empty) cgroupsPath: under our own cgroup in each v1 hierarchy; on a
    hybrid host, directly under the unified mountpoint (runc 1.1's fs manager); on pure v2,
    under our cgroup's parent (runc's fs2)."""
    from pyrunc import cgroups
    own = {"memory": "/docker/outer", "pids": "/docker/outer", "": "/docker/outer"}
    monkeypatch.setattr(cgroups, "own_cgroups", lambda pid="self": dict(own))
    monkeypatch.setattr(cgroups, "mounted_hierarchies", lambda: {
        "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids",
        "": "/sys/fs/cgroup/unified"})
    m = cgroups.Manager.for_container("", "c1")
    assert m.paths == {"memory": "/sys/fs/cgroup/memory/docker/outer/c1",
                       "pids": "/sys/fs/cgroup/pids/docker/outer/c1",
                       "": "/sys/fs/cgroup/unified/c1"}
    monkeypatch.setattr(cgroups, "mounted_hierarchies", lambda: {"": "/sys/fs/cgroup"})
    m = cgroups.Manager.for_container("", "c1")
    assert m.paths == {"": "/sys/fs/cgroup/docker/c1"}
    m = cgroups.Manager.for_container("/abs/c1", "c1")
    assert m.paths == {"": "/sys/fs/cgroup/abs/c1"}
