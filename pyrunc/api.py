"""pyrunc's Python API: containers as objects, without a daemon.

    from pyrunc.api import Runtime
    from pyrunc.spec.model import Builder

    rt = Runtime(root="/run/pyrunc")
    cfg = Builder().set_args("sh", "-c", "echo hi; exit 3").set_terminal(False).build()
    r = rt.run(config=cfg, rootfs="/srv/busybox")       # Completed(exit_code=3, stdout=b"hi\n")
    with rt.run_context(bundle="/srv/bundle") as c:     # created + started; always deleted
        print(c.exec(["cat", "/etc/hostname"], text=True).stdout)

One implementation: every operation is ``pyrunc.container.lifecycle`` (and ``control`` for
pause/resume/update/stats/ps), the functions the command line calls; nothing here
re-implements them. Errors are ``pyrunc.errors`` classes (see ``pyrunc.api_errors``).

Where each operation runs (the fork/threads decision)
------------------------------------------------------
``create`` forks the container's init from the calling process, and that child goes on
running Python (namespaces, mounts, pivot_root) for a while before it execs anything; ``exec``
does the same. A library user's process may have threads (pytest plugins, thread pools,
gRPC, ...), and forking a multi-threaded process is unsafe for the child: any lock another
thread held at fork time (the import lock, a logging handler's lock, malloc's, an I/O
buffer's) stays locked forever in the child, which then hangs or corrupts state. Create and
exec also change process-wide things (they make the caller a child subreaper, install signal
handlers, expect to reap their children with ``waitpid(-1)``), which a library must not do to
its host process. So:

* **create and exec run in a worker process**: ``sys.executable -I -S`` with the caller's
  ``sys.path`` running ``pyrunc.api_worker``, which calls the CLI's own ``cmd_create`` /
  ``cmd_exec`` (hence ``lifecycle.create`` / ``exec_process``) in a fresh, single-threaded
  interpreter, and reports the result or the exception (class and message) as one JSON line
  on a pipe, so the API raises the same typed exception in-process. ``subprocess`` starts the
  worker with ``posix_spawn``/``vfork``+exec, which is safe from a threaded process.
* the create worker stays on as the container's **shim**: it is a child subreaper, so the
  init is reparented to it; it waits for it and exits with its status. That is how
  ``Container.wait()`` and ``Runtime.run()`` know the exit code (runc itself cannot tell a
  detached container's status; containerd's shim plays the same role).
* ``Runtime.run`` is create (worker) + start + wait + delete, not ``pyrunc run``: the same
  lifecycle calls, with the worker as the waiting parent.
* **everything that does not fork runs in-process**: ``start`` (a socket connect),
  ``state``, ``list``, ``kill``, ``delete``, ``pause``, ``resume``, ``update``, ``stats``,
  ``processes`` (hooks, when a config has them, run through ``subprocess``, which is safe).

Standard I/O
------------
A container inherits the stdio of the process that created it, and keeps it open as long as
it (or anything it started) lives. The API therefore gives every container and every exec
its own streams: by default stdin is ``/dev/null`` (or a file holding ``input``) and
stdout/stderr are unlinked temporary files the API owns, read with ``pread`` (so the
container's write offset is not disturbed) once the process has exited: reading a *pipe* to
EOF would wait for every process that holds it, e.g. a daemon the container started. Pass
``stdout=``/``stderr=`` a file object, an fd or ``subprocess.DEVNULL`` to send output
elsewhere (``Completed`` then has ``None`` for that stream).

Containers created from a ``config`` (a ``pyrunc.spec.model.Config`` or a dict) instead of a
bundle get a temporary bundle directory (config.json, with ``root.path`` set to the absolute
``rootfs``) that is removed with the container.
"""

import os

from pyrunc import api_errors, errors

__all__ = ["Runtime", "Container", "Completed", "CAPTURE", "DEFAULT_ROOT"]

DEFAULT_ROOT = "/run/pyrunc"
CAPTURE = "capture"          # stdout/stderr default: an API-owned temporary file


