"""The init side: what runs inside the new namespaces until execve of the user's program.

``child_main`` runs in the process forked by ``pyrunc create`` (as soon as the CLI knows the
command: process/parent.py). It imports what it will need, waits for its context (the config,
the start socket, ...: process/context.py), joins the namespaces given by path, unshares the
new ones (the parent writes the user namespace's id maps meanwhile), and forks once more when
a pid or time namespace only applies to children. That last process is the container's init:
it sets up the rootfs and pivots into it, applies the process attributes, reports ``done`` to
the parent and then blocks until ``pyrunc start`` connects to its start socket; it then execs
the user's program in place, so no Python remains.

Everything this side needs is imported before pivot_root (see ``_preload``): after the pivot
the host's filesystem, and the Python standard library with it, is gone.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc.container.state import START_SOCK
from pyrunc.errors import PyruncError
from pyrunc.linux import consts as C
from pyrunc.linux import libc
from pyrunc.process import attrs, finalize
from pyrunc.process.sync import Channel, NoImports, report_failures
from pyrunc.testing import killpoint, mark


def _preload():
    """Import what is needed later, while the host's filesystem is there and readable.

    After pivot_root the host's files are gone; before that, once in a new user namespace,
    the init is a mapped uid that may not read the interpreter's standard library (under
    /root/.pyenv, say, mode 0700). So everything the init can reach is imported here, first
    thing after the fork, while the parent loads the bundle (:func:`_preload_for` adds
    what only some configs need, once the context has come)."""
    import resource  # noqa: F401  (rlimits)
    import _signal  # noqa: F401
    import _socket  # noqa: F401  (console: the pty master goes over a unix socket)
    import stat  # noqa: F401
    import struct  # noqa: F401  (seccomp/bpf, device rules)
    from pyrunc.linux import capnames, keyring  # noqa: F401
    from pyrunc.rootfs import setup, cgroupmount, paths, idmap  # noqa: F401
    from pyrunc import console, hostcheck  # noqa: F401
    from pyrunc.linux._libc_ffi import ffi  # noqa: F401
    from pyrunc.process import context  # noqa: F401
    # read from the host's /proc now: the container's could be a fake (attrs.last_cap)
    attrs.last_cap()
    hostcheck.apparmor_enabled()  # the host's answer, not the container's /sys


def _preload_for(config):
    """What only some configs need, imported once the context has come (see _preload)."""
    linux = config.get("linux") or {}
    if linux.get("seccomp"):
        from pyrunc.seccomp import compile as _c, bpf, enosys, notify, _lib  # noqa: F401
        from pyrunc.seccomp import _seccomp_ffi  # noqa: F401
    hooks = config.get("hooks") or {}
    if hooks.get("createContainer") or hooks.get("startContainer"):
        from pyrunc import hooks as _h  # noqa: F401
    if any("tmpcopyup" in (m.get("options") or ()) for m in config.get("mounts") or ()):
        import shutil  # noqa: F401  (mounts._copy_tree)


def _close_strays(ctx):
    """Close every fd we were not handed on purpose, as soon as we know which those are.

    We are a fork of the runtime as it was when the CLI started: what it had open then (a
    log file, whatever its cgroup thread had open at the fork, see cgroups/warm.py) is
    close-on-exec, but the init waits for ``start`` with it otherwise, and a process of the
    runtime keeps exactly what it needs: stdio, the channel, the caller's preserved fds and
    the files that came with the context (start socket, state dir, console, idmaps)."""
    keep = {0, 1, 2, ctx.sync_fd, ctx.state_dir_fd}
    keep.update(range(3, 3 + (ctx.preserve_fds or 0)))
    keep.update(ctx.idmap_fds.values())
    for sock in (ctx.start_sock, ctx.console_sock):
        if sock is not None:
            keep.add(sock.fileno())
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass  # (the listing's own fd, closed already)


def _receive_context(ctx, ch):
    """Wait for the parent's context (process/context.py); False if it gave up first."""
    from pyrunc.process import context
    got = ch.recv_context()
    if got is None:
        return False
    context.unpack(ctx, *got)
    # --preserve-fds hands 3 .. 3+N-1 to the container: none of them may be ours (the
    # parent checked they are the caller's, util.CALLER_FDS; this is the guarantee)
    top = 3 + (ctx.preserve_fds or 0)
    for fd in [ctx.sync_fd] + got[1]:
        if 3 <= fd < top:
            raise PyruncError("--preserve-fds %d: fd %d is the runtime's own, not the "
                              "caller's" % (ctx.preserve_fds, fd))
    return True


