"""The parent side of create: fork the init, answer it, record the container, get out.

The parent stays in the runtime's namespaces. It forks the init before it loads the bundle
(the init imports its half meanwhile), hands it its context once the bundle is checked, writes
the user namespace's id maps, learns the init's host pid, puts the init into its cgroups
*after* the heavy setup (so the Python runtime's memory is not charged to the container),
then records state.json and the pid file and exits. The init is left as a child of the caller (conmon and containerd-shim are
subreapers), with no pyrunc process in between.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc import errors
from pyrunc.process.sync import Channel, PeerGone, fork_child
from pyrunc.testing import killpoint, mark


def _write_maps(pid, linux, rootless=False):
    """Write the user namespace's uid/gid maps for process ``pid``.

    As root: straight into /proc/PID/{uid,gid}_map. Unprivileged, the kernel allows only one
    line mapping our own id (and, for gid_map, only after setgroups is denied); anything more
    goes through the setuid helpers newuidmap/newgidmap (package uidmap), which check
    /etc/subuid and /etc/subgid."""
    uid_maps = linux.get("uidMappings") or ()
    gid_maps = linux.get("gidMappings") or ()
    if rootless and os.geteuid() != 0:
        own_uid = len(uid_maps) == 1 and uid_maps[0]["hostID"] == os.geteuid() \
            and uid_maps[0]["size"] == 1
        own_gid = len(gid_maps) == 1 and gid_maps[0]["hostID"] == os.getegid() \
            and gid_maps[0]["size"] == 1
        if own_uid and own_gid:
            _write_file(pid, "setgroups", "deny", "linux.gidMappings")
        else:
            _helper_map("newuidmap", pid, uid_maps, "uidMappings")
            _helper_map("newgidmap", pid, gid_maps, "gidMappings")
            return
    _write_file(pid, "uid_map", _fmt(uid_maps), "linux.uidMappings")
    _write_file(pid, "gid_map", _fmt(gid_maps), "linux.gidMappings")


def _fmt(maps):
    return "".join("%d %d %d\n" % (m["containerID"], m["hostID"], m["size"]) for m in maps)


def _write_file(pid, name, text, field):
    try:
        with open("/proc/%d/%s" % (pid, name), "w") as f:
            f.write(text)
    except OSError as e:
        hint = ""
        if e.errno in (1, 13) and os.geteuid() != 0:
            hint = " (an unprivileged user may map only its own id; for ranges install " \
                   "newuidmap/newgidmap and configure /etc/subuid, /etc/subgid)"
        raise errors.PyruncError("%s: writing %s: %s%s" % (field, name, e.strerror, hint)) \
            from None


def _helper_map(tool, pid, maps, field):
    import shutil
    import subprocess
    exe = shutil.which(tool) or ("/usr/bin/" + tool if os.path.exists("/usr/bin/" + tool)
                                 else None)
    if exe is None:
        raise errors.PyruncError("linux.%s: mapping more than your own id needs %s (package "
                                 "uidmap), which is not installed" % (field, tool))
    args = [exe, str(pid)]
    for m in maps:
        args += [str(m["containerID"]), str(m["hostID"]), str(m["size"])]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise errors.PyruncError("linux.%s: %s failed: %s" % (
            field, tool, (r.stderr or r.stdout).strip().replace("\n", " ")))


def _init_main(ctx):
    from pyrunc.process import init
    init.child_main(ctx)


_EARLY = []


def fork_early():
    """Fork the init now, for create to adopt (:meth:`InitProcess.adopt`): the CLI calls
    this first thing for create and run, so that the child's imports (the init side of
    pyrunc, cffi) run on the other core while this process imports and validates."""
    _EARLY.append(InitProcess())


def discard_early():
    """Kill and reap the init ``fork_early`` made if create never took it (a usage error)."""
    while _EARLY:
        _EARLY.pop().abort()


class InitProcess:
    """The forked init, from fork to the created state.

    Forking comes first, before the bundle is even loaded: the child imports the init side
    of pyrunc (a few milliseconds of the critical path) while this process loads and
    validates it; :meth:`begin` then hands the child its context, and create records the
    container and makes its cgroups while the child makes its namespaces (two cores: the
    halves overlap). :meth:`drive` answers the child. The "cgroups" message that answers
    its "pid" says the pid is on record and the cgroups exist, with their final paths
    (those of the manager ``cgroups`` returns, which a rootless create may have narrowed to
    the writable hierarchies); the child waits for it where it needs them (its cgroup
    mount, a cgroup namespace) and at the latest before anything of it leaves its
    namespaces (hooks, the pty master, the pivot)."""

    def __init__(self):
        from pyrunc.process.context import InitContext
        self.linux = {}
        self.rootless = False
        # the child has its end of the channel; every file it is to keep (but the caller's
        # preserved fds, which it inherits now) comes with the context
        self.child, pfd = fork_child(InitContext(), _init_main, 1)
        killpoint("create:forked")
        self.ch = Channel(pfd)
        self.ch.watch(self.child)
        self.init_pid = 0

    @classmethod
    def adopt(cls):
        """The init the CLI forked early, or a new one (the Python API, tests)."""
        return _EARLY.pop() if _EARLY else cls()

    def begin(self, ctx):
        """Send the waiting child its context; it then makes the namespaces and the rootfs."""
        from pyrunc.process.context import pack
        self.linux = ctx.config.get("linux") or {}
        self.rootless = ctx.rootless
        fields, fds = pack(ctx)
        try:
            try:
                self.ch.send_context(fields, fds)
            except PeerGone:
                # it failed before it could take the context: its error is queued for us
                msg = self.ch.recv()
                if msg is not None and msg.get("type") == "error":
                    raise errors.ContainerInitError(msg["message"]) from None
                raise
        except BaseException:
            self.abort()
            raise
        killpoint("create:context-sent")

    def drive(self, on_pid, cgroups, on_hooks=None, meanwhile=None):
        """Answer the init until it is created; returns its host pid.

        ``on_pid(pid)`` records the init's pid; ``cgroups()`` waits for the container's
        cgroups to be made and returns their manager, to put the init in (None: no
        cgroup); ``on_hooks(pid)`` runs the runtime-namespace hooks;
        ``meanwhile()`` is work that must be done before the init joins its cgroups (writing
        their resources): it runs right after the "cgroups" message, while the init sets up
        its rootfs.

        On failure the init (if any) is killed and reaped, and ContainerInitError/PyruncError
        carries the init's one-line reason."""
        ch = self.ch
        cgroup_manager = None
        try:
            while True:
                msg = ch.recv()
                if msg is None:
                    raise errors.ContainerInitError("container init exited during setup")
                kind = msg["type"]
                if kind == "error":
                    raise errors.ContainerInitError(msg["message"])
                if kind == "userns":
                    _write_maps(self.child, self.linux, self.rootless)
                    killpoint("create:userns-mapped")
                    ch.send("mapped")
                elif kind == "pid":
                    ch.unwatch()
                    self.init_pid = msg["pid"]
                    if self.init_pid != self.child:
                        _reap(self.child)
                        self.child = 0  # reaped: its pid may be someone else's from now on
                    killpoint("create:pid-received")
                    # the init goes on with its rootfs meanwhile, and waits for "cgroups"
                    # before it joins anything or execs: if we die before its pid is on
                    # record, it sees EOF there and exits, instead of living on where
                    # delete can't find it
                    on_pid(self.init_pid)
                    # the cgroups may still be being made (the grace period of the warming
                    # thread, cgroups/warm.py, may not have passed yet)
                    cgroup_manager = cgroups()
                    mark("create:cgroups-ready")
                    try:
                        ch.send("cgroups", cgroup_paths=cgroup_manager.paths
                                if cgroup_manager is not None else {})
                    except PeerGone:
                        continue  # it failed meanwhile: its error is the next message
                    if meanwhile is not None:
                        meanwhile()
                elif kind == "cgroup":
                    if cgroup_manager is not None:
                        cgroup_manager.add(self.init_pid)
                    killpoint("create:cgroupns-joined")
                    ch.send("ok")
                elif kind == "runtime-hooks":
                    if on_hooks is not None:
                        on_hooks(self.init_pid)
                    ch.send("ok")
                elif kind == "ready":
                    mark("create:ready-received")
                    if cgroup_manager is not None:
                        # join late: the init's Python memory stays charged outside the
                        # container; with a new cgroup ns it already joined (its ns root must
                        # be this cgroup)
                        cgroup_manager.add(self.init_pid)
                    killpoint("create:cgroups-joined")
                    ch.send("ok")
                    killpoint("create:ready-acked")
                elif kind == "done":
                    killpoint("create:done-received")
                    break
        except BaseException:
            self.abort()
            raise
        finally:
            ch.close()
        return self.init_pid

    def abort(self):
        """Kill (and reap, if still ours) whatever of the init exists; idempotent."""
        if self.init_pid:
            _kill(self.init_pid)
            self.init_pid = 0  # (not ours to reap: a second abort must not kill a reused pid)
        if self.child:
            _kill(self.child)
            _reap(self.child)
            self.child = 0
        self.ch.close()


def _kill(pid):
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass


def _reap(pid):
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