class Completed:
    """The outcome of a process: ``exit_code`` (128+N if killed by signal N; None if not
    known), ``stdout`` and ``stderr`` (bytes, str with ``text=True``, None if not captured)."""

    __slots__ = ("args", "exit_code", "stdout", "stderr")

    def __init__(self, exit_code, stdout=None, stderr=None, args=None):
        self.args = args
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr

    @property
    def ok(self):
        return self.exit_code == 0

    def check(self, container_id=None):
        """Raise ProcessFailed unless the exit code is 0; returns self."""
        if self.exit_code != 0:
            raise api_errors.ProcessFailed(self, self.args, container_id)
        return self

    def __repr__(self):
        return "Completed(exit_code=%r, stdout=%r, stderr=%r)" % (
            self.exit_code, self.stdout, self.stderr)


# -- streams -------------------------------------------------------------------------------------

class _Streams:
    """stdin/stdout/stderr for a child: what to pass to Popen, and the captured output."""

    def __init__(self, stdin=None, input=None, stdout=CAPTURE, stderr=CAPTURE):
        import subprocess
        import tempfile
        self._files = []
        self.stdin = subprocess.DEVNULL
        if input is not None:
            if stdin is not None:
                raise ValueError("stdin and input are mutually exclusive")
            f = tempfile.TemporaryFile()
            self._files.append(f)
            f.write(input.encode() if isinstance(input, str) else bytes(input))
            f.flush()
            f.seek(0)
            self.stdin = f.fileno()
        elif stdin is not None:
            self.stdin = stdin
        self.stdout, self._out = self._output(stdout, tempfile)
        self.stderr, self._err = self._output(stderr, tempfile)

    def _output(self, spec, tempfile):
        if spec == CAPTURE or spec is None:
            f = tempfile.TemporaryFile()
            self._files.append(f)
            return f.fileno(), f.fileno()
        return spec, -1

    @staticmethod
    def _read(fd, text):
        if fd < 0:
            return None
        chunks, off = [], 0
        while True:
            b = os.pread(fd, 1 << 20, off)
            if not b:
                break
            chunks.append(b)
            off += len(b)
        data = b"".join(chunks)
        return data.decode("utf-8", "replace") if text else data

    def completed(self, exit_code, text=False, args=None):
        try:
            return Completed(exit_code, self._read(self._out, text),
                             self._read(self._err, text), args)
        except (OSError, ValueError):  # closed already
            return Completed(exit_code, None, None, args)

    def close(self):
        for f in self._files:
            f.close()
        self._files = []
        self._out = self._err = -1


# -- the worker --------------------------------------------------------------------------------

def _python():
    import sys
    return sys.executable or "/usr/bin/python3"


def _worker_paths():
    import sys
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = [pkg_parent]
    for p in sys.path:
        if isinstance(p, str) and p and "\n" not in p:
            p = os.path.abspath(p)
            if p not in paths:
                paths.append(p)
    return "\n".join(paths)


def _worker_env():
    env = dict(os.environ)
    for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET"):
        env.pop(k, None)
    return env


def _spawn_worker(args, streams):
    """(Popen, read end of the report pipe)."""
    import subprocess
    from pyrunc.api_worker import BOOT
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        proc = subprocess.Popen(
            [_python(), "-I", "-S", "-c", BOOT, _worker_paths(), str(w)] + list(args),
            stdin=streams.stdin, stdout=streams.stdout, stderr=streams.stderr,
            pass_fds=(w,), cwd="/", env=_worker_env(), start_new_session=True)
    except BaseException:
        os.close(r)
        raise
    finally:
        os.close(w)
    return proc, r


def _read_report(fd, timeout=None):
    """One JSON line from the report pipe (None if the worker closed it without one). Reads
    up to the newline only: a created container's init holds the pipe until it execs."""
    import select
    import time
    from pyrunc import jsonio
    deadline = None if timeout is None else time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    line = buf.split(b"\n", 1)[0]
    if not line.strip():
        return None
    try:
        return jsonio.loads(line)
    except ValueError:
        return None


def _worker_failure(report, proc, streams, what, cid):
    """The exception for a worker that reported an error, or none at all."""
    if report is not None and report.get("error"):
        return api_errors.rebuild(report, cid)
    try:
        code = proc.wait(5)
    except Exception:
        code = None
    err = streams.completed(None, text=True).stderr if streams is not None else None
    return api_errors.WorkerError("%s: the pyrunc worker exited (%s) without a result%s" % (
        what, code, (": " + err.strip().splitlines()[-1]) if err and err.strip() else ""),
        code, err, cid)


def _new_id():
    return "pyrunc-" + os.urandom(6).hex()