def child_main(ctx):
    """Entry point of the forked child; never returns."""
    ch = Channel(ctx.sync_fd)
    report_failures(ch, lambda: _child(ctx, ch), 'container init', 1)


def _namespaces(config):
    return (config.get("linux") or {}).get("namespaces") or ()


def _child(ctx, ch):
    libc.prctl(C.PR_SET_DUMPABLE, 0)  # not ptrace-able/openable via /proc by the container
    from pyrunc import log
    log.set_sink(lambda level, msg: ch.send("log", level=level, msg=msg))
    mark("init:child")
    _preload()
    mark("init:preloaded")
    if not _receive_context(ctx, ch):
        os._exit(1)  # create failed (or was killed) before handing over: nothing to undo
    mark("init:context")
    _close_strays(ctx)
    config = ctx.config
    _preload_for(config)
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
    rest = new_flags
    if new_flags & C.CLONE_NEWUSER:
        # as runc: the user namespace alone first, mapped, and uid 0 in it before the other
        # namespaces are made, so what they create (the new ipc namespace's mqueue root) is
        # owned by the container's root, not by an unmapped host uid
        try:
            libc.unshare(C.CLONE_NEWUSER)
        except OSError as e:
            raise PyruncError("linux.namespaces: unshare: %s%s" % (
                e.strerror, _explain_unshare(ctx.config))) from None
        unpriv = os.geteuid() != 0
        if unpriv:
            # an unprivileged parent can write our id maps only while /proc/<us> is ours,
            # i.e. while we are dumpable: just for this step (runc does the same)
            libc.prctl(C.PR_SET_DUMPABLE, 1)
        ch.send("userns")
        ch.expect("mapped")
        if unpriv:
            libc.prctl(C.PR_SET_DUMPABLE, 0)
        try:
            libc.setresuid(0, 0, 0)
        except OSError as e:
            raise PyruncError("linux.uidMappings: cannot become root in the user namespace "
                              "(uid 0 must be mapped): %s" % e.strerror) from None
        rest &= ~C.CLONE_NEWUSER
    if rest:
        try:
            libc.unshare(rest)
        except OSError as e:
            raise PyruncError("linux.namespaces: unshare: %s%s" % (
                e.strerror, _explain_unshare(ctx.config))) from None
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
    killpoint("init:namespaces-made")
    if needs_fork:
        pid = os.fork()
        if pid:
            killpoint("init:forked")
            ch.send("pid", pid=pid)
            os._exit(0)
    else:
        ch.send("pid", pid=os.getpid())
    # on with the rootfs while the parent records our pid: should it die first, the EOF of
    # its "cgroups" (which comes once the pid is on record, see _cgroups_made) ends us
    # before we join anything or exec; until then, all we made is inside our namespaces
    ctx.cgroup_paths = None
    ctx.wait_cgroups = lambda: _cgroups_made(ctx, ch)
    _init(ctx, ch, new_flags)


def _cgroups_made(ctx, ch):
    """The container's cgroups {key: host dir}, once the parent says they exist and our pid
    is on record (its "cgroups" message: it makes them while we set up). Read where first
    needed (the cgroup mount), and at the latest before we next ask the parent anything,
    whose answer comes after it."""
    if ctx.cgroup_paths is None:
        ctx.cgroup_paths = ch.expect("cgroups").get("cgroup_paths") or {}
        killpoint("init:cgroups-received")
    return ctx.cgroup_paths


