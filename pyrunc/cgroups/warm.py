"""Paying the kernel's cgroup-migration grace period off the critical path of create and exec.

Moving a process into a cgroup (a write to ``cgroup.procs``) takes the kernel's global
``cgroup_threadgroup_rwsem`` for writing. That lock is a percpu rwsem: its readers (every fork
and exit on the host) stay cheap because a writer first waits for an RCU grace period
(``rcu_sync_enter``) -- 6-20 ms on a small VM -- unless another writer released it less than
about a grace period before. runc and crun pay that wait in the middle of every create.

pyrunc pays it in the background: :func:`start`, called as create (or exec) begins, starts a
thread that moves this process into the cgroup it is already in (our own pid written to our own
``cgroup.procs``: the kernel takes and releases the lock and changes nothing), then does it
again every few milliseconds until :meth:`Warmer.stop`. By the time the container's init is
moved into its cgroups the lock is warm: each write costs ~0.05 ms instead of the grace period,
which was spent while create was validating, forking and mounting.

If no cgroup of ours is writable (rootless, a read-only /sys/fs/cgroup), nothing is started.
"""

import _thread
import os

INTERVAL = 0.004    # seconds between writes: well within one grace period
MAX_TIME = 10.0     # a create that takes longer than this stops keeping the lock warm

# The warming write's fd is open for as long as the write waits (the grace period, ~10 ms),
# so a child forked meanwhile inherits it (seen in ~40% of the inits waiting for `start`).
# LOCK is held while that fd is opened or closed -- not during the write: a fork must not
# wait for the grace period, which would put it back on the critical path (the rwsem's
# readers, fork among them, only wait for the writer's short critical section after it) --
# and by fork() around os.fork, so OPEN_FD names exactly the fd a child inherited: the child
# closes it at once.
LOCK = _thread.allocate_lock()
OPEN_FD = [-1]


def fork():
    """os.fork(), and in the child, close the warming write's fd if one was open."""
    with LOCK:
        pid = os.fork()
        leaked = OPEN_FD[0]
    if pid == 0 and leaked >= 0:
        OPEN_FD[0] = -1
        os.close(leaked)
    return pid


def own_procs_file():
    """The ``cgroup.procs`` of a cgroup this process is in (cgroup2 preferred), or None."""
    try:
        with open("/proc/self/cgroup", "rb") as f:
            own = [line.split(b":", 2) for line in f.read().splitlines()]
        with open("/proc/self/mountinfo", "rb") as f:
            mounts = f.read().splitlines()
    except OSError:
        return None
    found = []
    for line in mounts:
        left, _, right = line.partition(b" - ")
        rf = right.split()
        if len(rf) < 3 or rf[0] not in (b"cgroup", b"cgroup2"):
            continue
        lf = left.split()
        root, mnt = lf[3], lf[4].replace(b"\\040", b" ")
        opts = set(rf[2].split(b","))
        for entry in own:
            if len(entry) != 3:
                continue
            _, ctrls, path = entry
            if rf[0] == b"cgroup2":
                if ctrls:
                    continue
            elif not ctrls or not set(ctrls.split(b",")) <= opts:
                continue
            if root != b"/":
                if path != root and not path.startswith(root + b"/"):
                    continue
                path = path[len(root):]
            found.append((rf[0] != b"cgroup2", mnt + path.rstrip(b"/") + b"/cgroup.procs"))
    if not found:
        return None
    return min(found)[1]


class Warmer:
    def __init__(self, path=None):
        self.path = path
        self.stopped = False

    def stop(self):
        self.stopped = True

    def _run(self, pid):
        import time
        deadline = time.monotonic() + MAX_TIME
        lock = LOCK
        while not self.stopped and time.monotonic() < deadline:
            try:
                with lock:  # (see LOCK)
                    fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)
                    OPEN_FD[0] = fd
                try:
                    os.write(fd, pid)
                finally:
                    with lock:
                        OPEN_FD[0] = -1
                        os.close(fd)
            except OSError:
                return
            time.sleep(INTERVAL)


def start():
    """Start keeping the cgroup migration lock warm; returns the Warmer to stop."""
    w = Warmer(own_procs_file())
    if w.path is not None and os.access(w.path, os.W_OK):
        _thread.start_new_thread(w._run, (str(os.getpid()).encode(),))
    return w
