"""linux.resources on a pure cgroup v2 host, as runc's fs2 driver (with its v1->v2 conversions).

* cpu.shares -> cpu.weight = 1 + (shares - 2) * 9999 / 262142
* memory.swap (v1 memory+swap total) -> memory.swap.max = swap - limit
* blockIO.weight -> io.bfq.weight if BFQ is there, else io.weight = 1 + (w - 10) * 9999 / 990
* devices -> an eBPF device program attached to the cgroup
* unified entries are written last, so they override the converted values.

Fields the spec lets a runtime ignore (memory.kernel, memory.kernelTCP: deprecated, no v2
equivalent) are ignored; any other field v2 can't express is an error naming it.
"""

from pyrunc.cgroups import common, devices
from pyrunc.cgroups.common import set_


def cpu_shares_to_weight(shares):
    if not shares:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_weight_to_io_weight(weight):
    if not weight:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def memory_swap_to_v2(swap, limit, w):
    """runc's ConvertMemorySwapToCgroupV2Value: -1 max, 0 unset, else swap - limit."""
    if limit == -1 and swap == 0:
        return -1
    if swap in (-1, 0):
        return swap
    if limit in (0, -1):
        w.fail("memory.swap", "unable to set swap limit without memory limit")
    if limit < 0:
        w.fail("memory.limit", "invalid memory value: %d" % limit)
    if swap < limit:
        w.fail("memory.swap", "memory+swap limit should be >= memory limit")
    return swap - limit


def _num(v):
    return "max" if v == -1 else str(v)


def apply(d, res, w, update=False):
    res = res or {}
    _pids(d, res.get("pids") or {}, w)
    _memory(d, res.get("memory") or {}, w, update)
    _io(d, res.get("blockIO") or {}, w)
    _cpu(d, res.get("cpu") or {}, w)
    if not update:
        rules = devices.all_rules(res.get("devices"), w.name("devices"))
        try:
            from pyrunc.cgroups import bpf
            bpf.attach_device_filter(d, devices.bpf_program(rules))
        except OSError as e:
            w.fail("devices", "loading the eBPF device filter: %s" % e.strerror)
    _cpuset(d, res.get("cpu") or {}, w)
    for i, hl in enumerate(res.get("hugepageLimits") or ()):
        f = "hugepageLimits[%d]" % i
        w.write(f, d, "hugetlb.%s.max" % hl["pageSize"], hl["limit"])
    from pyrunc.cgroups.v1 import rdma_line
    for dev, lim in (res.get("rdma") or {}).items():
        w.write("rdma[%s]" % dev, d, "rdma.max", rdma_line(dev, lim))
    net = res.get("network") or {}
    if set_(net.get("classID")) or net.get("priorities"):
        w.fail("network", "net_cls/net_prio do not exist on cgroup v2")
    _unified(d, res.get("unified") or {}, w)


def _pids(d, pids, w):
    if set_(pids.get("limit")):
        w.write("pids.limit", d, "pids.max", _num(pids["limit"]) if pids["limit"] > 0 else "max")


def _memory(d, mem, w, update):
    limit = mem.get("limit") or 0
    swap = mem.get("swap") or 0
    if update and mem.get("checkBeforeUpdate") and limit > 0:
        usage = common.read_int(d, "memory.current")
        if limit < usage:
            w.fail("memory.limit", "rejecting memory limit %d: lower than the current usage %d"
                   " (checkBeforeUpdate)" % (limit, usage))
    if limit or swap or set_(mem.get("reservation")):
        sw = memory_swap_to_v2(swap, limit, w)
        s = _num(sw) if sw else ""
        if sw == 0 and swap > 0:
            s = "0"   # memory == memory+swap: no swap
        if s:
            w.write("memory.swap", d, "memory.swap.max", s)
        if limit:
            w.write("memory.limit", d, "memory.max", _num(limit))
        if set_(mem.get("reservation")):
            w.write("memory.reservation", d, "memory.low", _num(mem["reservation"]))
    # kernel, kernelTCP: deprecated, no v2 file; the spec lets runtimes ignore them
    sw = mem.get("swappiness")
    if sw is not None and sw not in (-1, 2 ** 64 - 1):
        w.fail("memory.swappiness", "not supported on cgroup v2")
    if mem.get("disableOOMKiller"):
        w.fail("memory.disableOOMKiller", "not supported on cgroup v2")
    if mem.get("useHierarchy") is False:
        w.fail("memory.useHierarchy", "cgroup v2 is always hierarchical")


