"""Paying the kernel's cgroup-migration grace period off the critical path of create and exec.

Moving a process into a cgroup (a write to ``cgroup.procs``) takes the kernel's global
``cgroup_threadgroup_rwsem`` for writing. That lock is a percpu rwsem: its readers (every fork
and exit on the host) stay cheap because a writer first waits for an RCU grace period
(``rcu_sync_enter``) -- 6-20 ms on a small VM -- unless another writer released it less than
about a grace period before. runc and crun pay that wait in the middle of every create.

pyrunc pays it in the background: :func:`start` (or :func:`early`, as soon as the CLI knows
the command is create, run or exec) starts a thread that moves this process into the cgroup
it is already in (our own pid written to our own ``cgroup.procs``: the kernel takes and
releases the lock and changes nothing), then does it again every few milliseconds until
:meth:`Warmer.stop`. By the time the container's init is moved into its cgroups the lock is
warm: each write costs ~0.05 ms instead of the grace period, which was spent while create
was validating, forking and mounting.

If no cgroup of ours is writable (rootless, a read-only /sys/fs/cgroup), nothing is warmed;
the thread then only runs create's jobs (``start(jobs=True)``), or is not started at all.
"""

import _thread

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

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


class Job:
    """Work handed to the warming thread (:meth:`Warmer.submit`); :meth:`result` waits."""

    def __init__(self, fn):
        self.fn = fn
        self.value = self.error = None
        self._done = _thread.allocate_lock()
        self._done.acquire()

    def _run(self):
        try:
            self.value = self.fn()
        except BaseException as e:  # re-raised in the waiting thread, where it belongs
            self.error = e
        self._done.release()

    def result(self):
        """The function's return value, or its exception raised here."""
        with self._done:
            pass
        if self.error is not None:
            raise self.error
        return self.value


class Warmer:
    """The warming thread: a write to our own ``cgroup.procs`` every INTERVAL (while one of
    ours is writable, for at most MAX_TIME), and between writes the jobs given to it.

    Create gives it the container's mkdirs: they need ``cgroup_mutex``, which the first
    warming write holds for the whole grace period, so run in this thread they wait for it
    without stopping the main thread (which validates, forks the init, ...).
    """

    def __init__(self, path=None):
        self.path = path
        self.stopped = False
        self._jobs = []
        self._wake = _thread.allocate_lock()
        self._wake.acquire()
        self._running = False
        self._mu = _thread.allocate_lock()  # _running and _jobs, between submit and exit

    def submit(self, fn):
        """Run ``fn()`` in the thread (in order); returns its Job. Without a thread (stopped,
        or never started), it runs here and now."""
        job = Job(fn)
        with self._mu:
            queued = self._running
            if queued:
                self._jobs.append(job)
        if not queued:
            job._run()
            return job
        try:
            self._wake.release()
        except RuntimeError:
            pass  # already signalled
        return job

    def stop(self):
        """No more warming; jobs already submitted still run (result() may wait for them)."""
        self.stopped = True
        try:
            self._wake.release()
        except RuntimeError:
            pass

    def _run(self, pid):
        import time
        deadline = time.monotonic() + MAX_TIME
        lock = LOCK
        path = self.path
        try:
            while True:
                if path is not None and not self.stopped:
                    if time.monotonic() < deadline:
                        path = self._warm(path, pid, lock)
                    else:
                        path = None
                while self._jobs:
                    self._jobs.pop(0)._run()
                if self.stopped:
                    break
                self._wake.acquire(timeout=INTERVAL if path is not None else -1)
        finally:
            with self._mu:
                self._running = False
                left, self._jobs = self._jobs, []
            for job in left:  # (submitted as we stopped: never left waiting)
                job._run()

    @staticmethod
    def _warm(path, pid, lock):
        """One warming write; None (stop warming) if the file can't be written."""
        try:
            with lock:  # (see LOCK)
                fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
                OPEN_FD[0] = fd
            try:
                os.write(fd, pid)
            finally:
                with lock:
                    OPEN_FD[0] = -1
                    os.close(fd)
        except OSError:
            return None
        return path


_EARLY = []


def early():
    """Start the warming thread at once, for the next ``start`` to adopt: the CLI calls this
    first thing for create, run and exec, so the grace period runs while Python imports and
    validates (it is longer than all of that on a small VM)."""
    _EARLY.append(start(jobs=True))


def discard_early():
    """Stop the thread ``early`` started, if any, when no cgroup will be joined after all."""
    while _EARLY:
        _EARLY.pop().stop()


def start(jobs=False):
    """Start keeping the cgroup migration lock warm; returns the Warmer to stop.

    With ``jobs``, the thread is started even when no cgroup of ours is writable (it then
    only runs the jobs given to it)."""
    if _EARLY:  # (started with jobs: it serves either use)
        return _EARLY.pop()
    w = Warmer(own_procs_file())
    if w.path is not None and not os.access(w.path, os.W_OK):
        w.path = None
    if w.path is not None or jobs:
        w._running = True
        _thread.start_new_thread(w._run, (str(os.getpid()).encode(),))
    return w
