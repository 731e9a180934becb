"""linux.resources on cgroup v1 (and the ``unified`` map on a hybrid host), as runc's fs driver.

``dirs`` maps a controller name (memory, cpu, cpuacct, cpuset, blkio, pids, devices, hugetlb,
net_cls, net_prio, rdma) to the container's directory in that controller's hierarchy; a missing
controller is an error naming the field that needed it. A 0 (or absent) value means "leave
unchanged", as in runc and docker's update payloads: cpu.shares=0 or blkio.weight=0 is never
written.
"""

from pyrunc.cgroups import common, devices
from pyrunc.cgroups.common import set_

UINT64_MAX = 2 ** 64 - 1


def apply(dirs, res, w, update=False, unified_dir=None, unified_mounted=False):
    res = res or {}
    _unified(unified_dir, unified_mounted, res.get("unified"), w)
    _cpuset(dirs.get("cpuset"), res.get("cpu") or {}, w)
    if not update:  # runc's update leaves the device rules alone
        _devices(dirs.get("devices"), res.get("devices"), w)
    _memory(dirs.get("memory"), res.get("memory") or {}, w, update)
    _cpu(dirs.get("cpu"), res.get("cpu") or {}, w)
    _pids(dirs.get("pids"), res.get("pids") or {}, w)
    _blkio(dirs.get("blkio"), res.get("blockIO") or {}, w)
    _hugetlb(dirs.get("hugetlb"), res.get("hugepageLimits") or (), w)
    _network(dirs.get("net_cls"), dirs.get("net_prio"), res.get("network") or {}, w)
    _rdma(dirs.get("rdma"), res.get("rdma") or {}, w)


def _unified(udir, mounted, unified, w):
    if not unified:
        return
    if not mounted:
        w.fail("unified", "invalid configuration: cannot use unified on cgroup v1")
    for key, val in unified.items():
        field = "unified[%s]" % key
        if "/" in key or key in (".", ".."):
            w.fail(field, "must be a file name (no slashes)")
        if not common.exists(udir, key):
            ctrl = key.split(".", 1)[0]
            w.fail(field, "not available in the unified hierarchy of this hybrid host "
                   "(controller %r is bound to cgroup v1 or not enabled)" % ctrl)
        w.write(field, udir, key, val)


def _cpuset(d, cpu, w):
    for key, fname in (("cpus", "cpuset.cpus"), ("mems", "cpuset.mems")):
        if cpu.get(key):
            w.write("cpu." + key, w.require("cpu." + key, d, "cpuset"), fname, cpu[key])


def _devices(d, rules, w):
    rs = devices.all_rules(rules, w.name("devices"))
    if d is None:
        if rules:
            w.require("devices", d, "devices")
        return
    devices.write_v1(d, rs, lambda path, fname, val: w.write("devices", path, fname, val))


def _memory(d, mem, w, update):
    if not mem:
        return
    limit = mem.get("limit") or 0
    swap = mem.get("swap") or 0
    need = any(set_(mem.get(k)) for k in ("limit", "swap", "reservation", "kernel",
                                           "kernelTCP")) or mem.get("disableOOMKiller") \
        or mem.get("useHierarchy") is not None or mem.get("swappiness") not in (None, -1,
                                                                                UINT64_MAX)
    if not need:
        return
    field = next(k for k in ("limit", "swap", "reservation", "kernel", "kernelTCP",
                             "disableOOMKiller", "useHierarchy", "swappiness")
                 if mem.get(k) is not None)
    d = w.require("memory." + field, d, "memory")
    if update and mem.get("checkBeforeUpdate") and set_(limit) and limit > 0:
        usage = common.read_int(d, "memory.usage_in_bytes")
        if limit < usage:
            w.fail("memory.limit", "rejecting memory limit %d: lower than the current usage %d"
                   " (checkBeforeUpdate)" % (limit, usage))
    # runc: memory=-1 and swap unset means both unlimited (if swap accounting exists)
    if limit == -1 and swap == 0 and common.exists(d, "memory.memsw.limit_in_bytes"):
        swap = -1
    if limit != 0 and swap != 0:
        cur = common.read_int(d, "memory.limit_in_bytes")
        if swap == -1 or cur < swap:
            # raising: memsw first (memsw must stay >= limit at every step)
            _set_swap(d, swap, w)
            _set_limit(d, limit, w)
        else:
            _set_limit(d, limit, w)
            _set_swap(d, swap, w)
    else:
        _set_limit(d, limit, w)
        _set_swap(d, swap, w)
    if set_(mem.get("reservation")):
        w.write("memory.reservation", d, "memory.soft_limit_in_bytes", mem["reservation"])
    if set_(mem.get("kernel")):
        w.write("memory.kernel", d, "memory.kmem.limit_in_bytes", mem["kernel"])
    if set_(mem.get("kernelTCP")):
        w.write("memory.kernelTCP", d, "memory.kmem.tcp.limit_in_bytes", mem["kernelTCP"])
    if mem.get("disableOOMKiller"):
        w.write("memory.disableOOMKiller", d, "memory.oom_control", "1")
    sw = mem.get("swappiness")
    if sw is not None and sw not in (-1, UINT64_MAX):
        if not 0 <= sw <= 100:
            w.fail("memory.swappiness", "invalid memory swappiness value: %d (valid range is "
                   "0-100)" % sw)
        w.write("memory.swappiness", d, "memory.swappiness", sw)
    uh = mem.get("useHierarchy")
    if uh is not None:
        cur = common.read(d, "memory.use_hierarchy", "")
        if cur != ("1" if uh else "0"):
            w.write("memory.useHierarchy", d, "memory.use_hierarchy", "1" if uh else "0")


