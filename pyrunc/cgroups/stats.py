"""A container's cgroup statistics in runc's ``events --stats`` JSON shape (types.Stats).

Field names, order and omitempty rules follow runc 1.1's types/events.go; values come from the
v1 controllers (cpuacct, cpu, cpuset, memory, pids, blkio, hugetlb) or from the v2 files.
"""

import os

UINT64_MAX = 2 ** 64 - 1
NS = 1000000000
CLK_TCK = 100


def _read(d, name):
    try:
        with open(os.path.join(d, name)) as f:
            return f.read()
    except (OSError, TypeError):
        return None


def _uint(d, name, default=0):
    v = _read(d, name)
    if v is None:
        return default
    v = v.strip()
    if v == "max":
        return UINT64_MAX
    try:
        return int(v)
    except ValueError:
        return default


def _kv(d, name):
    out = {}
    for line in (_read(d, name) or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return out


def _list(s):
    """"0-2,4" -> [0, 1, 2, 4]"""
    out = []
    for part in (s or "").strip().split(","):
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


def _omit(d, *keys):
    for k in keys:
        if not d.get(k):
            d.pop(k, None)
    return d


def _cpu_usage(total=0, percpu=(), pk=(), pu=(), kernel=0, user=0):
    return _omit({"total": total, "percpu": list(percpu), "percpu_kernel": list(pk),
                  "percpu_user": list(pu), "kernel": kernel, "user": user},
                 "total", "percpu", "percpu_kernel", "percpu_user")


def _throttling(st):
    return _omit({"periods": st.get("nr_periods", 0),
                  "throttledPeriods": st.get("nr_throttled", 0),
                  "throttledTime": st.get("throttled_time", st.get("throttled_usec", 0) * 1000)},
                 "periods", "throttledPeriods", "throttledTime")


def _mem_entry(limit=0, usage=0, mx=0, failcnt=0):
    return _omit({"limit": limit, "usage": usage, "max": mx, "failcnt": failcnt},
                 "usage", "max")


def _blkio_entries(d, name):
    """runc's getBlkioStat: None when the file is missing or has no device lines."""
    text = _read(d, name)
    if text is None:
        return None
    out = []
    for line in text.splitlines():
        f = line.replace(":", " ").split()
        if len(f) < 3:
            continue
        e = {"major": int(f[0]), "minor": int(f[1])}
        if len(f) == 4:
            e["op"] = f[2]
            e["value"] = int(f[3])
        else:
            e["value"] = int(f[2])
        out.append(_omit(e, "major", "minor", "op", "value"))
    return out or None


_BLKIO_GROUPS = (
    (("blkio.bfq.sectors_recursive", "sectorsRecursive"),
     ("blkio.bfq.io_service_time_recursive", "ioServiceTimeRecursive"),
     ("blkio.bfq.io_wait_time_recursive", "ioWaitTimeRecursive"),
     ("blkio.bfq.io_merged_recursive", "ioMergedRecursive"),
     ("blkio.bfq.io_queued_recursive", "ioQueueRecursive"),
     ("blkio.bfq.time_recursive", "ioTimeRecursive"),
     ("blkio.bfq.io_serviced_recursive", "ioServicedRecursive"),
     ("blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive")),
    (("blkio.bfq.io_serviced_recursive", "ioServicedRecursive"),
     ("blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive")),
    (("blkio.sectors_recursive", "sectorsRecursive"),
     ("blkio.io_service_time_recursive", "ioServiceTimeRecursive"),
     ("blkio.io_wait_time_recursive", "ioWaitTimeRecursive"),
     ("blkio.io_merged_recursive", "ioMergedRecursive"),
     ("blkio.io_queued_recursive", "ioQueueRecursive"),
     ("blkio.time_recursive", "ioTimeRecursive"),
     ("blkio.io_serviced_recursive", "ioServicedRecursive"),
     ("blkio.io_service_bytes_recursive", "ioServiceBytesRecursive")),
    (("blkio.throttle.io_serviced_recursive", "ioServicedRecursive"),
     ("blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive")),
    (("blkio.throttle.io_serviced", "ioServicedRecursive"),
     ("blkio.throttle.io_service_bytes", "ioServiceBytesRecursive")),
)
_BLKIO_ORDER = ("ioServiceBytesRecursive", "ioServicedRecursive", "ioQueueRecursive",
                "ioServiceTimeRecursive", "ioWaitTimeRecursive", "ioMergedRecursive",
                "ioTimeRecursive", "sectorsRecursive")


def _blkio_v1(d):
    got = {}
    if d:
        for group in _BLKIO_GROUPS:
            done = False
            for i, (fname, key) in enumerate(group):
                entries = _blkio_entries(d, fname)
                if entries is None:
                    if i == 0:
                        break
                    done = True
                    break
                got[key] = entries
                if i == len(group) - 1:
                    done = True
            if done:
                break
    return {k: got[k] for k in _BLKIO_ORDER if got.get(k)}


def v1_stats(dirs):
    """dirs: {controller: directory} of the container's v1 cgroups."""
    acct = dirs.get("cpuacct")
    cpu = dirs.get("cpu")
    usage = {}
    if acct:
        st = _kv(acct, "cpuacct.stat")
        percpu = [int(x) for x in (_read(acct, "cpuacct.usage_percpu") or "").split()]
        pk, pu = [], []
        for line in (_read(acct, "cpuacct.usage_all") or "").splitlines()[1:]:
            f = line.split()
            if len(f) == 3:
                pu.append(int(f[1]))
                pk.append(int(f[2]))
        usage = _cpu_usage(_uint(acct, "cpuacct.usage"), percpu, pk, pu,
                           st.get("system", 0) * NS // CLK_TCK,
                           st.get("user", 0) * NS // CLK_TCK)
    else:
        usage = _cpu_usage()
    out = {"cpu": {"usage": usage, "throttling": _throttling(_kv(cpu, "cpu.stat") if cpu
                                                              else {})}}
    cs = dirs.get("cpuset")
    cpuset = {}
    if cs:
        cpuset = _omit({
            "cpus": _list(_read(cs, "cpuset.cpus")),
            "cpu_exclusive": _uint(cs, "cpuset.cpu_exclusive"),
            "mems": _list(_read(cs, "cpuset.mems")),
            "mem_hardwall": _uint(cs, "cpuset.mem_hardwall"),
            "mem_exclusive": _uint(cs, "cpuset.mem_exclusive"),
            "memory_migrate": _uint(cs, "cpuset.memory_migrate"),
            "memory_spread_page": _uint(cs, "cpuset.memory_spread_page"),
            "memory_spread_slab": _uint(cs, "cpuset.memory_spread_slab"),
            "memory_pressure": _uint(cs, "cpuset.memory_pressure"),
            "sched_load_balance": _uint(cs, "cpuset.sched_load_balance"),
            "sched_relax_domain_level": _uint(cs, "cpuset.sched_relax_domain_level"),
        }, "cpus", "mems")
    else:
        cpuset = {"cpu_exclusive": 0, "mem_hardwall": 0, "mem_exclusive": 0, "memory_migrate": 0,
                  "memory_spread_page": 0, "memory_spread_slab": 0, "memory_pressure": 0,
                  "sched_load_balance": 0, "sched_relax_domain_level": 0}
    out["cpuset"] = cpuset
    m = dirs.get("memory")
    mem = {}
    if m:
        raw = dict(sorted(_kv(m, "memory.stat").items()))  # Go sorts map keys

        def entry(prefix):
            if _read(m, prefix + ".usage_in_bytes") is None:
                return _mem_entry()
            return _mem_entry(_uint(m, prefix + ".limit_in_bytes"),
                              _uint(m, prefix + ".usage_in_bytes"),
                              _uint(m, prefix + ".max_usage_in_bytes"),
                              _uint(m, prefix + ".failcnt"))
        mem = {"cache": raw.get("cache", 0), "usage": entry("memory"),
               "swap": entry("memory.memsw"), "kernel": entry("memory.kmem"),
               "kernelTCP": entry("memory.kmem.tcp"), "raw": raw}
        _omit(mem, "cache", "raw")
    else:
        mem = {"usage": _mem_entry(), "swap": _mem_entry(), "kernel": _mem_entry(),
               "kernelTCP": _mem_entry()}
    out["memory"] = mem
    p = dirs.get("pids")
    pids = {}
    if p:
        lim = _uint(p, "pids.max")
        pids = _omit({"current": _uint(p, "pids.current"),
                      "limit": 0 if lim == UINT64_MAX else lim}, "current", "limit")
    out["pids"] = pids
    out["blkio"] = _blkio_v1(dirs.get("blkio"))
    out["hugetlb"] = _hugetlb(dirs.get("hugetlb"), v2=False)
    out["intel_rdt"] = {}
    out["network_interfaces"] = None
    return out


def hugepage_sizes():
    """runc's HugePageSizes: /sys/kernel/mm/hugepages/hugepages-2048kB -> "2MB"."""
    out = []
    try:
        names = os.listdir("/sys/kernel/mm/hugepages")
    except OSError:
        return out
    units = ("KB", "MB", "GB", "TB", "PB")
    for name in names:
        if not (name.startswith("hugepages-") and name.endswith("kB")):
            continue
        size, i = float(name[len("hugepages-"):-2]), 0
        while size >= 1024 and i < len(units) - 1:
            size /= 1024
            i += 1
        out.append("%g%s" % (size, units[i]))
    return out


def _hugetlb(d, v2):
    out = {}
    if not d:
        return out
    for size in sorted(hugepage_sizes()):
        if v2:
            if _read(d, "hugetlb.%s.current" % size) is None:
                continue
            ev = _kv(d, "hugetlb.%s.events" % size)
            e = {"usage": _uint(d, "hugetlb.%s.current" % size), "failcnt": ev.get("max", 0)}
        else:
            if _read(d, "hugetlb.%s.usage_in_bytes" % size) is None:
                continue
            e = {"usage": _uint(d, "hugetlb.%s.usage_in_bytes" % size),
                 "max": _uint(d, "hugetlb.%s.max_usage_in_bytes" % size),
                 "failcnt": _uint(d, "hugetlb.%s.failcnt" % size)}
        out[size] = _omit(e, "usage", "max")
    return out


def v2_stats(d):
    st = _kv(d, "cpu.stat")
    out = {"cpu": {"usage": _cpu_usage(st.get("usage_usec", 0) * 1000, (), (), (),
                                       st.get("system_usec", 0) * 1000,
                                       st.get("user_usec", 0) * 1000),
                   "throttling": _throttling({"nr_periods": st.get("nr_periods", 0),
                                              "nr_throttled": st.get("nr_throttled", 0),
                                              "throttled_time": st.get("throttled_usec", 0)
                                              * 1000})}}
    # runc 1.1's fs2 reports no cpuset stats: the zero struct
    cpuset = {"cpu_exclusive": 0, "mem_hardwall": 0,
              "mem_exclusive": 0, "memory_migrate": 0, "memory_spread_page": 0,
              "memory_spread_slab": 0, "memory_pressure": 0, "sched_load_balance": 0,
              "sched_relax_domain_level": 0}
    out["cpuset"] = cpuset
    raw = dict(sorted(_kv(d, "memory.stat").items()))
    usage = _mem_entry(_uint(d, "memory.max"), _uint(d, "memory.current"),
                       _uint(d, "memory.peak"), _kv(d, "memory.events").get("max", 0))
    swap = _mem_entry()
    if _read(d, "memory.swap.current") is not None:
        lim = _uint(d, "memory.swap.max")
        if lim != UINT64_MAX:  # v1 reports memory+swap
            mlim = usage.get("limit", 0)
            lim = UINT64_MAX if mlim == UINT64_MAX else lim + mlim
        swap = _mem_entry(lim, _uint(d, "memory.swap.current") + usage.get("usage", 0))
    mem = {"cache": raw.get("file", 0), "usage": usage, "swap": swap, "kernel": _mem_entry(),
           "kernelTCP": _mem_entry(), "raw": raw}
    out["memory"] = _omit(mem, "cache", "raw")
    if _read(d, "pids.current") is not None:
        lim = _uint(d, "pids.max")
        pids = {"current": _uint(d, "pids.current"), "limit": 0 if lim == UINT64_MAX else lim}
    else:
        pids = {"current": len((_read(d, "cgroup.procs") or "").split()), "limit": 0}
    out["pids"] = _omit(pids, "current", "limit")
    blk = {}
    sb, sd = [], []
    for line in (_read(d, "io.stat") or "").splitlines():
        f = line.split()
        if not f:
            continue
        ma, mi = (int(x) for x in f[0].split(":"))
        kv = dict(x.split("=", 1) for x in f[1:] if "=" in x)
        for key, op, lst in (("rbytes", "Read", sb), ("wbytes", "Write", sb),
                             ("rios", "Read", sd), ("wios", "Write", sd)):
            if key in kv:
                lst.append(_omit({"major": ma, "minor": mi, "op": op, "value": int(kv[key])},
                                 "major", "minor", "op", "value"))
    if sb:
        blk["ioServiceBytesRecursive"] = sb
    if sd:
        blk["ioServicedRecursive"] = sd
    out["blkio"] = blk
    out["hugetlb"] = _hugetlb(d, v2=True)
    out["intel_rdt"] = {}
    out["network_interfaces"] = None
    return out
