"""The parent side of create: fork the init, answer it, record the container, get out.

The parent stays in the runtime's namespaces. It writes the user namespace's id maps, learns
the init's host pid, puts the init into its cgroups *after* the heavy setup (so the Python
runtime's memory is not charged to the container), then records state.json and the pid file
and exits. The init is left as a child of the caller (conmon and containerd-shim are
subreapers), with no pyrunc process in between.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc import errors
from pyrunc.process.sync import Channel, fork_child
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


class InitProcess:
    """The forked init, from fork to the created state.

    Forking comes first and driving second so that create can make the container's cgroups
    while the child imports, unshares and forks into its pid namespace (two cores: the two
    halves overlap). The child needs the cgroups only once its pid is on record: the "ok" to
    its "pid" message carries the final cgroup paths (those of the manager ``on_pid``
    returns), which a rootless create may have narrowed to the writable hierarchies."""

    def __init__(self, ctx):
        self.linux = ctx.config.get("linux") or {}
        self.rootless = ctx.rootless
        self.child, pfd = fork_child(ctx, _init_main, 1)
        killpoint("create:forked")
        self.ch = Channel(pfd)
        self.ch.watch(self.child)
        self.init_pid = 0

    def drive(self, on_pid, on_hooks=None, meanwhile=None):
        """Answer the init until it is created; returns its host pid.

        ``on_pid(pid)`` records the init's pid and returns the cgroup manager to put it in
        (None: no cgroup); ``on_hooks(pid)`` runs the runtime-namespace hooks;
        ``meanwhile()`` is work that must be done before the init joins its cgroups (writing
        their resources): it runs right after the pid is acknowledged, while the init sets
        up its rootfs.

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
                    cgroup_manager = on_pid(self.init_pid)
                    # the init waits for this: if we die before its pid is on record, it sees
                    # EOF and exits at once, instead of living on where delete can't find it
                    ch.send("ok", cgroup_paths=cgroup_manager.paths
                            if cgroup_manager is not None else {})
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
