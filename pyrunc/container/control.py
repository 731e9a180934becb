"""Operations on a living container's cgroup: pause, resume, update, events, ps.

Like ``lifecycle``, these take (root, cid, ...) and plain values, return plain values and
raise ``pyrunc.errors`` exceptions; the CLI modules only parse flags and print.
"""

import os
import time

from pyrunc import errors
from pyrunc.container.state import ContainerState


def _manager(st):
    from pyrunc.cgroups import Manager
    paths = st.data.get("cgroup_paths")
    if not paths:
        raise errors.PyruncError("container %s has no cgroup" % st.id)
    return Manager(paths)


def pause(root, cid):
    """Freeze every process of the container (runc: running or created -> paused)."""
    st = ContainerState.load(root, cid)
    with st:
        status = st.status()
        if status not in ("running", "created"):
            raise errors.ContainerNotRunning(cid)
        _manager(st).freeze(True)


def resume(root, cid):
    st = ContainerState.load(root, cid)
    with st:
        if st.status() != "paused" and not (st.init_alive() and st.is_paused()):
            raise errors.ContainerNotPaused(cid)
        _manager(st).freeze(False)


# -- update ---------------------------------------------------------------------------------
def merge_resources(old, new):
    """The stored linux.resources with an update's non-zero values laid over it."""
    import copy
    out = copy.deepcopy(old or {})
    for key, val in (new or {}).items():
        if isinstance(val, dict) and isinstance(out.get(key), dict):
            for k, v in val.items():
                if v not in (0, "", None):
                    out[key][k] = v
        elif val not in (0, "", None, {}):
            out[key] = val
    return out


def update(root, cid, resources):
    """Apply a LinuxResources update (docker's form: 0 or absent means "leave unchanged").

    Device rules are left alone, as runc's update does."""
    st = ContainerState.load(root, cid)
    with st:
        if st.status() == "stopped":
            raise errors.ContainerNotRunning(cid)
        res = dict(resources or {})
        res.pop("devices", None)
        cpu = res.get("cpu")
        if cpu:
            # runc: quota or period alone keeps the other at its recorded value
            cfg_cpu = ((((st.data.get("config") or {}).get("linux") or {}).get("resources")
                        or {}).get("cpu") or {})
            q, p = cpu.get("quota") or 0, cpu.get("period") or 0
            if bool(q) != bool(p):
                cpu = dict(cpu)
                if not q and cfg_cpu.get("quota"):
                    cpu["quota"] = cfg_cpu["quota"]
                if not p and cfg_cpu.get("period"):
                    cpu["period"] = cfg_cpu["period"]
                res["cpu"] = cpu
        _manager(st).apply_resources(res, prefix="update", update=True)
        cfg = st.data.get("config")
        if isinstance(cfg, dict):
            linux = cfg.setdefault("linux", {})
            linux["resources"] = merge_resources(linux.get("resources"), res)
            st.save()


# -- ps ---------------------------------------------------------------------------------------
def processes(root, cid):
    """Host pids of every process in the container's cgroup."""
    st = ContainerState.load(root, cid)
    paths = st.data.get("cgroup_paths")
    if not paths:
        return []
    from pyrunc.cgroups import Manager
    return Manager(paths).pids()


# -- events -----------------------------------------------------------------------------------
def stats(root, cid):
    st = ContainerState.load(root, cid)
    if st.status() == "stopped":
        raise errors.PyruncError("container with id %s is not running" % cid)
    return _manager(st).stats()


class OOMWatcher:
    """Counts OOM kills in the container's memory cgroup.

    v1: an eventfd registered through cgroup.event_control on memory.oom_control (the kernel
    signals it on every OOM, and once more when the cgroup is removed); v2: the oom_kill
    counter of memory.events, polled."""

    def __init__(self, manager):
        self.efd = -1
        self.v2_events = None
        self.v2_last = 0
        d = manager.memory_dir()
        if d is None:
            return
        if manager.unified_only:
            self.v2_events = os.path.join(d, "memory.events")
            self.v2_last = self._v2_count()
            return
        efd = os.eventfd(0, os.EFD_CLOEXEC)
        ofd = os.open(os.path.join(d, "memory.oom_control"), os.O_RDONLY | os.O_CLOEXEC)
        try:
            with open(os.path.join(d, "cgroup.event_control"), "w") as f:
                f.write("%d %d" % (efd, ofd))
        except OSError:
            os.close(efd)
            raise
        finally:
            os.close(ofd)
        self.efd = efd

    def _v2_count(self):
        try:
            with open(self.v2_events) as f:
                for line in f:
                    k, _, v = line.partition(" ")
                    if k == "oom_kill":
                        return int(v)
        except OSError:
            return None
        return 0

    def wait(self, timeout):
        """OOM events seen within timeout (None: the cgroup is gone)."""
        if self.efd >= 0:
            import select
            r, _, _ = select.select([self.efd], [], [], timeout)
            if not r:
                return 0
            n = int.from_bytes(os.read(self.efd, 8), "little")
            return n
        if self.v2_events is not None:
            time.sleep(timeout)
            c = self._v2_count()
            if c is None:
                return None
            n, self.v2_last = c - self.v2_last, c
            return max(n, 0)
        time.sleep(timeout)
        return 0

    def close(self):
        if self.efd >= 0:
            os.close(self.efd)
            self.efd = -1


def events(root, cid, interval, emit, stats_once=False):
    """Emit runc's events: ``emit({"type": "stats", "id", "data"})`` every interval seconds
    and ``{"type": "oom", "id"}`` on each OOM kill, until the container stops; or one stats
    event with stats_once."""
    if interval <= 0:
        raise errors.PyruncError("duration interval must be greater than 0")
    st = ContainerState.load(root, cid)
    if st.status() == "stopped":
        raise errors.PyruncError("container with id %s is not running" % cid)
    cg = _manager(st)
    if stats_once:
        emit({"type": "stats", "id": cid, "data": cg.stats()})
        return
    watcher = OOMWatcher(cg)
    try:
        next_stats = time.monotonic() + interval
        while True:
            timeout = max(0.0, min(next_stats - time.monotonic(), 0.25))
            n = watcher.wait(timeout)
            if n:
                if not os.path.isdir(cg.memory_dir()):
                    return  # v1 signals the eventfd once more when the cgroup is removed
                emit({"type": "oom", "id": cid})
            if n is None or st.status() == "stopped":
                return
            if time.monotonic() >= next_stats:
                next_stats += interval
                try:
                    emit({"type": "stats", "id": cid, "data": cg.stats()})
                except OSError as e:
                    from pyrunc import log
                    log.error("stats: %s" % e)
    finally:
        watcher.close()
