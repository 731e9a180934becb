"""The parent side of create: fork the init, answer it, record the container, get out.

The parent stays in the runtime's namespaces. It writes the user namespace's id maps, learns
the init's host pid, puts the init into its cgroups *after* the heavy setup (so the Python
runtime's memory is not charged to the container), then records state.json and the pid file
and exits. The init is left as a child of the caller (conmon and containerd-shim are
subreapers), with no pyrunc process in between.
"""

import os

from pyrunc import errors
from pyrunc.process.sync import Channel, fork_child
from pyrunc.testing import killpoint


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


def spawn_init(ctx, cgroup_manager, on_hooks=None, on_pid=None):
    """Fork the init and drive it to the created state; returns its host pid.

    On failure the init (if any) is killed and reaped, and ContainerInitError/PyruncError
    carries the init's one-line reason."""
    child, pfd = fork_child(ctx, _init_main, 1)
    killpoint("create:forked")
    ch = Channel(pfd)
    ch.watch(child)
    init_pid = 0
    try:
        while True:
            msg = ch.recv()
            if msg is None:
                raise errors.ContainerInitError("container init exited during setup")
            kind = msg["type"]
            if kind == "error":
                raise errors.ContainerInitError(msg["message"])
            if kind == "userns":
                _write_maps(child, ctx.config.get("linux") or {}, ctx.rootless)
                killpoint("create:userns-mapped")
                ch.send("mapped")
            elif kind == "pid":
                ch.unwatch()
                init_pid = msg["pid"]
                if init_pid != child:
                    _reap(child)
                    child = 0  # reaped: its pid may belong to someone else from now on
                killpoint("create:pid-received")
                if on_pid is not None:
                    on_pid(init_pid)
                # the init waits for this: if we die before its pid is on record, it sees
                # EOF and exits at once, instead of living on where delete can't find it
                ch.send("ok")
            elif kind == "cgroup":
                if cgroup_manager is not None:
                    cgroup_manager.add(init_pid)
                killpoint("create:cgroupns-joined")
                ch.send("ok")
            elif kind == "runtime-hooks":
                if on_hooks is not None:
                    on_hooks(init_pid)
                ch.send("ok")
            elif kind == "ready":
                if cgroup_manager is not None:
                    # join late: the init's Python memory stays charged outside the container;
                    # with a new cgroup ns it already joined (its ns root must be this cgroup)
                    cgroup_manager.add(init_pid)
                killpoint("create:cgroups-joined")
                ch.send("ok")
                killpoint("create:ready-acked")
            elif kind == "done":
                killpoint("create:done-received")
                break
    except BaseException:
        if init_pid:
            _kill(init_pid)
        if child:
            _kill(child)
            _reap(child)
        raise
    finally:
        ch.close()
    return init_pid


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
