"""The parent side of exec: fork the joining process, put it in the container's cgroup, and
report its pid (``--detach``) or wait for it (foreground).

One round trip: the forked child sends the host pid of the process that will exec ("pid"); we
put that pid in the container's cgroups and answer "ok" with it, and the process, which has
meanwhile resolved its executable, applies its attributes and execs (the channel then closes).
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc import errors
from pyrunc.process.sync import Channel, fork_child
from pyrunc.testing import killpoint


def _exec_init_main(ctx):
    from pyrunc.process import exec_init
    exec_init.child_main(ctx)


def spawn(ctx, cgroup_manager, prefetch=()):
    """Fork and drive the exec'd process until its execve; returns its host pid.

    ``prefetch``: modules the caller imports once this returns, imported while the forked
    child joins the container, when this process would otherwise only wait for it."""
    from pyrunc.process import exec_init
    exec_init.preload(ctx)  # here, not in the child: see preload
    child, pfd = fork_child(ctx, _exec_init_main, 255)
    killpoint("exec:forked")
    ch = Channel(pfd, peer="exec failed: the process")
    ch.watch(child)
    pid = 0
    try:
        for name in prefetch:
            __import__(name)
        while True:
            msg = ch.recv()
            if msg is None:
                if pid:
                    break  # the channel closed on a successful execve
                raise errors.PyruncError("exec failed: the process exited during setup")
            kind = msg["type"]
            if kind == "error":
                raise errors.PyruncError(msg["message"])
            if kind == "pid" and not pid:
                ch.unwatch()
                pid = msg["pid"]
                killpoint("exec:pid-received")
                if cgroup_manager is not None:
                    cgroup_manager.add(pid)
                killpoint("exec:cgroup-joined")
                ch.send("ok", pid=pid)
                killpoint("exec:ok-sent")
                # the forked child exits once it has sent "pid": reaped only now, while the
                # process applies its attributes (until then `child` is still ours to kill)
                _reap(child)
                child = 0  # reaped: its pid may belong to someone else from now on
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
