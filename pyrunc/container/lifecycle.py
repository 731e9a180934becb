"""The container lifecycle (runtime-spec runtime.md): create, start, state, kill, delete.

One implementation for the CLI and the Python API: these functions take plain arguments,
return plain values and raise ``pyrunc.errors`` exceptions.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
from pyrunc import errors, util
from pyrunc.container.state import START_SOCK, ContainerState, check_id, list_ids
from pyrunc.testing import killpoint, mark


class CreateOptions:
    def __init__(self, bundle=".", pid_file=None, console_socket=None, no_pivot=False,
                 no_new_keyring=False, preserve_fds=0, systemd_cgroup=False,
                 tty_relay=False, extra_env=(), rootless=False):
        self.bundle = bundle
        self.rootless = rootless
        self.extra_env = list(extra_env)
        self.pid_file = pid_file
        self.console_socket = console_socket
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        self.preserve_fds = preserve_fds
        self.systemd_cgroup = systemd_cgroup
        # foreground run without --console-socket: pyrunc receives the pty master itself
        self.tty_relay = tty_relay
        self.master_fd = -1


def _mkdir_state(root, cid):
    d = os.path.join(root, cid)
    try:
        try:
            os.mkdir(root, 0o700)
        except FileExistsError:
            pass
        except FileNotFoundError:  # (makedirs is the real os's: imported only when needed)
            os.makedirs(root, 0o700, exist_ok=True)
        os.mkdir(d, 0o700)
    except FileExistsError:
        raise errors.ContainerExists(cid) from None
    except OSError as e:  # e.g. ENOSPC on a full --root: one line, not a traceback
        raise errors.PyruncError("creating state directory %s: %s" % (d, e.strerror)) \
            from None
    return d


def check_preserved_fds(n):
    """--preserve-fds N hands fds 3..N+2 of the caller to the container: each must really be
    the caller's, open when pyrunc started (util.CALLER_FDS, taken by the CLI before it opens
    anything). A gap would be filled by one of our descriptors (the state directory, the
    start socket...) and leak it into the container, a way out of it (CVE-2024-21626); runc
    refuses the same way."""
    caller = util.CALLER_FDS  # (None: not through the CLI, e.g. the Python API)
    for i in range(n or 0):
        try:
            os.fstat(3 + i)
        except OSError as e:
            raise errors.PyruncError("--preserve-fds %d: fd %d is not open (%s)" % (
                n, 3 + i, e.strerror)) from None
        if caller is not None and 3 + i not in caller:
            # open now, but by us (the CLI forks the init and starts the cgroup thread
            # before this check can run): the caller left that slot empty
            raise errors.PyruncError("--preserve-fds %d: fd %d is not open (Bad file "
                                     "descriptor)" % (n, 3 + i))


def create(root, cid, opts):
    """Create container ``cid`` from the bundle; returns its init's host pid."""
    check_id(cid)
    check_preserved_fds(opts.preserve_fds)
    # the kernel's cgroup migration lock needs a grace period to warm up: let it pass in the
    # background while we validate and fork (cgroups/warm.py); the thread makes the cgroups
    from pyrunc.cgroups import warm
    warmer = warm.start(jobs=True)
    try:
        return _create(root, cid, opts, warmer)
    finally:
        warmer.stop()


def _create(root, cid, opts, warmer):
    # the init first: it imports its half of pyrunc while we load the bundle, then waits for
    # the context (begin); every failure until then ends it with the channel (abort)
    from pyrunc.process import parent
    proc = parent.InitProcess.adopt()
    try:
        return _create_with(root, cid, opts, warmer, proc)
    except BaseException:
        proc.abort()
        raise


