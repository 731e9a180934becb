"""The init side: what runs inside the new namespaces until execve of the user's program.

``child_main`` runs in the process forked by ``pyrunc create``. It joins the namespaces given
by path, unshares the new ones (the parent writes the user namespace's id maps meanwhile), and
forks once more when a pid or time namespace only applies to children. That last process is
the container's init: it sets up the rootfs and pivots into it, applies the process attributes,
reports ``done`` to the parent and then blocks until ``pyrunc start`` connects to its start
socket; it then execs the user's program in place, so no Python remains.

Everything this side needs is imported before pivot_root (see ``_preload``): after the pivot
the host's filesystem, and the Python standard library with it, is gone.
"""

import os

from pyrunc.container.state import START_SOCK
from pyrunc.errors import PyruncError
from pyrunc.linux import consts as C
from pyrunc.linux import libc
from pyrunc.process import attrs
from pyrunc.process.sync import Channel


class InitContext:
    """What the parent hands to the init (by fork, not serialisation)."""

    def __init__(self, **kw):
        self.config = None
        self.bundle = None
        self.rootfs = None
        self.no_pivot = False
        self.preserve_fds = 0
        self.sync_fd = -1
        self.start_sock = None          # listening _socket.socket for `start`
        self.state_dir_fd = -1          # O_PATH fd of the state dir (to unlink start.sock)
        self.cgroup_mounts = {}
        self.cgroup_paths = {}
        self.new_cgroupns = False
        self.in_userns = False
        self.console_socket = None
        self.parent_fds = ()            # the parent's own fds (its flock!) to close at once
        self.__dict__.update(kw)


def _preload():
    """Import what is needed after pivot_root, while the host's filesystem is still there."""
    import resource  # noqa: F401  (rlimits)
    import _signal  # noqa: F401
    from pyrunc.linux import capnames  # noqa: F401
    from pyrunc.rootfs import setup, cgroupmount  # noqa: F401
    from pyrunc.linux._libc_ffi import ffi  # noqa: F401


def child_main(ctx):
    """Entry point of the forked child; never returns."""
    ch = Channel(ctx.sync_fd)
    code = 1
    try:
        _child(ctx, ch)
    except PyruncError as e:
        _report(ch, str(e))
    except OSError as e:
        if os.environ.get("PYRUNC_DEBUG_INIT"):
            import traceback
            traceback.print_exc()
        _report(ch, "%s: %s" % (e.filename or "init", e.strerror))
    except BaseException as e:  # a bug: still one line for the user, never a traceback
        _report(ch, "container init failed: %s: %s" % (type(e).__name__, e))
    os._exit(code)


def _report(ch, msg):
    try:
        ch.send("error", message=msg)
    except OSError:
        pass


def _namespaces(config):
    return (config.get("linux") or {}).get("namespaces") or ()


def _child(ctx, ch):
    libc.prctl(C.PR_SET_DUMPABLE, 0)  # not ptrace-able/openable via /proc by the container
    for fd in ctx.parent_fds:
        # a flock belongs to the open file: our inherited copy would hold the container's
        # lock for as long as the init lives
        os.close(fd)
    _preload()
    config = ctx.config
    # open every namespace to join first: paths like /proc/PID/ns/net must be resolved in
    # the runtime's own mount and pid namespaces
    joins = []
    new_flags = 0
    for ns in _namespaces(config):
        flag = C.NAMESPACES[ns["type"]][0]
        if ns.get("path"):
            try:
                fd = os.open(ns["path"], os.O_RDONLY | os.O_CLOEXEC)
            except OSError as e:
                raise PyruncError("linux.namespaces (%s): open %s: %s" % (
                    ns["type"], ns["path"], e.strerror)) from None
            joins.append((ns["type"], flag, fd))
        elif ns["type"] != "cgroup":
            new_flags |= flag
    joins.sort(key=lambda j: j[0] != "user")  # the user namespace first: it owns the others
    for typ, flag, fd in joins:
        try:
            libc.setns(fd, flag)
        except OSError as e:
            raise PyruncError("linux.namespaces (%s): setns: %s" % (typ, e.strerror)) from None
        os.close(fd)
    if new_flags:
        try:
            libc.unshare(new_flags)
        except OSError as e:
            raise PyruncError("linux.namespaces: unshare: %s" % e.strerror) from None
    if new_flags & C.CLONE_NEWUSER:
        ch.send("userns")
        ch.expect("mapped")
    if ctx.in_userns:
        try:
            libc.setresgid(0, 0, 0)
            libc.setresuid(0, 0, 0)
        except OSError as e:
            raise PyruncError("linux.uidMappings: cannot become root in the user namespace "
                              "(uid and gid 0 must be mapped): %s" % e.strerror) from None
    offsets = (config.get("linux") or {}).get("timeOffsets")
    if offsets and new_flags & C.CLONE_NEWTIME:
        lines = "".join("%s %d %d\n" % (k, v.get("secs", 0), v.get("nanosecs", 0))
                        for k, v in offsets.items())
        with open("/proc/self/timens_offsets", "w") as f:
            f.write(lines)
    needs_fork = new_flags & (C.CLONE_NEWPID | C.CLONE_NEWTIME) or any(
        j[0] in ("pid", "time") for j in joins)
    if needs_fork:
        pid = os.fork()
        if pid:
            ch.send("pid", pid=pid)
            os._exit(0)
    else:
        ch.send("pid", pid=os.getpid())
    _init(ctx, ch, new_flags)


