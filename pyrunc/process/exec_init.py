"""The init side of exec: join a running container and become the new process in it.

The forked child opens every namespace of the container's init (/proc/PID/ns/*), joins the
user namespace first and the others after, and forks once more so the new process is inside
the pid (and time) namespace. The forked child reports that process's host pid ("pid") and
exits; the parent puts the pid in the container's cgroups and answers "ok" with it. Meanwhile
the process allocates a terminal if asked and resolves the executable in the container; once
it has the "ok" (it is in the cgroups) it applies the process attributes and execs. Success is
signalled by the channel closing on execve (it is close-on-exec); a failure sends one error
line instead.

Everything needed after joining the container's mount namespace is imported before any setns
(``preload``), and from then on no import can happen at all (``_NoImports``): an import there
would look for the module in the container's files, and run the container's code with the
runtime's privileges.

It never becomes dumpable: a process of the container must not be able to open
/proc/<this>/exe and overwrite the host's Python (CVE-2019-5736).
"""

import sys

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
from pyrunc.errors import PyruncError
from pyrunc.linux import consts as C
from pyrunc.linux import libc
from pyrunc.process import attrs, finalize
from pyrunc.process.sync import Channel, NoImports as _NoImports, report_failures
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
        self.seccomp = None         # the compiled linux.seccomp, if cached (seccomp/cache)
        self.lock_fd = -1           # the parent's (shared) container lock: not ours to hold
        self.__dict__.update(kw)


def child_main(ctx):
    """Entry point of the forked child; never returns."""
    ch = Channel(ctx.sync_fd)
    report_failures(ch, lambda: _child(ctx, ch), 'exec', 255)


def preload(ctx):
    """Import what the process needs once in the container's mount namespace, and read what
    must come from the host, while the host's files are in view. What only a terminal or an
    LSM label needs is imported only for them: any import missed here fails (_NoImports).

    The parent calls it before it forks (exec_parent.spawn): the child inherits all of it,
    where importing would cost it a copy-on-write fault on every page it touches; the child
    calls it again all the same (then nothing is left to do), as the guarantee."""
    import resource  # noqa: F401  (attrs.set_rlimits)
    import _signal  # noqa: F401  (finalize.reset_signals)
    from pyrunc.linux import capnames  # noqa: F401
    from pyrunc.linux._libc_ffi import ffi  # noqa: F401
    # read from the host's /proc now: the container's could be a fake (attrs.last_cap)
    attrs.last_cap()
    proc = ctx.proc or {}
    lsm = proc.get("apparmorProfile") or proc.get("selinuxLabel")
    if lsm:
        from pyrunc import hostcheck
        hostcheck.apparmor_enabled()  # the host's answer, not the container's /sys
    if ctx.console_sock is not None:
        import stat  # noqa: F401
        from pyrunc import console  # noqa: F401
    if lsm or ctx.console_sock is not None:
        from pyrunc.rootfs import paths  # noqa: F401  (finalize.write_lsm_attr, console)


def _child(ctx, ch):
    libc.prctl(C.PR_SET_DUMPABLE, 0)
    if ctx.lock_fd >= 0:
        os.close(ctx.lock_fd)  # (a flock lives as long as any copy of its fd)
        ctx.lock_fd = -1
    from pyrunc import log
    log.set_sink(lambda level, msg: ch.send("log", level=level, msg=msg))
    preload(ctx)
    config = ctx.config
    linux = config.get("linux") or {}
    filt = ctx.seccomp  # compiled already when it could come from the cache
    if linux.get("seccomp") and filt is None:
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
    sys.meta_path.insert(0, _NoImports)
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
    _process(ctx, ch, filt)


def _process(ctx, ch, filt):
    try:
        fin = _prepare(ctx, filt)
        failed = None
    except BaseException as e:
        fin, failed = None, e
    # the parent's answer to our "pid" (sent by the process that forked us): we are in the
    # container's cgroups now. A failure above is reported only after it, so that the parent
    # never finds this process gone (or its pid reaped) while it joins the cgroups or answers.
    ctx.host_pid = ch.expect("ok").get("pid", 0)
    if failed is not None:
        raise failed
    fin.apply()
    try:
        fin.exec()
    except OSError as e:
        raise PyruncError("exec %s: %s" % (fin.args[0], e.strerror)) from None


def _prepare(ctx, filt):
    """What needs no cgroup, done while the parent joins us to them: a new session, the
    terminal, the executable's lookup (in the container, with its PATH)."""
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
    return fin