def _tag(e, cid):
    if getattr(e, "container_id", None) is None:
        try:
            e.container_id = cid
        except AttributeError:
            pass
    return e


# -- bundles ------------------------------------------------------------------------------------

def _config_dict(config):
    if hasattr(config, "to_dict"):
        return config.to_dict()
    if isinstance(config, dict):
        import copy
        return copy.deepcopy(config)
    raise TypeError("config must be a pyrunc.spec.model.Config or a dict, not %s"
                    % type(config).__name__)


def _invalid(e, bundle):
    """A ConfigError from load_bundle as InvalidConfig with the field."""
    if isinstance(e, api_errors.InvalidConfig):
        return e
    try:
        from pyrunc import jsonio
        from pyrunc.spec.validate import config_problem
        with open(os.path.join(bundle, "config.json"), "rb") as f:
            d = jsonio.loads(f.read())
        p = config_problem(d) if isinstance(d, dict) else None
        if p is not None:
            return api_errors.InvalidConfig(p[0], p[1])
    except Exception:
        pass
    return api_errors.InvalidConfig.from_message(str(e))


def _check_bundle(bundle):
    """Validate in-process as create will (no fork): InvalidConfig names the field."""
    from pyrunc.spec.load import load_bundle
    try:
        load_bundle(bundle)
    except errors.ConfigError as e:
        raise _invalid(e, bundle) from None


def _write_bundle(workdir, config, rootfs):
    d = _config_dict(config)
    root = d.get("root")
    if rootfs is not None:
        d["root"] = dict(root if isinstance(root, dict) else {}, path=os.path.abspath(rootfs))
    elif not (isinstance(root, dict) and isinstance(root.get("path"), str)
              and os.path.isabs(root["path"])):
        raise api_errors.InvalidConfig(
            "root.path", "must be absolute when the config is not in a bundle (pass rootfs=)")
    from pyrunc.spec.validate import config_problem
    p = config_problem(d)
    if p is not None:
        raise api_errors.InvalidConfig(p[0], p[1])
    bundle = os.path.join(workdir, "bundle")
    os.mkdir(bundle, 0o755)
    from pyrunc import jsonio, util
    util.write_atomic(os.path.join(bundle, "config.json"), jsonio.dumps(d, indent=2) + "\n")
    return bundle


def _rmtree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


# -- the runtime ---------------------------------------------------------------------------------