def _create_with(root, cid, opts, warmer, proc):
    bundle = os.path.abspath(opts.bundle)
    from pyrunc.spec.load import load_bundle
    config, rootfs = load_bundle(bundle)
    mark("create:loaded")
    if not any(ns.get("type") == "mount" for ns in
               (config.get("linux") or {}).get("namespaces") or ()):
        # the rootfs mounts, pivot_root and the old root's unmount would all act on the
        # caller's own mount namespace: every process on the host would find itself in the
        # container's rootfs (found while building the config fuzzer). runc chroots instead
        # and leaves its mounts on the host; neither is acceptable, so refuse
        raise errors.PyruncError("linux.namespaces: a mount namespace is required (pyrunc "
                                 "sets up the rootfs in the container's own mount namespace)")
    if opts.no_pivot and (config.get("linux") or {}).get("rootfsPropagation") in (
            "private", "rprivate"):
        # runc refuses it: without pivot_root the host's mounts stay under the container's
        # root, and private propagation would keep them pinned there after the host unmounts
        raise errors.PyruncError("linux.rootfsPropagation: [r]private is not safe without "
                                 "pivot_root (--no-pivot)")
    if opts.extra_env and config.get("process"):
        config["process"]["env"] = list(config["process"].get("env") or []) + opts.extra_env
    from pyrunc import hostcheck
    for probe in (hostcheck.probe_process, hostcheck.probe_lsm):
        for level, field, msg in probe(config, bundle):
            if level == hostcheck.ERROR:
                raise errors.ConfigError("%s: %s" % (field, msg))
    if (config.get("linux") or {}).get("netDevices"):
        from pyrunc import netdev
        netdev.check(config)
    terminal = bool((config.get("process") or {}).get("terminal"))
    if terminal and not opts.console_socket and not opts.tty_relay:
        raise errors.PyruncError("process.terminal: cannot allocate a tty if pyrunc will "
                                 "detach without setting --console-socket")
    if not terminal and opts.console_socket:
        raise errors.PyruncError("--console-socket given but process.terminal is false")
    seccomp_filter = _cached_seccomp(root, config)
    mark("create:checked")
    statedir = _mkdir_state(root, cid)
    killpoint("create:state-dir-made")
    st = ContainerState(root, cid)
    st.lock(reload=False)
    if os.listdir(st._lockfd):
        # not the directory we made: a concurrent delete removed ours before we locked it and
        # another create of this id made this one (ours is empty until we write into it)
        st.unlock()
        raise errors.ContainerExists(cid)
    cg = None
    made = []
    init_pid = 0
    cg_job = None
    csock = relay_end = None
    try:
        if terminal:
            from pyrunc import console
            if opts.console_socket:
                csock = console.connect_socket(opts.console_socket)
            else:
                import _socket
                relay_end, csock = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
        from pyrunc import cgroups
        from pyrunc.process.context import InitContext
        linux = config.get("linux") or {}
        _check_cgroup_path(linux.get("cgroupsPath", ""))
        cg = cgroups.Manager.for_container(linux.get("cgroupsPath", ""), cid,
                                           systemd=opts.systemd_cgroup)
        from pyrunc.rootfs import idmap
        idmap_fds = idmap.prepare(config, bundle) if any(
            idmap.wants_idmap(m) for m in config.get("mounts") or ()) else {}
        dirfd = os.open(statedir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        sock = None
        try:
            sock = _listen(dirfd)
            killpoint("create:listening")
            nss = {ns["type"]: ns for ns in linux.get("namespaces") or ()}
            ctx = InitContext(
                cid=cid, config=config, bundle=bundle, rootfs=rootfs, no_pivot=opts.no_pivot,
                no_new_keyring=opts.no_new_keyring, idmap_fds=idmap_fds,
                preserve_fds=opts.preserve_fds, start_sock=sock, state_dir_fd=dirfd,
                cgroup_mounts=cgroups.mounted_hierarchies(), rootless=opts.rootless,
                new_cgroupns="cgroup" in nss and not nss["cgroup"].get("path"),
                in_userns="user" in nss, console_sock=csock, seccomp=seccomp_filter)
            proc.begin(ctx)
        finally:
            # the child has received its copies: ours would only keep the start socket
            # listening after a failed create
            if sock is not None:
                sock.close()
            os.close(dirfd)
            if csock is not None:
                csock.close()
            for fd in idmap_fds.values():
                os.close(fd)

        # recorded before anything is made outside the init (which ends with the channel,
        # should we die): a creator killed at any later step leaves a "stopped" container
        # (the creator is gone) whose delete finds what to remove
        me = util.proc_stat(os.getpid())
        st.data = {"ociVersion": "1.2.0", "id": cid, "pid": 0, "bundle": bundle,
                   "rootfs": rootfs, "created": util.rfc3339_now(), "owner": "",
                   "cgroup_paths": cg.paths, "creating": [os.getpid(), me[1] if me else 0]}
        st.save()
        killpoint("create:state-saved")
        # rootless: only the hierarchies delegated to the user are used, as runc does
        cg.tolerant = opts.rootless
        if opts.rootless:
            # v1 device rules need CAP_SYS_ADMIN in the host's namespace, which a rootless
            # user never has; its user namespace already forbids mknod (runc skips them too)
            cg.paths.pop("devices", None)
        # the cgroups are made by the warming thread, after its first write has waited out
        # the grace period (see cgroups/warm.py), while the init makes its namespaces; their
        # resources are written once the init's pid is recorded (drive's ``meanwhile``)
        cg_job = warmer.submit(lambda: _make_cgroups(cg, linux, made))

        def made_cgroups():
            """Wait for the warming thread to make the cgroups; their manager, or None when
            there is no cgroup to join (rootless, nothing delegated)."""
            nonlocal cg
            if cg is not None and not cg_job.result():
                cg = None
            return cg

        def record_pid(pid):
            """The init's pid is known: record it, the cgroups and the config. Their paths
            are known before the cgroups are made, unless a rootless create drops the
            hierarchies it may not write (then we wait for it)."""
            if opts.rootless:
                made_cgroups()
            stat = util.proc_stat(pid)
            st.data = {
                "ociVersion": "1.2.0",
                "id": cid,
                "pid": pid,
                "pid_start": stat[1] if stat else 0,
                "bundle": bundle,
                "rootfs": rootfs,
                "created": util.rfc3339_now(),
                "owner": "",
                "annotations": config.get("annotations") or {},
                "cgroup_paths": cg.paths if cg is not None else {},
                "freezer": cg.freezer_file() if cg is not None else None,
                "rootless": opts.rootless,
                "systemd_cgroup": opts.systemd_cgroup,
                # while set, a creator that died mid-way leaves a "stopped" container that
                # delete can still clean up (cgroups and the init's pid)
                "creating": [os.getpid(), me[1] if me else 0],
                "config": config,
            }
            st.save()
            killpoint("create:config-saved")
            killpoint("create:pid-saved")

        def runtime_hooks(pid):
            if linux.get("netDevices"):
                from pyrunc import netdev
                netdev.move_in(config, pid)
            # prestart (deprecated) and createRuntime: runtime namespaces, before pivot_root
            if config.get("hooks"):
                from pyrunc import hooks
                state = hooks.state_json(cid, "creating", pid, bundle, config.get("annotations"))
                killpoint("create:hooks-before")
                hooks.run_all(config, "prestart", state)
                hooks.run_all(config, "createRuntime", state)
                killpoint("create:hooks-after")
        init_pid = proc.drive(
            on_pid=record_pid, cgroups=made_cgroups, on_hooks=runtime_hooks,
            meanwhile=lambda: cg is not None and _write_resources(cg, linux, opts.rootless))
        killpoint("create:spawned")
        if relay_end is not None:
            opts.master_fd = console.recv_master(relay_end)
            relay_end.close()
        del st.data["creating"]
        # the cgroups exist now (drive waited for them): on v2 the freezer file is known only
        # once they do, and record_pid may have run before (it does not wait for them)
        st.data["freezer"] = cg.freezer_file() if cg is not None else None
        st.data["cgroup_paths"] = cg.paths if cg is not None else {}
        st.save()
        killpoint("create:creating-cleared")
        if opts.pid_file:
            util.write_atomic(os.path.abspath(opts.pid_file), str(init_pid), 0o644)
            killpoint("create:pid-file-written")
        return init_pid
    except BaseException:
        proc.abort()
        if init_pid:
            _kill_quiet(init_pid, 9)
        if cg_job is not None:
            try:
                cg_job.result()  # not to undo the cgroups while they are being made
            except BaseException:
                pass
        if cg is not None:
            _cleanup_cgroups(cg)
            for d in reversed(made):  # parents this create made, e.g. /libpod_parent
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        _rmtree(statedir)
        raise
    finally:
        st.unlock()


def _cached_seccomp(root, config):
    """linux.seccomp compiled, from the cache when it can be shared (seccomp/cache.py); None
    when there is none, or when only the process itself can compile it (NOTIFY rules)."""
    sc = (config.get("linux") or {}).get("seccomp")
    if not sc:
        return None
    from pyrunc.seccomp import cache
    return cache.compiled(root, sc) if cache.cacheable(sc) else None


def _make_cgroups(cg, linux, made):
    """mkdir the container's cgroups, appending each directory made to ``made`` (for undo);
    False when no hierarchy is writable (rootless, nothing delegated)."""
    made.extend(cg.create())
    killpoint("create:cgroups-made")
    if not cg.paths:
        # nothing delegated: run without a cgroup, with a warning if it mattered
        from pyrunc import log
        if linux.get("resources"):
            log.warning("linux.resources ignored: no writable cgroup for this rootless "
                        "container (delegate one, e.g. via systemd)")
        return False
    return True


def _write_resources(cg, linux, rootless):
    """linux.resources into the cgroups _make_cgroups made (before the init joins them)."""
    resources = linux.get("resources") or {}
    if rootless:
        resources = {k: v for k, v in resources.items() if k != "devices"}
    cg.apply_resources(resources)
    killpoint("create:resources-applied")


def _check_cgroup_path(path):
    """A container needs a cgroup of its own: delete and kill --all signal every process in
    it, so a path naming a hierarchy's root ("/") or the runtime's own cgroup (".") would
    take the whole host down with the container."""
    if not path:
        return
    norm = os.path.normpath(path if path.startswith("/") else "/" + path)
    if norm == "/" or (not path.startswith("/") and os.path.normpath(path) == "."):
        raise errors.ConfigError("config.json: linux.cgroupsPath: %r names an existing shared "
                                 "cgroup (the root or pyrunc's own); a container needs a "
                                 "cgroup of its own" % path)


def _listen(dirfd):
    """The start socket, bound via /proc/self/fd so long state paths fit in sun_path."""
    import _socket
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    s.bind("/proc/self/fd/%d/%s" % (dirfd, START_SOCK))
    s.listen(4)
    return s


def _connect(statedir):
    import _socket
    dirfd = os.open(statedir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.connect("/proc/self/fd/%d/%s" % (dirfd, START_SOCK))
    except OSError:
        s.close()
        raise
    finally:
        os.close(dirfd)
    return s


def start(root, cid):
    st = ContainerState.load(root, cid)
    with st:
        status = st.status()
        if status == "stopped":
            raise errors.ContainerStopped(cid)
        if status == "paused":
            raise errors.PyruncError("cannot start a container in the paused state")
        if status != "created":
            raise errors.PyruncError("cannot start an already %s container" % status)
        killpoint("start:checked")
        try:
            s = _connect(st.dir)
        except OSError as e:
            raise errors.PyruncError("cannot start container: %s" % e.strerror) from None
        try:
            killpoint("start:connected")
            s.sendall(b"\0")
            killpoint("start:go-sent")
            reply = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except (ConnectionResetError, BrokenPipeError):
            # the init died (a concurrent kill or delete) before it read our go: it has
            # stopped without running anything
            raise errors.ContainerStopped(cid) from None
        finally:
            s.close()
        killpoint("start:replied")
        try:
            os.unlink(os.path.join(st.dir, START_SOCK))
        except FileNotFoundError:
            pass
        killpoint("start:sock-removed")
        if reply:
            raise errors.PyruncError("unable to start container process: %s" %
                                     reply.decode(errors="replace"))
        config = st.data.get("config") or {}
        if (config.get("hooks") or {}).get("poststart"):
            from pyrunc import hooks
            hooks.run_all_warn(config, "poststart", hooks.state_json(
                cid, "running", st.pid, st.data.get("bundle"), config.get("annotations")))
            killpoint("start:poststart-done")


def state(root, cid):
    return ContainerState.load(root, cid).oci_state()


def list_states(root):
    out = []
    for cid in list_ids(root):
        try:
            out.append(ContainerState.load(root, cid).oci_state())
        except errors.ContainerNotExist:
            pass
    return out


def _pidfd_signal(pid, start_time, sig):
    """Signal ``pid`` only if it is still the process we recorded (pid reuse safe)."""
    import _signal  # the C module: pidfd_send_signal without signal.py (which imports enum)
    if not pid or pid < 0:
        raise errors.ContainerNotRunning()
    try:
        pfd = os.pidfd_open(pid)
    except OSError as e:
        if e.errno == 3:
            raise errors.ContainerNotRunning() from None
        raise
    try:
        if not util.pid_alive(pid, start_time):
            raise errors.ContainerNotRunning()
        _signal.pidfd_send_signal(pfd, sig)
    except OSError as e:
        if e.errno == 3:
            raise errors.ContainerNotRunning() from None
        raise
    finally:
        os.close(pfd)


def kill(root, cid, sig, all_procs=False):
    st = ContainerState.load(root, cid)
    status = st.status()
    # "creating": not a container yet (runc has no state.json then), and its init may not
    # even be recorded; signalling it would only make the create fail
    if status in ("stopped", "creating") and not all_procs:
        raise errors.ContainerNotRunning(cid)
    if all_procs:
        cg = _manager(st)
        pids = cg.pids() if cg else []
        if not pids and status in ("stopped", "creating"):
            raise errors.ContainerNotRunning(cid)
        for pid in pids:
            _kill_quiet(pid, sig)
        if status == "paused" and cg is not None:
            cg.freeze(False)  # a frozen process can't act on the signal
        return
    _pidfd_signal(st.pid, st.data.get("pid_start"), sig)


def delete(root, cid, force=False):
    try:
        st = ContainerState.load(root, cid)
    except errors.ContainerNotExist:
        if force:
            return
        raise
    try:
        st.lock()
    except errors.ContainerNotExist:
        if force:
            return
        raise
    try:
        status = st.status()
        if status in ("running", "paused") and not force:
            raise errors.PyruncError("cannot delete container %s that is not stopped: %s"
                                     % (cid, status))
        killpoint("delete:locked")
        destroy(st)
    finally:
        st.unlock()


def destroy(st):
    """Kill whatever is left of the container and remove everything create made."""
    cg = _manager(st)
    config = st.data.get("config") or {}
    if st.init_alive():
        if (config.get("linux") or {}).get("netDevices"):
            from pyrunc import netdev
            netdev.move_out(config, st.pid)
        _kill_quiet(st.pid, 9)
        killpoint("delete:init-killed")
    if cg is not None:
        _cleanup_cgroups(cg)
        killpoint("delete:cgroups-removed")
    _wait_gone(st)
    killpoint("delete:init-gone")
    _rmtree(st.dir)
    killpoint("delete:dir-removed")
    if (config.get("hooks") or {}).get("poststop"):
        from pyrunc import hooks
        hooks.run_all_warn(config, "poststop", hooks.state_json(
            st.id, "stopped", 0, st.data.get("bundle"), config.get("annotations")))
        killpoint("delete:poststop-done")


def _wait_gone(st, timeout=5.0):
    import time
    deadline = time.monotonic() + timeout
    delay = 0.0001  # a SIGKILLed process is usually gone within a millisecond: poll fast first
    while st.init_alive() and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 2, 0.002)


def _manager(st):
    paths = st.data.get("cgroup_paths")
    if not paths:
        return None
    from pyrunc.cgroups import Manager
    return Manager(paths)


def _cleanup_cgroups(cg):
    """SIGKILL every process in the cgroup (thawing it first), then remove it."""
    import time
    try:
        cg.freeze(False)
    except (OSError, errors.PyruncError):
        pass
    deadline = time.monotonic() + 1.0
    delay = 0.0001  # (see _wait_gone)
    while True:
        pids = cg.pids()
        if not pids or time.monotonic() > deadline:
            break
        for pid in pids:
            _kill_quiet(pid, 9)
        time.sleep(delay)
        delay = min(delay * 2, 0.002)
    killpoint("cleanup:cgroup-emptied")
    cg.destroy()


def _kill_quiet(pid, sig):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _rmtree(path):
    try:
        for name in os.listdir(path):
            try:
                os.unlink(os.path.join(path, name))
            except IsADirectoryError:
                _rmtree(os.path.join(path, name))
        killpoint("rmtree:files-removed")
        os.rmdir(path)
    except FileNotFoundError:
        pass


class ExecOptions:
    def __init__(self, detach=False, pid_file=None, console_socket=None, preserve_fds=0,
                 tty_relay=False, prefetch=()):
        self.detach = detach
        # modules the caller will import once the process runs (the CLI's foreground wait):
        # imported while the forked child joins the container and we would only wait
        self.prefetch = tuple(prefetch)
        self.pid_file = pid_file
        self.console_socket = console_socket
        self.preserve_fds = preserve_fds
        self.tty_relay = tty_relay
        self.master_fd = -1


def exec_process(root, cid, proc, opts):
    """Start ``proc`` (a runtime-spec process object) in running container ``cid``; returns
    its host pid. The caller waits for it unless detached (it is a child of our caller)."""
    check_preserved_fds(opts.preserve_fds)
    st = ContainerState.load(root, cid)
    # held until the process has exec'd: a pause meanwhile would freeze it as it joins the
    # container's cgroup, before its execve, and leave this command waiting (found by
    # tests/reliability/test_concurrency.py); a delete waits for it likewise
    st.lock(shared=True)
    try:
        return _exec_locked(root, cid, st, proc, opts)
    finally:
        st.unlock()


def _exec_locked(root, cid, st, proc, opts):
    status = st.status()
    if status != "running":
        raise errors.PyruncError("cannot exec in a %s container" % status)
    config = st.data.get("config") or {}
    seccomp_filter = _cached_seccomp(root, config)
    if proc.get("terminal") and not opts.console_socket and not opts.tty_relay:
        raise errors.PyruncError("cannot allocate a tty if pyrunc will detach without "
                                 "setting --console-socket")
    csock = relay_end = None
    if proc.get("terminal"):
        from pyrunc import console
        if opts.console_socket:
            csock = console.connect_socket(opts.console_socket)
        else:
            import _socket
            relay_end, csock = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    from pyrunc.cgroups import warm  # (see create)
    warmer = warm.start() if st.data.get("cgroup_paths") else warm.discard_early()
    from pyrunc.process import exec_init, exec_parent
    ctx = exec_init.ExecContext(proc=proc, config=config, init_pid=st.pid, cid=cid,
                                bundle=st.data.get("bundle", ""),
                                preserve_fds=opts.preserve_fds, console_sock=csock,
                                seccomp=seccomp_filter, lock_fd=st._lockfd)
    try:
        pid = exec_parent.spawn(ctx, _manager(st), prefetch=opts.prefetch)
    finally:
        if warmer is not None:
            warmer.stop()
        if csock is not None:
            csock.close()
    killpoint("exec:spawned")
    if relay_end is not None:
        from pyrunc import console
        opts.master_fd = console.recv_master(relay_end)
        relay_end.close()
    if opts.pid_file:
        util.write_atomic(os.path.abspath(opts.pid_file), str(pid), 0o644)
        killpoint("exec:pid-file-written")
    return pid