def _init(ctx, ch, new_flags):
    config = ctx.config
    proc = config.get("process") or {}
    linux = config.get("linux") or {}
    os.setsid()
    if not ctx.no_new_keyring:
        from pyrunc.linux import keyring
        keyring.join_session_keyring("_ses." + ctx.cid)
    # the host's /proc is still mounted here and names us by our host pid (hooks need it)
    ctx.host_pid = int(os.readlink("/proc/self"))
    hooks = config.get("hooks") or {}
    if hooks.get("createContainer") or hooks.get("startContainer"):
        from pyrunc import hooks as hookmod  # noqa: F401  (imported before pivot_root)
    if ctx.new_cgroupns:
        # the cgroup namespace's root is the cgroup we are in when unsharing it
        ctx.wait_cgroups()
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

    # compile the seccomp filter (and dlopen libseccomp) while the host's files are visible
    sc = linux.get("seccomp")
    filt = ctx.seccomp  # compiled already when it could come from the cache
    if sc and filt is None:
        from pyrunc import seccomp
        filt = seccomp.compile_filter(sc, ctx)

    from pyrunc.rootfs import setup
    rootfd = setup.prepare(config, ctx.rootfs, ctx.bundle, ctx)
    os.close(rootfd)
    killpoint("init:rootfs-prepared")
    # nothing leaves our namespaces (a hook, the pty master) before our pid is on record
    ctx.wait_cgroups()
    if hooks.get("prestart") or hooks.get("createRuntime") or linux.get("netDevices"):
        # the parent moves netDevices in and runs these hooks, in the runtime's namespaces
        ch.send("runtime-hooks")
        ch.expect("ok")
    if hooks.get("createContainer"):
        # in the container's namespaces, after its mounts, before pivot_root
        _hooks(ctx, "createContainer", "creating")
    mark("init:rootfs-entering")
    import sys
    sys.meta_path.insert(0, NoImports)  # from here on the files are the container's
    setup.enter(ctx.rootfs, ctx.no_pivot)
    mark("init:rootfs-entered")
    if ctx.console_sock is not None:
        _setup_terminal(ctx, proc)
    # runc's order: sysctls before readonlyPaths (/proc/sys is one) and maskedPaths
    _sysctl(linux.get("sysctl"))
    setup.finalize(config)

    # runc (finalizeRootfs) gives the init 0022 unless process.user.umask says otherwise;
    # never the caller's umask (exec, unlike this, keeps the caller's, as runc exec does)
    os.umask(0o022)
    fin = finalize.Finalizer(proc, linux, filt, ctx.preserve_fds)
    fin.resolve()
    mark("init:resolved")
    ch.send("ready")
    ch.expect("ok")  # the parent has put us in our cgroup and run the runtime hooks
    killpoint("init:ready-acked")

    fin.apply()
    ch.send("done")
    ch.close()
    killpoint("init:done-sent")
    _wait_start_and_exec(ctx, fin)


def _setup_terminal(ctx, proc):
    """pty from the container's devpts; master to the client; slave as /dev/console + 0-2."""
    from pyrunc import console
    master, slave, slave_path = console.open_pty(proc.get("consoleSize"))
    console.send_master(ctx.console_sock, master)
    os.close(master)
    ctx.console_sock.close()
    ctx.console_sock = None
    console.mount_console(slave_path, slave)
    console.become_controlling(slave)


def _hooks(ctx, kind, status):
    from pyrunc import hooks
    c = ctx.config
    # runtime.md: for hooks run in the container namespace, the pid as the container sees it
    hooks.run_all(c, kind, hooks.state_json(ctx.cid, status, os.getpid(),
                                            ctx.bundle, c.get("annotations")))


def _explain_unshare(config):
    """Why the kernel may have refused our namespaces (the probes `pyrunc check` runs)."""
    from pyrunc import hostcheck
    found = hostcheck.probe_user_namespace(config, "") + \
        hostcheck.probe_time_namespace(config, "")
    return "".join(" (%s: %s)" % (f[1], f[2]) for f in found if f[0] == hostcheck.ERROR)


def _joined(config, typ):
    return any(ns["type"] == typ and ns.get("path") for ns in _namespaces(config))


def _sysctl_path(key):
    """The file under /proc/sys for a sysctl key: '.' separates, and a '/' that comes before
    any '.' means the '/' form (net/ipv4/conf/eth0.100/forwarding), as in sysctl(8)."""
    for ch in key:
        if ch == "/":
            return key
        if ch == ".":
            break
    return key.translate({ord("."): "/", ord("/"): "."})