class Runtime:
    """A pyrunc state root (``--root``). As a context manager, closing it force-deletes every
    container created through it that is still there."""

    def __init__(self, root=DEFAULT_ROOT, create_timeout=120):
        import threading
        self.root = os.path.abspath(root)
        self.create_timeout = create_timeout
        self._owned = {}
        self._lock = threading.Lock()

    def __repr__(self):
        return "Runtime(root=%r)" % self.root

    # -- in-process ------------------------------------------------------------------------
    def state(self, cid):
        """The runtime-spec state of container ``cid`` (dict; ContainerNotExist)."""
        from pyrunc.container import lifecycle
        try:
            return lifecycle.state(self.root, cid)
        except errors.PyruncError as e:
            raise _tag(e, cid)

    def list(self):
        """The states of every container under this root."""
        from pyrunc.container import lifecycle
        return lifecycle.list_states(self.root)

    def ids(self):
        return [s["id"] for s in self.list()]

    def exists(self, cid):
        try:
            self.state(cid)
            return True
        except errors.ContainerNotExist:
            return False

    def container(self, cid):
        """A Container object for an existing container (created by anyone)."""
        self.state(cid)
        with self._lock:
            c = self._owned.get(cid)
        return c if c is not None else Container(self, cid)

    def containers(self):
        return [self.container(cid) for cid in self.ids()]

    # -- create (worker) --------------------------------------------------------------------
    def create(self, cid=None, bundle=None, *, config=None, rootfs=None, stdin=None,
               input=None, stdout=CAPTURE, stderr=CAPTURE, console_socket=None,
               no_pivot=False, no_new_keyring=False):
        """Create container ``cid`` (generated when None) from ``bundle`` (a directory) or
        from ``config`` (a Config or dict) + ``rootfs`` (a directory), and return its
        Container, in the *created* state: call ``start()``. See the module doc for stdio.
        """
        import tempfile
        cid = cid or _new_id()
        if (bundle is None) == (config is None):
            raise TypeError("create: pass exactly one of bundle= and config=")
        from pyrunc.container.state import check_id
        check_id(cid)
        workdir = tempfile.mkdtemp(prefix="pyrunc-api-")
        streams = proc = report = None
        existed = True
        try:
            if config is not None:
                bundle = _write_bundle(workdir, config, rootfs)
            else:
                if rootfs is not None:
                    raise TypeError("create: rootfs= goes with config=, not bundle=")
                bundle = os.path.abspath(bundle)
            _check_bundle(bundle)
            streams = _Streams(stdin, input, stdout, stderr)
            pid_file = os.path.join(workdir, "pid")
            log_file = os.path.join(workdir, "log.json")
            argv = ["--bundle", bundle, "--pid-file", pid_file]
            if console_socket:
                argv += ["--console-socket", os.path.abspath(console_socket)]
            if no_pivot:
                argv.append("--no-pivot")
            if no_new_keyring:
                argv.append("--no-new-keyring")
            existed = os.path.lexists(os.path.join(self.root, cid))
            proc, rfd = _spawn_worker(["create", self.root, log_file, pid_file] + argv + [cid],
                                      streams)
            try:
                try:
                    report = _read_report(rfd, self.create_timeout)
                except TimeoutError:
                    raise api_errors.Timeout("create %s" % cid, self.create_timeout,
                                             container_id=cid) from None
            finally:
                os.close(rfd)
            if report is None or "pid" not in report:
                err = _worker_failure(report, proc, streams, "create", cid)
                proc.wait()
                raise err
        except BaseException:
            if proc is not None and not (report and "pid" in report):
                # interrupted (or failed) before the container was ours: leave nothing
                if proc.poll() is None:
                    _kill_group(proc)
                if not existed:
                    self._force_delete(cid)
            if streams is not None:
                streams.close()
            _rmtree(workdir)
            raise
        c = Container(self, cid, _worker=proc, _streams=streams, _workdir=workdir)
        with self._lock:
            self._owned[cid] = c
        return c

    def _force_delete(self, cid):
        from pyrunc.container import lifecycle
        try:
            lifecycle.delete(self.root, cid, force=True)
        except errors.PyruncError:
            pass

    def run_context(self, cid=None, bundle=None, *, start=True, **kw):
        """create (+ start): a Container to use in a ``with`` block, which force-deletes it on
        the way out, even when the block raises."""
        c = self.create(cid, bundle, **kw)
        if start:
            try:
                c.start()
            except BaseException:
                c.close(delete=True)
                raise
        return c

    def run(self, cid=None, bundle=None, *, timeout=None, check=False, text=False, **kw):
        """create + start + wait + delete: a Completed with the exit code and the captured
        output. ``timeout`` (seconds) kills the container and raises Timeout; ``check``
        raises ProcessFailed for a non-zero exit."""
        c = self.create(cid, bundle, **kw)
        try:
            c.start()
            return c.wait(timeout=timeout, check=check, text=text)
        finally:
            c.close(delete=True)

    # -- cleanup ----------------------------------------------------------------------------
    def _forget(self, cid):
        with self._lock:
            self._owned.pop(cid, None)

    def close(self):
        """Force-delete every container created through this Runtime that still exists."""
        with self._lock:
            owned = list(self._owned.values())
        first = None
        for c in owned:
            try:
                c.close(delete=True)
            except errors.PyruncError as e:
                first = first or e
        if first is not None:
            raise first

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        try:
            self.close()
        except errors.PyruncError:
            if et is None:
                raise


def _kill_group(proc):
    import signal
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(10)
    except Exception:
        pass


# -- a container ---------------------------------------------------------------------------------

