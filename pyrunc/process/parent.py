"""The parent side of create: fork the init, answer it, record the container, get out.

The parent stays in the runtime's namespaces. It writes the user namespace's id maps, learns
the init's host pid, puts the init into its cgroups *after* the heavy setup (so the Python
runtime's memory is not charged to the container), then records state.json and the pid file
and exits. The init is left as a child of the caller (conmon and containerd-shim are
subreapers), with no pyrunc process in between.
"""

import os

from pyrunc import errors
from pyrunc.linux import consts as C
from pyrunc.linux import libc
from pyrunc.process.sync import Channel


def _write_maps(pid, linux):
    def fmt(maps):
        return "".join("%d %d %d\n" % (m["containerID"], m["hostID"], m["size"]) for m in maps)
    for name, key in (("uid_map", "uidMappings"), ("gid_map", "gidMappings")):
        try:
            with open("/proc/%d/%s" % (pid, name), "w") as f:
                f.write(fmt(linux.get(key) or ()))
        except OSError as e:
            raise errors.PyruncError("linux.%s: writing %s: %s" % (key, name, e.strerror)) \
                from None


def spawn_init(ctx, cgroup_manager, on_hooks=None, on_pid=None):
    """Fork the init and drive it to the created state; returns its host pid.

    On failure the init (if any) is killed and reaped, and ContainerInitError/PyruncError
    carries the init's one-line reason."""
    pfd, cfd = libc.socketpair(C.AF_UNIX, C.SOCK_SEQPACKET)
    ctx.sync_fd = cfd
    child = os.fork()
    if child == 0:
        try:
            os.close(pfd)
            from pyrunc.process import init
            init.child_main(ctx)
        finally:
            os._exit(1)
    os.close(cfd)
    ch = Channel(pfd)
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
                _write_maps(child, ctx.config.get("linux") or {})
                ch.send("mapped")
            elif kind == "pid":
                init_pid = msg["pid"]
                if init_pid != child:
                    _reap(child)
                if on_pid is not None:
                    on_pid(init_pid)
            elif kind == "cgroup":
                cgroup_manager.add(init_pid)
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
                ch.send("ok")
            elif kind == "done":
                break
    except BaseException:
        if init_pid:
            _kill(init_pid)
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
