"""The parent side of exec: fork the joining process, put it in the container's cgroup, and
report its pid (``--detach``) or wait for it (foreground)."""

import os

from pyrunc import errors
from pyrunc.process.sync import Channel, fork_child
from pyrunc.testing import killpoint


def _exec_init_main(ctx):
    from pyrunc.process import exec_init
    exec_init.child_main(ctx)


def spawn(ctx, cgroup_manager):
    """Fork and drive the exec'd process until its execve; returns its host pid."""
    child, pfd = fork_child(ctx, _exec_init_main, 255)
    killpoint("exec:forked")
    ch = Channel(pfd, peer="exec failed: the process")
    ch.watch(child)
    pid = 0
    try:
        while True:
            msg = ch.recv()
            if msg is None:
                if pid:
                    break  # the channel closed on a successful execve
                raise errors.PyruncError("exec failed: the process exited during setup")
            kind = msg["type"]
            if kind == "error":
                raise errors.PyruncError(msg["message"])
            if kind == "pid":
                ch.unwatch()
                pid = msg["pid"]
                _reap(child)
                child = 0  # reaped: its pid may belong to someone else from now on
                killpoint("exec:pid-received")
                ch.send("ok")
            elif kind == "ready":
                if cgroup_manager is not None:
                    cgroup_manager.add(pid)
                killpoint("exec:cgroup-joined")
                ch.send("ok", pid=pid)
                killpoint("exec:ok-sent")
    except BaseException:
        for p in (pid, child):  # pid: not reaped by us (reparented), still the process
            if p:
                try:
                    os.kill(p, 9)
                except ProcessLookupError:
                    pass
        if child:
            _reap(child)
        raise
    finally:
        ch.close()
    return pid


def _reap(pid):
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