class Container:
    """One container. ``Container(runtime_or_root, id)`` attaches to an existing one;
    ``Runtime.create``/``run_context`` return one that also owns the container's stdio and
    shim (so ``wait()`` knows the exit code). As a context manager it is force-deleted on
    exit, even when the block raises."""

    def __init__(self, runtime, cid, *, _worker=None, _streams=None, _workdir=None):
        if not isinstance(runtime, Runtime):
            runtime = Runtime(runtime if runtime is not None else DEFAULT_ROOT)
        self.runtime = runtime
        self.id = cid
        self._worker = _worker
        self._streams = _streams
        self._workdir = _workdir

    def __repr__(self):
        return "Container(%r, root=%r)" % (self.id, self.runtime.root)

    @property
    def root(self):
        return self.runtime.root

    def _call(self, fn, *args, **kw):
        try:
            return fn(self.runtime.root, self.id, *args, **kw)
        except errors.PyruncError as e:
            raise _tag(e, self.id)

    # -- in-process lifecycle ---------------------------------------------------------------
    def state(self):
        """The runtime-spec state (dict: id, pid, status, bundle, ...)."""
        from pyrunc.container import lifecycle
        return self._call(lifecycle.state)

    @property
    def status(self):
        return self.state()["status"]

    @property
    def pid(self):
        """The init's host pid (0 once stopped)."""
        return self.state()["pid"]

    @property
    def bundle(self):
        return self.state()["bundle"]

    def start(self):
        """created -> running: the init execs the configured process."""
        from pyrunc.container import lifecycle
        self._call(lifecycle.start)
        return self

    def kill(self, sig=15, all=False):
        """Send ``sig`` (a number, or a name such as "KILL"/"SIGKILL") to the init, or with
        ``all`` to every process of the container."""
        if isinstance(sig, str):
            from pyrunc.cli.cmd_kill import parse_signal
            sig = parse_signal(sig)
        from pyrunc.container import lifecycle
        self._call(lifecycle.kill, int(sig), all)

    def delete(self, force=False):
        """Remove the container (``force``: kill it first if it is running). Its captured
        output stays readable through wait() until close()."""
        from pyrunc.container import lifecycle
        try:
            self._call(lifecycle.delete, force)
        finally:
            if not self.runtime.exists(self.id):
                self._reap_worker()
                self.runtime._forget(self.id)
                if self._workdir:
                    _rmtree(self._workdir)
                    self._workdir = None

    def close(self, delete=True):
        """Release what this object owns: force-delete the container (which reaps its shim
        and removes a temporary bundle) unless ``delete`` is False, and close the captured
        output. With ``delete=False`` the container lives on (and so does a temporary bundle,
        which it uses)."""
        try:
            if delete:
                self.delete(force=True)
        finally:
            if self._streams is not None:
                self._streams.close()

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        try:
            self.close(delete=True)
        except errors.PyruncError:
            if et is None:
                raise

    # -- waiting -----------------------------------------------------------------------------
    def _reap_worker(self, timeout=10):
        w = self._worker
        if w is None or w.returncode is not None:
            return
        try:
            w.wait(timeout)
        except Exception:
            _kill_group(w)

    def wait(self, timeout=None, check=False, text=False):
        """Wait for the container's process to exit: a Completed with its exit code (None for
        a container this object did not create) and the captured output. On ``timeout``
        (seconds) raises Timeout (the container keeps running); ``check`` raises
        ProcessFailed for a non-zero exit."""
        import subprocess
        if self._worker is not None:
            try:
                code = self._worker.wait(timeout)
            except subprocess.TimeoutExpired:
                raise api_errors.Timeout("container %s" % self.id, timeout,
                                         self._output(None, text), self.id) from None
            if code < 0:
                raise api_errors.WorkerError(
                    "the shim of container %s was killed by signal %d" % (self.id, -code),
                    container_id=self.id)
        else:
            import time
            deadline = None if timeout is None else time.monotonic() + timeout
            while self.status != "stopped":
                if deadline is not None and time.monotonic() > deadline:
                    raise api_errors.Timeout("container %s" % self.id, timeout,
                                             self._output(None, text), self.id)
                time.sleep(0.02)
            code = None
        done = self._output(code, text)
        if check:
            done.check(self.id)
        return done

    def _output(self, code, text):
        if self._streams is None:
            return Completed(code)
        return self._streams.completed(code, text)

    def output(self, text=False):
        """The output captured so far: a Completed whose exit_code is None if still running."""
        code = self._worker.returncode if self._worker is not None else None
        if code is not None and code < 0:
            code = None
        return self._output(code, text)

    def stop(self, timeout=10, sig=15):
        """``sig`` (SIGTERM), then SIGKILL after ``timeout`` seconds; returns wait()'s
        Completed."""
        try:
            self.kill(sig)
        except errors.ContainerNotRunning:
            pass
        try:
            return self.wait(timeout)
        except api_errors.Timeout:
            try:
                self.kill(9)
            except errors.ContainerNotRunning:
                pass
            return self.wait(30)

    # -- exec (worker) ---------------------------------------------------------------------
    def exec(self, args, *, env=None, cwd=None, user=None, additional_gids=None, caps=None,
             no_new_privileges=False, stdin=None, input=None, stdout=CAPTURE, stderr=CAPTURE,
             timeout=None, check=False, text=False):
        """Run ``args`` in the running container (its namespaces, cgroup, and process
        attributes, as ``pyrunc exec``) and wait: a Completed with the exit code and output.

        ``env``: a dict or "K=V" list added to the container's; ``user``: uid or (uid, gid);
        ``caps``: capabilities added. ``timeout`` kills the process and raises Timeout."""
        import subprocess
        import tempfile
        if isinstance(args, str):
            raise TypeError("exec: args must be a list (e.g. ['sh', '-c', %r])" % args)
        args = [str(a) for a in args]
        if not args:
            raise ValueError("exec: empty args")
        work = tempfile.mkdtemp(prefix="pyrunc-exec-")
        streams = _Streams(stdin, input, stdout, stderr)
        try:
            pid_file = os.path.join(work, "pid")
            argv = ["--pid-file", pid_file]
            if cwd:
                argv += ["--cwd", cwd]
            if env:
                items = env.items() if isinstance(env, dict) else (
                    e.split("=", 1) for e in env)
                for k, v in items:
                    argv += ["--env", "%s=%s" % (k, v)]
            if user is not None:
                argv += ["--user", "%d:%d" % tuple(user) if isinstance(user, (tuple, list))
                         else str(int(user))]
            for g in additional_gids or ():
                argv += ["--additional-gids", str(int(g))]
            for cap in caps or ():
                argv += ["--cap", cap if cap.upper().startswith("CAP_") else
                         "CAP_" + cap.upper()]
            if no_new_privileges:
                argv.append("--no-new-privs")
            argv += [self.id] + args
            proc, rfd = _spawn_worker(["exec", self.runtime.root,
                                       os.path.join(work, "log.json")] + argv, streams)
            try:
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    _kill_exec(pid_file, proc)
                    raise api_errors.Timeout("exec %s in %s" % (" ".join(args), self.id),
                                             timeout, streams.completed(None, text, args),
                                             self.id) from None
                os.set_blocking(rfd, False)
                try:
                    report = _read_report(rfd, 0)
                except (TimeoutError, BlockingIOError):
                    report = None
            finally:
                os.close(rfd)
            if report is None or "exit_code" not in report or report.get("error"):
                raise _worker_failure(report, proc, streams, "exec", self.id)
            done = streams.completed(report["exit_code"], text, args)
        finally:
            streams.close()
            _rmtree(work)
        if check:
            done.check(self.id)
        return done

    # -- control (pause/resume/update/stats/ps) ---------------------------------------------
    def pause(self):
        """Freeze every process of the container."""
        from pyrunc.container import control
        self._call(control.pause)

    def resume(self):
        from pyrunc.container import control
        self._call(control.resume)

    def update(self, resources=None, **kw):
        """Change cgroup limits live: a LinuxResources dict or pyrunc.spec.model.Resources
        (0 or absent leaves a value unchanged), or keywords memory=, cpu=, pids=, ... with
        dict values (``update(memory={"limit": 64 << 20})``)."""
        res = resources.to_dict() if hasattr(resources, "to_dict") else dict(resources or {})
        for k, v in kw.items():
            key = {"block_io": "blockIO", "hugepage_limits": "hugepageLimits"}.get(k, k)
            res[key] = v.to_dict() if hasattr(v, "to_dict") else v
        from pyrunc.container import control
        self._call(control.update, res)

    def stats(self):
        """runc's stats data (cpu, memory, pids, blkio, ...) as a dict."""
        from pyrunc.container import control
        return self._call(control.stats)

    def processes(self):
        """Host pids of every process in the container."""
        from pyrunc.container import control
        return self._call(control.processes)


def _kill_exec(pid_file, proc):
    """SIGKILL an exec'd process (its pid is in pid_file) and wait for its worker."""
    try:
        with open(pid_file) as f:
            os.kill(int(f.read()), 9)
    except (OSError, ValueError):
        pass
    try:
        proc.wait(10)
    except Exception:
        _kill_group(proc)