def _set_limit(d, limit, w):
    if limit == 0:
        return
    try:
        w.write("memory.limit", d, "memory.limit_in_bytes", limit)
    except common.ResourceError as e:
        if "busy" not in str(e):
            raise
        w.fail("memory.limit", "unable to set memory limit to %d (current usage: %d, peak "
               "usage: %d)" % (limit, common.read_int(d, "memory.usage_in_bytes"),
                               common.read_int(d, "memory.max_usage_in_bytes")))


def _set_swap(d, swap, w):
    if swap == 0:
        return
    w.write("memory.swap", d, "memory.memsw.limit_in_bytes", swap)


def _cpu(d, cpu, w):
    fields = ("shares", "quota", "period", "burst", "realtimeRuntime", "realtimePeriod", "idle")
    present = [k for k in fields if set_(cpu.get(k)) or (k == "idle" and cpu.get(k) is not None)]
    if not present:
        return
    d = w.require("cpu." + present[0], d, "cpu")
    shares = cpu.get("shares")
    if set_(shares):
        w.write("cpu.shares", d, "cpu.shares", shares)
        got = common.read_int(d, "cpu.shares")
        if shares > got:
            w.fail("cpu.shares", "the maximum allowed cpu-shares is %d" % got)
        if shares < got:
            w.fail("cpu.shares", "the minimum allowed cpu-shares is %d" % got)
    period = cpu.get("period")
    quota = cpu.get("quota")
    retry_period = False
    if set_(period):
        try:
            w.write("cpu.period", d, "cpu.cfs_period_us", period)
        except common.ResourceError as e:
            # a smaller period can be refused until the quota is lowered too (runc)
            if "Invalid argument" not in str(e) or not set_(quota):
                raise
            retry_period = True
    if set_(quota):
        w.write("cpu.quota", d, "cpu.cfs_quota_us", quota)
        if retry_period:
            w.write("cpu.period", d, "cpu.cfs_period_us", period)
    if set_(cpu.get("burst")):
        w.write("cpu.burst", d, "cpu.cfs_burst_us", cpu["burst"])
    if set_(cpu.get("realtimePeriod")):
        w.write("cpu.realtimePeriod", d, "cpu.rt_period_us", cpu["realtimePeriod"])
    if set_(cpu.get("realtimeRuntime")):
        w.write("cpu.realtimeRuntime", d, "cpu.rt_runtime_us", cpu["realtimeRuntime"])
    if cpu.get("idle") is not None:
        w.write("cpu.idle", d, "cpu.idle", cpu["idle"])


def _pids(d, pids, w):
    limit = pids.get("limit")
    if not set_(limit):
        return
    d = w.require("pids.limit", d, "pids")
    w.write("pids.limit", d, "pids.max", "max" if limit < 0 else limit)


def _blkio(d, bio, w):
    if not bio:
        return
    keys = ("weight", "leafWeight", "weightDevice", "throttleReadBpsDevice",
            "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice")
    present = [k for k in keys if bio.get(k)]
    if not present:
        return
    d = w.require("blockIO." + present[0], d, "blkio")
    if common.exists(d, "blkio.weight") or not common.exists(d, "blkio.bfq.weight"):
        wfile, wdfile = "blkio.weight", "blkio.weight_device"
    else:
        wfile, wdfile = "blkio.bfq.weight", "blkio.bfq.weight_device"
    if set_(bio.get("weight")):
        w.write("blockIO.weight", d, wfile, bio["weight"])
    if set_(bio.get("leafWeight")):
        w.write("blockIO.leafWeight", d, "blkio.leaf_weight", bio["leafWeight"])
    for i, wd in enumerate(bio.get("weightDevice") or ()):
        f = "blockIO.weightDevice[%d]" % i
        if set_(wd.get("weight")):
            w.write(f, d, wdfile, "%d:%d %d" % (wd["major"], wd["minor"], wd["weight"]))
        if set_(wd.get("leafWeight")):
            w.write(f, d, "blkio.leaf_weight_device",
                    "%d:%d %d" % (wd["major"], wd["minor"], wd["leafWeight"]))
    for key, fname in (("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
                       ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
                       ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
                       ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device")):
        for i, td in enumerate(bio.get(key) or ()):
            w.write("blockIO.%s[%d]" % (key, i), d, fname,
                    "%d:%d %d" % (td["major"], td["minor"], td["rate"]))


def _hugetlb(d, limits, w):
    for i, hl in enumerate(limits):
        f = "hugepageLimits[%d]" % i
        d = w.require(f, d, "hugetlb")
        w.write(f, d, "hugetlb.%s.limit_in_bytes" % hl["pageSize"], hl["limit"])


def _network(cls_dir, prio_dir, net, w):
    if net.get("classID") is not None and net["classID"] != 0:
        w.write("network.classID", w.require("network.classID", cls_dir, "net_cls"),
                "net_cls.classid", net["classID"])
    for i, p in enumerate(net.get("priorities") or ()):
        f = "network.priorities[%d]" % i
        w.write(f, w.require(f, prio_dir, "net_prio"), "net_prio.ifpriomap",
                "%s %d" % (p["name"], p["priority"]))


def rdma_line(dev, lim):
    def v(x):
        return "max" if x is None else str(x)
    return "%s hca_handle=%s hca_object=%s" % (dev, v(lim.get("hcaHandles")),
                                               v(lim.get("hcaObjects")))


def _rdma(d, rdma, w):
    for dev, lim in rdma.items():
        f = "rdma[%s]" % dev
        w.write(f, w.require(f, d, "rdma"), "rdma.max", rdma_line(dev, lim))
