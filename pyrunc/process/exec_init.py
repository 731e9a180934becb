"""The init side of exec: join a running container and become the new process in it.

The forked child opens every namespace of the container's init (/proc/PID/ns/*), joins the
user namespace first and the others after, and forks once more so the new process is inside
the pid (and time) namespace. That process allocates a terminal if asked, resolves the
executable in the container, waits until the parent has put it in the container's cgroup,
applies the process attributes and execs. Success is signalled by the channel closing on
execve (it is close-on-exec); a failure sends one error line instead.

It never becomes dumpable: a process of the container must not be able to open
/proc/<this>/exe and overwrite the host's Python (CVE-2019-5736).
"""

import os

from pyrunc.errors import PyruncError
from pyrunc.linux import consts as C
from pyrunc.linux import libc
from pyrunc.process import attrs, finalize
from pyrunc.process.sync import Channel, report_failures
from pyrunc.testing import killpoint


class ExecContext:
    def __init__(self, **kw):
        self.proc = None
        self.config = None          # the container's config (namespaces, seccomp, ...)
        self.init_pid = 0
        self.cid = ""
        self.bundle = ""
        self.host_pid = 0           # ours, learnt from the parent (a seccomp agent wants it)
        self.preserve_fds = 0
        self.sync_fd = -1
        self.console_sock = None
        self.__dict__.update(kw)


def child_main(ctx):
    """Entry point of the forked child; never returns."""
    ch = Channel(ctx.sync_fd)
    report_failures(ch, lambda: _child(ctx, ch), 'exec', 255)


def _preload():
    import resource  # noqa: F401
    import _signal  # noqa: F401
    from pyrunc.linux import capnames  # noqa: F401
    from pyrunc.linux._libc_ffi import ffi  # noqa: F401
    from pyrunc import console, hostcheck  # noqa: F401
    from pyrunc.process import attrs
    # read from the host's /proc now: the container's could be a fake (attrs.last_cap)
    attrs.last_cap()
    hostcheck.apparmor_enabled()  # the host's answer, not the container's /sys
    from pyrunc.rootfs import paths  # noqa: F401


def _child(ctx, ch):
    libc.prctl(C.PR_SET_DUMPABLE, 0)
    from pyrunc import log
    log.set_sink(lambda level, msg: ch.send("log", level=level, msg=msg))
    _preload()
    config = ctx.config
    linux = config.get("linux") or {}
    filt = None
    if linux.get("seccomp"):
        from pyrunc import seccomp
        filt = seccomp.compile_filter(linux["seccomp"], ctx)
    # decided from the host's view of the container's init, before joining (see attrs)
    attrs._SETGROUPS["known"] = attrs.setgroups_allowed(ctx.init_pid)
    joins = []
    for ns in linux.get("namespaces") or ():
        flag, name = C.NAMESPACES[ns["type"]]
        path = "/proc/%d/ns/%s" % (ctx.init_pid, name)
        if ns["type"] == "time":
            path += "_for_children"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise PyruncError("cannot join the container's %s namespace: %s" % (
                ns["type"], e.strerror)) from None
        joins.append((ns["type"], flag, fd))
    joins.sort(key=lambda j: (j[0] != "user", j[0] == "mount"))
    for typ, flag, fd in joins:
        try:
            libc.setns(fd, flag)
        except OSError as e:
            raise PyruncError("setns %s: %s" % (typ, e.strerror)) from None
        os.close(fd)
    pid = os.fork()
    if pid:
        killpoint("exec-init:forked")
        ch.send("pid", pid=pid)
        os._exit(0)
    # our "ready" must not overtake that "pid": the parent would put pid 0 in the cgroup,
    # and writing 0 to cgroup.procs moves the writer (`pyrunc exec`) into the container
    ch.expect("ok")
    _process(ctx, ch, filt)


def _process(ctx, ch, filt):
    proc = ctx.proc
    os.setsid()
    if ctx.console_sock is not None:
        from pyrunc import console
        master, slave, _ = console.open_pty(proc.get("consoleSize"))
        console.send_master(ctx.console_sock, master)
        os.close(master)
        ctx.console_sock.close()
        console.become_controlling(slave)
    fin = finalize.Finalizer(proc, (ctx.config.get("linux") or {}), filt, ctx.preserve_fds)
    fin.resolve()
    ch.send("ready")
    ctx.host_pid = ch.expect("ok").get("pid", 0)  # now in the container's cgroup
    fin.apply()
    try:
        fin.exec()
    except OSError as e:
        raise PyruncError("exec %s: %s" % (fin.args[0], e.strerror)) from None