def _sysctl(sysctl):
    if not sysctl:
        return
    from pyrunc.rootfs import paths
    # CVE-2025-52881: resolve every sysctl file from the container's /proc, checked to be a
    # procfs root, without following any symlink, crossing any mount or leaving /proc/sys:
    # a write meant for /proc/sys must not be redirected to a file an image or volume made,
    # nor to another procfs file (/proc/sysrq-trigger, /proc/self/attr/...)
    paths.require_procfs("linux.sysctl")
    how = C.RESOLVE_BENEATH | C.RESOLVE_NO_SYMLINKS | C.RESOLVE_NO_MAGICLINKS | \
        C.RESOLVE_NO_XDEV
    procfd = os.open("/proc", C.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        sysfd = libc.openat2(procfd, "sys", C.O_PATH | os.O_DIRECTORY, how)
    except OSError as e:
        raise PyruncError("linux.sysctl: /proc/sys: %s" % e.strerror) from None
    finally:
        os.close(procfd)
    try:
        _write_sysctls(sysfd, sysctl, how)
    finally:
        os.close(sysfd)


def _write_sysctls(sysfd, sysctl, how):
    for key, value in sysctl.items():
        path = "/proc/sys/" + _sysctl_path(key)
        try:
            fd = libc.openat2(sysfd, _sysctl_path(key), os.O_WRONLY, how)
        except FileNotFoundError:
            raise PyruncError("linux.sysctl[%s]: this kernel has no such sysctl" % key) \
                from None
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


def _shed_code_pages():
    """Give back the resident pages of the code we were running, before waiting for start.

    The init waits as a fork of the whole runtime: the interpreter's and the libraries' code
    it touched (libpython alone ~4 MiB) counts in its RSS for as long as the container is
    only created. Executable file mappings that hold no private copy (smaps' Anonymous: 0,
    i.e. never written, so nothing can be lost) are dropped from our page tables
    (MADV_DONTNEED); the pages stay in the page cache, and the few that ``start`` needs are
    mapped back by the next faults (fault-around maps 16 at a time). Best effort: without a
    procfs /proc in the container, nothing is shed."""
    from pyrunc.rootfs import paths
    try:
        paths.require_procfs("shedding")
        with open("/proc/self/smaps", "rb") as f:
            text = f.read()
    except (OSError, PyruncError):
        return
    from pyrunc.linux._libc_ffi import ffi
    cur = None
    for line in text.splitlines():
        if line[:1] in b"0123456789abcdef" and b"-" in line[:20]:
            parts = line.split()
            cur = None
            if len(parts) >= 6 and parts[1] == b"r-xp" and parts[5].startswith(b"/"):
                lo, hi = parts[0].split(b"-")
                cur = (int(lo, 16), int(hi, 16))
        elif cur is not None and line.startswith(b"Anonymous:"):
            if line.split()[1] == b"0":
                libc.lib.madvise(ffi.cast("void *", cur[0]), cur[1] - cur[0], 4)  # DONTNEED
            cur = None


# How long a `start` that follows at once (`run`, a client that starts right after create)
# may take to connect before the waiting init sheds its code pages (_shed_code_pages):
# shedding then would only make the exec fault them back in.
START_SOON = 0.003


def _wait_start_and_exec(ctx, fin):
    sock = ctx.start_sock
    import _socket  # (imported already: _preload)
    sock.settimeout(START_SOON)
    try:
        conn, _ = sock._accept()
    except _socket.timeout:  # (TimeoutError from 3.10 on; its own OSError before)
        conn = None
    except OSError:
        os._exit(1)
    sock.settimeout(None)
    if conn is None:
        _shed_code_pages()  # a wait for `start` that may be long: be small meanwhile
    while True:
        if conn is None:
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
        conn = None
    # from here on, failures are reported to `start` over its connection
    try:
        os.set_inheritable(conn, False)
        try:
            os.unlink(START_SOCK, dir_fd=ctx.state_dir_fd)
        except OSError:
            pass  # not ours to remove as a non-root user: `start` removes it
        if (ctx.config.get("hooks") or {}).get("startContainer"):
            _hooks(ctx, "startContainer", "created")
        fin.exec()
    except OSError as e:
        msg = "exec %s: %s" % (fin.args[0], e.strerror)
    except PyruncError as e:
        msg = str(e)
    except BaseException as e:
        msg = "container init failed before exec: %s: %s" % (type(e).__name__, e)
    try:
        os.write(conn, msg.encode())
    except OSError:
        pass
    os._exit(127)