def _cpu(d, cpu, w):
    if set_(cpu.get("shares")):
        w.write("cpu.shares", d, "cpu.weight", cpu_shares_to_weight(cpu["shares"]))
    quota, period = cpu.get("quota") or 0, cpu.get("period") or 0
    if quota or period:
        val = "max" if quota <= 0 else str(quota)
        if not quota and common.exists(d, "cpu.max"):
            val = common.read(d, "cpu.max").split()[0]   # a period alone keeps the quota
        w.write("cpu.quota" if quota else "cpu.period", d, "cpu.max",
                "%s %d" % (val, period or 100000))
    if set_(cpu.get("burst")):
        w.write("cpu.burst", d, "cpu.max.burst", cpu["burst"])
    if cpu.get("idle") is not None:
        w.write("cpu.idle", d, "cpu.idle", cpu["idle"])
    if set_(cpu.get("realtimeRuntime")) or set_(cpu.get("realtimePeriod")):
        f = "cpu.realtimeRuntime" if set_(cpu.get("realtimeRuntime")) else "cpu.realtimePeriod"
        w.fail(f, "realtime scheduling groups are not supported on cgroup v2")


def _cpuset(d, cpu, w):
    for key, fname in (("cpus", "cpuset.cpus"), ("mems", "cpuset.mems")):
        if cpu.get(key):
            w.write("cpu." + key, d, fname, cpu[key])


def _io(d, bio, w):
    weight = bio.get("weight")
    bfq = common.exists(d, "io.bfq.weight")
    if set_(weight):
        if bfq:
            w.write("blockIO.weight", d, "io.bfq.weight", weight)
        else:
            w.write("blockIO.weight", d, "io.weight", blkio_weight_to_io_weight(weight))
    if set_(bio.get("leafWeight")):
        w.fail("blockIO.leafWeight", "not supported on cgroup v2")
    for i, wd in enumerate(bio.get("weightDevice") or ()):
        f = "blockIO.weightDevice[%d]" % i
        if set_(wd.get("weight")):
            line = "%d:%d %d" % (wd["major"], wd["minor"], wd["weight"])
            if bfq:
                w.write(f, d, "io.bfq.weight", line)
            else:
                w.write(f, d, "io.weight", "%d:%d %d" % (
                    wd["major"], wd["minor"], blkio_weight_to_io_weight(wd["weight"])))
        if set_(wd.get("leafWeight")):
            w.fail(f + ".leafWeight", "not supported on cgroup v2")
    for key, name in (("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
                      ("throttleReadIOPSDevice", "riops"), ("throttleWriteIOPSDevice", "wiops")):
        for i, td in enumerate(bio.get(key) or ()):
            w.write("blockIO.%s[%d]" % (key, i), d, "io.max",
                    "%d:%d %s=%d" % (td["major"], td["minor"], name, td["rate"]))


def _unified(d, unified, w):
    for key, val in unified.items():
        f = "unified[%s]" % key
        if "/" in key or key in (".", ".."):
            w.fail(f, "must be a file name (no slashes)")
        if not common.exists(d, key):
            ctrl = key.split(".", 1)[0]
            avail = common.read(d, "cgroup.controllers", "").split()
            if ctrl != "cgroup" and ctrl not in avail:
                w.fail(f, "can't be set: controller %r not available" % ctrl)
        w.write(f, d, key, val)