def _init(ctx, ch, new_flags):
    config = ctx.config
    proc = config.get("process") or {}
    linux = config.get("linux") or {}
    os.setsid()
    if ctx.new_cgroupns:
        # the cgroup namespace's root is the cgroup we are in when unsharing it
        ch.send("cgroup")
        ch.expect("ok")
        libc.unshare(C.CLONE_NEWCGROUP)
    if new_flags & C.CLONE_NEWNET:
        libc.loopback_up()
    if "hostname" in config and config["hostname"] is not None:
        if not new_flags & C.CLONE_NEWUTS and not _joined(config, "uts"):
            raise PyruncError("hostname: setting it requires a new uts namespace")
        libc.sethostname(config["hostname"])
    if config.get("domainname"):
        libc.setdomainname(config["domainname"])
    attrs.set_oom_score_adj(proc.get("oomScoreAdj"))

    from pyrunc.rootfs import setup
    rootfd = setup.prepare(config, ctx.rootfs, ctx.bundle, ctx)
    os.close(rootfd)
    setup.enter(ctx.rootfs, ctx.no_pivot)
    setup.finalize(config)
    _sysctl(linux.get("sysctl"))

    args = proc.get("args") or []
    env = proc.get("env") or []
    path = attrs.lookup_executable(args[0], env) if args else None

    ch.send("ready")
    ch.expect("ok")  # the parent has put us in our cgroup and run the runtime hooks

    attrs.set_rlimits(proc.get("rlimits"))
    attrs.set_personality(linux.get("personality"))
    attrs.set_scheduler(proc.get("scheduler"))
    attrs.set_ioprio(proc.get("ioPriority"))
    top = attrs.last_cap()
    caps = proc.get("capabilities")
    attrs.drop_bounding(attrs.cap_mask((caps or {}).get("bounding")), top)
    libc.prctl(C.PR_SET_KEEPCAPS, 1)
    attrs.switch_user(proc.get("user") or {})
    cwd = proc.get("cwd") or "/"
    try:
        os.chdir(cwd)
    except OSError as e:
        raise PyruncError("process.cwd %s: %s" % (cwd, e.strerror)) from None
    attrs.check_cwd_inside()
    libc.prctl(C.PR_SET_KEEPCAPS, 0)
    attrs.apply_caps(caps, top)
    umask = (proc.get("user") or {}).get("umask")
    if umask is not None:
        os.umask(umask)
    if proc.get("noNewPrivileges"):
        libc.prctl(C.PR_SET_NO_NEW_PRIVS, 1)
    _fd_hygiene(ctx.preserve_fds)
    _reset_signals()
    ch.send("done")
    ch.close()
    _wait_start_and_exec(ctx, path, args, env)


def _joined(config, typ):
    return any(ns["type"] == typ and ns.get("path") for ns in _namespaces(config))


def _sysctl(sysctl):
    for key, value in (sysctl or {}).items():
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError as e:
            raise PyruncError("linux.sysctl[%s]: %s" % (key, e.strerror)) from None
        try:
            if not _is_procfs(fd):
                raise PyruncError("linux.sysctl[%s]: %s is not on procfs" % (key, path))
            os.write(fd, value.encode())
        except OSError as e:
            raise PyruncError("linux.sysctl[%s]=%s: %s" % (key, value, e.strerror)) from None
        finally:
            os.close(fd)


def _is_procfs(fd):
    """CVE-2025-52881: a write meant for /proc/sys must not land in a file the image made."""
    from pyrunc.linux._libc_ffi import ffi
    buf = ffi.new("struct statfs_min *")
    if libc.lib.fstatfs(fd, buf) < 0:
        return False
    return buf.f_type == 0x9FA0  # PROC_SUPER_MAGIC


def _fd_hygiene(preserve):
    """Only 0-2 and the preserved fds may cross execve: everything else gets CLOEXEC."""
    for fd in range(3, 3 + preserve):
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass
    libc.close_range(3 + preserve, 0xFFFFFFFF, C.CLOSE_RANGE_CLOEXEC)


def _reset_signals():
    # Python ignores SIGPIPE and SIGXFSZ and handles SIGINT; ignored dispositions survive
    # execve, so give the user's program the defaults it expects.
    import _signal
    for sig in (_signal.SIGPIPE, _signal.SIGXFSZ, _signal.SIGINT):
        _signal.signal(sig, _signal.SIG_DFL)


def _wait_start_and_exec(ctx, path, args, env):
    sock = ctx.start_sock
    while True:
        try:
            conn, _ = sock._accept()
        except OSError:
            os._exit(1)
        try:
            data = os.read(conn, 1)
        except OSError:
            data = b""
        if data:
            break
        os.close(conn)  # `start` died before saying go: wait for the next one
    # from here on, failures are reported to `start` over its connection
    try:
        os.set_inheritable(conn, False)
        try:
            os.unlink(START_SOCK, dir_fd=ctx.state_dir_fd)
        except OSError:
            pass  # not ours to remove as a non-root user: `start` removes it
        libc.execve(path, args, env)
    except OSError as e:
        msg = "exec %s: %s" % (args[0], e.strerror)
    except BaseException as e:
        msg = "container init failed before exec: %s: %s" % (type(e).__name__, e)
    try:
        os.write(conn, msg.encode())
    except OSError:
        pass
    os._exit(127)
