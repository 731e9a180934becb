"""Real container clients with private state, running their containers on a runtime under test.

Each ``Stack`` belongs to one runtime (pyrunc, or runc as the control) and has its own base
directory. The runtime is registered under the name ``runc`` (``<base>/bin/runc`` is a
symlink to it), so clients pass it exactly the flags they pass runc:

* ``Containerd``: a private containerd (own config, root, state and socket; CRI disabled) whose
  ``PATH`` starts with ``<base>/bin``, so the runc shim's default ``BinaryName=runc`` is the
  runtime; ``ctr`` talks to it in a namespace of its own.
* ``Dockerd``: a private dockerd on that containerd, with the runtime as its default runtime
  (``runtimes`` in daemon.json, the file form of ``--add-runtime``).
* ``Podman``: rootful podman with its own containers.conf / storage.conf (graphroot, runroot,
  network config, a tmpfs tmp_dir) and the runtime as ``runc`` in ``[engine.runtimes]``.

What the tools hard-code is not private: containerd's shim sockets and fifos
(``/run/containerd/{s,fifo}``), its runc root ``/run/containerd/runc/<namespace>`` (we use a
namespace of our own and remove its directory), podman's runtime root (the runtime's default,
``/run/pyrunc`` or ``/run/runc``), ``/run/netns``, and the ``podman0``/``docker0`` bridges with
their iptables rules (``docker0`` is removed on teardown if we created it).

Teardown (``Stack.close``) removes every container through its client, stops the daemons by
pid, kills any containerd shim that belongs to our containerd, force-deletes whatever is left
in the runtime roots we own, and unmounts everything under the base directory. It is written
to run to the end even after a failure.

The test image is a busybox rootfs (``tests.helpers.build_rootfs``) packed here as a
docker-archive, loaded by all three clients: no registry.
"""

import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time

IMAGE = "localhost/busybox:latest"
IMAGE_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DOCKER_CLI = "/usr/bin/docker"       # Debian's docker.io CLI (20.10), matching its dockerd


def which(name):
    if name == "docker" and os.access(DOCKER_CLI, os.X_OK):
        return DOCKER_CLI
    # podman's helpers (netavark, aardvark-dns) live in its helper_binaries_dir
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin:"
                        "/usr/local/libexec/podman:/usr/local/lib/podman:/usr/libexec/podman:"
                        "/usr/lib/podman")


def missing(*names):
    """The names among ``names`` that are not installed (for skip reasons)."""
    return [n for n in names if which(n) is None]


# --- running commands ----------------------------------------------------------------------

class Result:
    def __init__(self, argv, code, out, err):
        self.argv = argv
        self.code = code
        self.out = out
        self.err = err

    @property
    def text(self):
        return self.out + self.err

    def __repr__(self):
        return "Result(%s -> code=%r, out=%r, err=%r)" % (
            " ".join(shlex.quote(a) for a in self.argv), self.code, self.out[-3000:],
            self.err[-3000:])


def run(argv, env=None, timeout=60, input=None, cwd=None, check=False):
    """Run a client command; stdout/stderr go to files (a container may inherit them, so
    reading pipes to EOF could wait for the container). On timeout the whole process group
    of the command is killed and AssertionError raised with what it printed."""
    argv = [str(a) for a in argv]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err, text=True,
                             stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                             start_new_session=True)
        try:
            if input is not None:
                p.stdin.write(input)
                p.stdin.close()
            code = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(p)
            out.seek(0)
            err.seek(0)
            raise AssertionError("timed out after %ss: %s\nstdout: %s\nstderr: %s" % (
                timeout, " ".join(argv), out.read()[-3000:], err.read()[-3000:])) from None
        out.seek(0)
        err.seek(0)
        r = Result(argv, code, out.read(), err.read())
    if check and r.code != 0:
        raise AssertionError("command failed: %r" % (r,))
    return r


def _kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def run_in_pty(argv, env=None, timeout=60, steps=()):
    """Run ``argv`` on a real pty (util-linux ``script``), like a person at a terminal.

    ``steps`` is a sequence of (expect, send): wait until the output contains ``expect``
    (None: don't wait), then write ``send`` to the terminal. Returns Result with the
    terminal's output (CRs removed). stdin stays open until the command exits, so ``script``
    never sees EOF early.
    """
    import select
    cmd = " ".join(shlex.quote(str(a)) for a in argv)
    full = ["script", "-qfec", cmd, "/dev/null"]
    p = subprocess.Popen(full, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    buf = b""
    steps = list(steps)
    done = False
    try:
        while True:
            if steps:
                expect, send = steps[0]
                if expect is None or expect.encode() in buf:
                    steps.pop(0)
                    p.stdin.write(send.encode())
                    p.stdin.flush()
                    continue
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([p.stdout], [], [], min(left, 0.5))
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    done = True
                    break
                buf += chunk
        if not done:
            _kill_group(p)
            raise AssertionError("timed out after %ss on a pty: %s\noutput: %r" % (
                timeout, cmd, buf.decode(errors="replace")[-3000:]))
        code = p.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill_group(p)
        raise AssertionError("%s: output closed but it did not exit" % cmd) from None
    finally:
        try:
            p.stdin.close()
        except OSError:
            pass
    text = buf.decode(errors="replace").replace("\r", "")
    return Result(full, code, text, "")


def wait_for(pred, timeout=20, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(interval)


# --- the image -------------------------------------------------------------------------------

def _goarch():
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(m, m)


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_docker_archive(rootfs, dest, ref=IMAGE, cmd=("/bin/sh",)):
    """Pack ``rootfs`` as a one-layer image in docker-archive form (what ``docker save``
    writes), which ``docker load``, ``podman load`` and ``ctr image import`` all read."""
    work = tempfile.mkdtemp(prefix="img-", dir=os.path.dirname(dest))
    try:
        layer = os.path.join(work, "layer.tar")

        def owner_root(ti):
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            ti.mtime = 0
            return ti
        with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as t:
            for name in sorted(os.listdir(rootfs)):
                t.add(os.path.join(rootfs, name), arcname=name, filter=owner_root)
        diff_id = _sha256_file(layer)
        config = {
            "architecture": _goarch(), "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": {"Env": [IMAGE_PATH_ENV], "Cmd": list(cmd)},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
            "history": [{"created": "2024-01-01T00:00:00Z",
                         "created_by": "pyrunc tests/e2e: busybox rootfs"}],
        }
        cbytes = json.dumps(config, sort_keys=True).encode()
        config_id = hashlib.sha256(cbytes).hexdigest()
        with open(os.path.join(work, "config.json"), "wb") as f:
            f.write(cbytes)
        manifest = [{"Config": config_id + ".json", "RepoTags": [ref],
                     "Layers": [diff_id + "/layer.tar"]}]
        with open(os.path.join(work, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        with tarfile.open(dest, "w") as t:
            t.add(layer, arcname=diff_id + "/layer.tar", filter=owner_root)
            t.add(os.path.join(work, "config.json"), arcname=config_id + ".json",
                  filter=owner_root)
            t.add(os.path.join(work, "manifest.json"), arcname="manifest.json",
                  filter=owner_root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


# --- processes and mounts we own --------------------------------------------------------------

def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def cmdline(pid):
    return _cmdline(pid)


def pids_with_arg(arg):
    """Pids whose command line has ``arg`` as one argument (our shims: ``-address SOCK``)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and arg in _cmdline(int(d)):
            out.append(int(d))
    return out


def pids_named(comm):
    out = []
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/comm" % d) as f:
                if f.read().strip() == comm:
                    out.append(int(d))
        except (OSError, ValueError):
            pass
    return out


def stop_pid(pid, timeout=15, sig=signal.SIGTERM):
    """Signal a process we started and wait for it to go; SIGKILL after ``timeout``."""
    if pid is None:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_for(lambda: not _alive(pid), timeout=10, what="pid %d to die" % pid)


def _alive(pid):
    try:
        os.waitpid(pid, os.WNOHANG)          # reap it if it is our child
    except ChildProcessError:
        pass
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def mounts_under(path):
    path = path.rstrip("/")
    res = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == path or mp.startswith(path + "/"):
                res.append(mp)
    return res


def umount_all_under(path):
    """Unmount everything at or below ``path``, deepest first (lazily: busy is fine)."""
    for _ in range(5):
        mps = mounts_under(path)
        if not mps:
            return
        for mp in sorted(set(mps), key=lambda m: (-m.count("/"), m)):
            subprocess.run(["umount", "-l", mp], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


def remove_cgroup_dirs(name):
    """rmdir ``<every cgroup mount>/<name>`` and what is under it, bottom up: containerd puts
    a namespace's containers in /<namespace>/<id>, and the runtime's delete removes only
    the container's own directory. Only empty directories go (a cgroup with processes
    refuses rmdir); returns the ones left."""
    left = []
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split(" - ")[0].split()[4] for line in f
                  if " - cgroup " in line or " - cgroup2 " in line]
    for mnt in mounts:
        top = os.path.join(mnt, name)
        if not os.path.isdir(top):
            continue
        for d, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                os.rmdir(d)
            except OSError:
                left.append(d)
    return left


def force_delete_all(runtime, root):
    """Force-delete every container the runtime has in ``root`` (after a failed teardown)."""
    if not os.path.isdir(root):
        return
    for cid in os.listdir(root):
        run([runtime, "--root", root, "delete", "--force", cid], timeout=30)


def _errors(errs, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except Exception as e:  # teardown goes on; the errors are reported at the end
        errs.append("%s: %s" % (getattr(fn, "__name__", fn), e))


# --- the clients ---------------------------------------------------------------------------------

CONTAINERD_CONFIG = """version = 2
root = "%(root)s"
state = "%(state)s"
[grpc]
  address = "%(sock)s"
[ttrpc]
  address = "%(sock)s.ttrpc"
[debug]
  level = "info"
# CRI (tests/e2e/test_cri.py): host-network pods only (no CNI here); the sandbox image is
# built locally; the runtime is ours, with a private root
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:latest"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "%(runc)s"
        Root = "%(cri_root)s"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "%(cni)s/bin"
    conf_dir = "%(cni)s/conf"
"""
PAUSE_IMAGE = "localhost/pause:latest"
CRI_NAMESPACE = "k8s.io"


class Containerd:
    def __init__(self, stack):
        self.stack = stack
        self.dir = os.path.join(stack.base, "c")
        self.sock = os.path.join(self.dir, "run", "containerd.sock")
        # hard-coded dirs (/run/containerd/runc/<ns>, fifos) are keyed by namespace: ours only
        # containerd namespaces allow only [A-Za-z0-9] runs joined by single [._-], and
        # mkdtemp suffixes may hold "_" (even "__"): name ours by a hash of the base dir
        self.ns = "e2e-%s-%s" % (stack.name,
                                 hashlib.sha256(stack.base.encode()).hexdigest()[:10])
        self.runc_root = "/run/containerd/runc/" + self.ns
        # the CRI plugin (namespace k8s.io) runs the runtime with a private --root
        self.cri_root = os.path.join(self.dir, "cri-runc")
        self.cri_logs = os.path.join(self.dir, "cri-logs")
        self.cri_ready = False
        self.pid = None
        self.log = os.path.join(self.dir, "containerd.log")

    def start(self):
        for d in ("root", "state", "run"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        cfg = os.path.join(self.dir, "config.toml")
        with open(cfg, "w") as f:
            f.write(CONTAINERD_CONFIG % {
                "root": os.path.join(self.dir, "root"), "state": os.path.join(self.dir, "state"),
                "sock": self.sock, "runc": self.stack.runc, "cri_root": self.cri_root,
                "cni": os.path.join(self.dir, "cni")})
        env = dict(self.stack.env)
        # the runc shim runs "runc" from PATH unless told otherwise: ours comes first
        env["PATH"] = self.stack.bindir + ":" + env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        with open(self.log, "ab") as log:
            self.pid = subprocess.Popen([which("containerd"), "--config", cfg], cwd=self.dir,
                                        env=env, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True).pid
        self.stack.save()
        wait_for(lambda: self._up(), timeout=30, what="containerd to listen (%s)" % self.log)
        self.ctr("image", "import", self.stack.image_archive, check=True, timeout=120)

    def _up(self):
        if not _alive(self.pid):
            raise AssertionError("containerd exited: %s" % _tail(self.log))
        return os.path.exists(self.sock) and self.ctr("version", timeout=10).code == 0

    def ctr(self, *args, timeout=60, check=False, input=None):
        return run(self.argv(*args), env=self.stack.env, timeout=timeout, check=check,
                   input=input)

    def argv(self, *args):
        return [which("ctr"), "--address", self.sock, "--namespace", self.ns] + list(args)

    def cri_prepare(self):
        """Images for the CRI plugin (its own namespace): busybox, and a pause image (the same
        rootfs sleeping forever) as the sandbox image."""
        if self.cri_ready:
            return
        pause = os.path.join(os.path.dirname(self.stack.image_archive), "pause-docker.tar")
        if not os.path.exists(pause):
            rootfs = os.path.join(os.path.dirname(self.stack.image_archive), "rootfs")
            write_docker_archive(rootfs, pause + ".tmp", ref=PAUSE_IMAGE,
                                 cmd=("sleep", "2147483647"))
            os.rename(pause + ".tmp", pause)
        for archive in (self.stack.image_archive, pause):
            run([which("ctr"), "--address", self.sock, "--namespace", CRI_NAMESPACE, "image",
                 "import", archive], env=self.stack.env, timeout=120, check=True)
        os.makedirs(self.cri_logs, exist_ok=True)
        self.cri_ready = True

    def tasks(self):
        """{name: (pid, status)} from ``ctr task ls``."""
        r = self.ctr("task", "ls", timeout=20, check=True)
        res = {}
        for line in r.out.splitlines()[1:]:
            f = line.split()
            if len(f) >= 3:
                res[f[0]] = (int(f[1]), f[2])
        return res

    def reset(self, errs=None):
        """Kill and delete every task and container in our namespace."""
        errs = [] if errs is None else errs
        r = _try(lambda: self.ctr("task", "ls", "-q", timeout=20))
        for tid in (r.out.split() if r and r.code == 0 else []):
            _try(lambda: self.ctr("task", "resume", tid, timeout=20))
            _errors(errs, self.ctr, "task", "kill", "-a", "-s", "SIGKILL", tid, timeout=20)
            _try(lambda: wait_for(
                lambda: self.tasks().get(tid, (0, "STOPPED"))[1] == "STOPPED", timeout=10))
            _errors(errs, self.ctr, "task", "delete", "-f", tid, timeout=30)
        r = _try(lambda: self.ctr("container", "ls", "-q", timeout=20))
        for cid in (r.out.split() if r and r.code == 0 else []):
            _errors(errs, self.ctr, "container", "rm", cid, timeout=30)
        return errs

    def close(self, errs):
        if self.pid is not None and _alive(self.pid):
            self.reset(errs)
            _errors(errs, stop_pid, self.pid)
        # shims outlive containerd; they carry "-address <our socket>"
        for pid in pids_with_arg(self.sock):
            _errors(errs, stop_pid, pid, 5)
        _errors(errs, force_delete_all, self.stack.runtime, self.runc_root)
        shutil.rmtree(self.runc_root, ignore_errors=True)
        _errors(errs, force_delete_all, self.stack.runtime,
                os.path.join(self.cri_root, CRI_NAMESPACE))
        # the namespace's cgroup directory (named after it: ours), in every hierarchy; a
        # container's last processes may take a moment to leave theirs
        deadline = time.monotonic() + 3
        left = remove_cgroup_dirs(self.ns)
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = remove_cgroup_dirs(self.ns)
        if left:
            errs.append("cgroups left: %s" % left)
        self.pid = None


class Dockerd:
    def __init__(self, stack, containerd):
        self.stack = stack
        self.containerd = containerd
        self.dir = os.path.join(stack.base, "d")
        self.sock = os.path.join(self.dir, "docker.sock")
        self.pidfile = os.path.join(self.dir, "dockerd.pid")
        self.exec_root = os.path.join(self.dir, "exec")
        self.runtime_name = "e2e"
        self.pid = None
        self.log = os.path.join(self.dir, "dockerd.log")
        self.made_docker0 = False

    def start(self):
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        os.makedirs(self.exec_root, exist_ok=True)
        cfg = os.path.join(self.dir, "daemon.json")
        with open(cfg, "w") as f:
            json.dump({
                "data-root": os.path.join(self.dir, "data"),
                "exec-root": self.exec_root,
                "pidfile": self.pidfile,
                "hosts": ["unix://" + self.sock],
                "containerd": self.containerd.sock,
                "exec-opts": ["native.cgroupdriver=cgroupfs"],
                "storage-driver": "overlay2",
                "runtimes": {self.runtime_name: {"path": self.stack.runc}},
                "default-runtime": self.runtime_name,
                "log-driver": "json-file",
                "features": {"buildkit": False},
            }, f, indent=1)
        self.made_docker0 = not os.path.exists("/sys/class/net/docker0")
        self.stack.save()
        env = dict(self.stack.env)
        env["PATH"] = self.stack.bindir + ":" + env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        with open(self.log, "ab") as log:
            self.pid = subprocess.Popen([which("dockerd"), "--config-file", cfg], cwd=self.dir,
                                        env=env, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True).pid
        self.stack.save()
        wait_for(lambda: self._up(), timeout=60, what="dockerd to listen (%s)" % self.log)
        self.docker("load", "-i", self.stack.image_archive, check=True, timeout=120)

    def _up(self):
        if not _alive(self.pid):
            raise AssertionError("dockerd exited: %s" % _tail(self.log))
        return os.path.exists(self.sock) and self.docker("version", timeout=10).code == 0

    def docker(self, *args, timeout=60, check=False, input=None):
        return run(self.argv(*args), env=self.env, timeout=timeout, check=check, input=input)

    def argv(self, *args):
        return [which("docker"), "-H", "unix://" + self.sock] + list(args)

    @property
    def env(self):
        env = dict(self.stack.env)
        env["DOCKER_CONFIG"] = os.path.join(self.dir, "cli")   # no ~/.docker
        return env

    def reset(self, errs=None):
        """Remove every container."""
        errs = [] if errs is None else errs
        r = _try(lambda: self.docker("ps", "-aq", timeout=20))
        ids = r.out.split() if r and r.code == 0 else []
        if ids:
            _try(lambda: self.docker("unpause", *ids, timeout=30))
            _errors(errs, self.docker, "rm", "-f", *ids, timeout=60)
        return errs

    def close(self, errs):
        if self.pid is not None and _alive(self.pid):
            self.reset(errs)
            _errors(errs, stop_pid, self.pid, 20)
        import glob
        for root in glob.glob(os.path.join(self.exec_root, "runtime-*", "*")):
            _errors(errs, force_delete_all, self.stack.runtime, root)
        # docker0 is shared by every dockerd on the host: remove it only if we made it and
        # no other dockerd (another test run) is using it
        if self.made_docker0 and os.path.exists("/sys/class/net/docker0") \
                and not pids_named("dockerd"):
            run(["ip", "link", "delete", "docker0"], timeout=10)
        self.pid = None


class Podman:
    def __init__(self, stack):
        self.stack = stack
        self.dir = os.path.join(stack.base, "p")
        self.started = False

    def start(self):
        P = self.dir
        for d in ("run", "graphroot", "runroot", "networks", "volumes"):
            os.makedirs(os.path.join(P, d), exist_ok=True)
        # tmp_dir must be a tmpfs: podman keeps per-boot state there (and detects reboots)
        run(["mount", "-t", "tmpfs", "-o", "mode=0700,size=256m", "tmpfs",
             os.path.join(P, "run")], check=True)
        self.started = True
        self.stack.save()
        import resource
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
        nproc = 32768 if nproc == resource.RLIM_INFINITY or nproc > 32768 else nproc
        with open(os.path.join(P, "storage.conf"), "w") as f:
            f.write('[storage]\ndriver = "overlay"\nrunroot = "%s"\ngraphroot = "%s"\n' % (
                os.path.join(P, "runroot"), os.path.join(P, "graphroot")))
        init = which("catatonit")
        # static_dir is left at its default (graphroot/libpod): conmon's exit command
        # ("podman container cleanup") gets --root but not our static_dir, and would not
        # find the database elsewhere (each run --rm would wait 20 s for it)
        with open(os.path.join(P, "containers.conf"), "w") as f:
            f.write("""[containers]
log_driver = "k8s-file"
# root here may lack CAP_SYS_RESOURCE: podman's default rlimits (1048576) could not be set
default_ulimits = ["nofile=%(nofile)d:%(nofile)d", "nproc=%(nproc)d:%(nproc)d"]
%(init)s
[network]
network_backend = "netavark"
network_config_dir = "%(P)s/networks"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "%(P)s/events.log"
tmp_dir = "%(P)s/run/libpod"
volume_path = "%(P)s/volumes"
lock_type = "file"
runtime = "runc"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun"]

[engine.runtimes]
runc = ["%(runc)s"]
""" % {"P": P, "nofile": nofile, "nproc": nproc, "runc": self.stack.runc,
       "init": ('init_path = "%s"\n' % init) if init else ""})
        self.podman("load", "-i", self.stack.image_archive, check=True, timeout=120)

    @property
    def env(self):
        env = dict(self.stack.env)
        env["CONTAINERS_CONF"] = os.path.join(self.dir, "containers.conf")
        env["CONTAINERS_STORAGE_CONF"] = os.path.join(self.dir, "storage.conf")
        return env

    def podman(self, *args, timeout=60, check=False, input=None):
        return run(self.argv(*args), env=self.env, timeout=timeout, check=check, input=input)

    def argv(self, *args):
        return [which("podman")] + list(args)

    def reset(self, errs=None):
        """Remove every pod, container and volume."""
        errs = [] if errs is None else errs
        _try(lambda: self.podman("unpause", "-a", timeout=30))
        _errors(errs, self.podman, "pod", "rm", "-af", "-t", "0", timeout=60)
        _errors(errs, self.podman, "rm", "-af", "-t", "0", timeout=60)
        _errors(errs, self.podman, "volume", "rm", "-af", timeout=30)
        return errs

    def close(self, errs):
        if not self.started:
            return
        # ids of what we had, to force-delete from the runtime's default root if needed
        r = _try(lambda: self.podman("ps", "-aq", "--no-trunc", timeout=30))
        ids = r.out.split() if r and r.code == 0 else []
        self.reset(errs)
        for cid in ids:
            if os.path.exists(os.path.join(self.stack.default_root, cid)):
                run([self.stack.runtime, "delete", "--force", cid], timeout=30)
        # conmon processes of ours (should be gone with the containers)
        for pid in pids_with_arg(os.path.join(self.dir, "graphroot")):
            if os.path.basename((_cmdline(pid) or [""])[0]) == "conmon":
                _errors(errs, stop_pid, pid, 5)
        umount_all_under(self.dir)
        self.started = False


class Stack:
    """The clients of one runtime. ``name`` is "pyrunc" or "runc"; ``runtime`` its binary.

    ``<base>/stack.json`` records who owns the stack and which daemons it started, so that a
    run killed before its teardown is cleaned up by the next one (``reap_stale``)."""

    PREFIX = "e2e-"

    def __init__(self, name, runtime, image_archive, parent=None, base=None):
        self.name = name
        self.runtime = runtime
        self.image_archive = image_archive
        self.owner = os.getpid()
        self.base = base or tempfile.mkdtemp(prefix="%s%s-" % (self.PREFIX, name),
                                             dir=parent or "/tmp")
        self.bindir = os.path.join(self.base, "bin")
        self.runc = os.path.join(self.bindir, "runc")
        if base is None:
            os.makedirs(self.bindir)
            os.symlink(runtime, self.runc)
        self.env = _client_env()
        # where the runtime keeps containers when a client passes no --root (podman)
        self.default_root = "/run/pyrunc" if name == "pyrunc" else "/run/runc"
        self._containerd = self._dockerd = self._podman = None
        self._failed = {}
        if base is None:
            self.save()

    def save(self):
        meta = {"name": self.name, "runtime": self.runtime, "owner": self.owner,
                "image_archive": self.image_archive,
                "containerd": self._containerd and self._containerd.pid,
                "dockerd": self._dockerd and self._dockerd.pid,
                "made_docker0": bool(self._dockerd and self._dockerd.made_docker0),
                "podman": bool(self._podman and self._podman.started)}
        tmp = os.path.join(self.base, ".stack.json")
        with open(tmp, "w") as f:
            json.dump(meta, f)
        os.rename(tmp, os.path.join(self.base, "stack.json"))

    @classmethod
    def reopen(cls, base):
        """The Stack recorded in ``base`` (to tear down what a killed run left)."""
        with open(os.path.join(base, "stack.json")) as f:
            meta = json.load(f)
        s = cls(meta["name"], meta["runtime"], meta["image_archive"], base=base)
        s.owner = meta["owner"]

        def ours(pid):      # the recorded pid is still that daemon (not a reused pid)
            return pid if pid and any(base in a for a in _cmdline(pid)) else None
        if meta.get("containerd") is not None or os.path.isdir(os.path.join(base, "c")):
            s._containerd = Containerd(s)
            s._containerd.pid = ours(meta.get("containerd"))
        if meta.get("dockerd") is not None or os.path.isdir(os.path.join(base, "d")):
            s._dockerd = Dockerd(s, s._containerd or Containerd(s))
            s._dockerd.pid = ours(meta.get("dockerd"))
            s._dockerd.made_docker0 = meta.get("made_docker0", False)
        if meta.get("podman"):
            s._podman = Podman(s)
            s._podman.started = True
        return s

    def _client(self, attr, make):
        if attr in self._failed:
            raise AssertionError("%s failed to start earlier: %s" % (attr, self._failed[attr]))
        if getattr(self, attr) is None:
            c = make()
            setattr(self, attr, c)
            try:
                c.start()
            except BaseException as e:
                self._failed[attr] = e
                raise
        return getattr(self, attr)

    def containerd(self):
        return self._client("_containerd", lambda: Containerd(self))

    def dockerd(self):
        c = self.containerd()
        return self._client("_dockerd", lambda: Dockerd(self, c))

    def podman(self):
        return self._client("_podman", lambda: Podman(self))

    def close(self):
        """Tear everything down; returns the list of errors met (teardown goes on)."""
        errs = []
        for c in (self._dockerd, self._containerd, self._podman):
            if c is not None:
                _errors(errs, c.close, errs)
        umount_all_under(self.base)
        left = mounts_under(self.base)
        if left:
            errs.append("still mounted: %s" % left)
        else:
            shutil.rmtree(self.base, ignore_errors=True)
        return errs


def reap_stale(parent="/tmp"):
    """Tear down stacks left by runs that died before their teardown (owner gone)."""
    import glob
    reaped = []
    for base in glob.glob(os.path.join(parent, Stack.PREFIX + "*")):
        meta = os.path.join(base, "stack.json")
        if not os.path.isfile(meta):
            continue
        try:
            s = Stack.reopen(base)
        except (OSError, ValueError, KeyError):
            continue
        if _alive(s.owner) and "python" in " ".join(_cmdline(s.owner)):
            continue                       # a live run (maybe another session's)
        s.close()
        reaped.append(base)
    return reaped


def _client_env():
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "TMPDIR")}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env.setdefault("HOME", "/root")
    env.setdefault("TERM", "xterm")
    return env


def _try(fn):
    try:
        return fn()
    except Exception:
        return None


def _tail(path, n=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def version_commit(runtime):
    """The ``commit:`` line of ``<runtime> --version`` (what docker shows as runc's commit)."""
    out = run([runtime, "--version"], timeout=20, check=True).out
    for line in out.splitlines():
        if line.startswith("commit:"):
            return line.split(":", 1)[1].strip()
    return None


# --- looking at a container from the host ---------------------------------------------------------

def _cgroup_mounts():
    """{controller: mountpoint} for v1 hierarchies, plus "" for the unified (v2) one."""
    res = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.rstrip("\n").split(" - ", 1)
            fstype, _src, sopts = post.split(" ", 2)
            mp = pre.split()[4]
            if fstype == "cgroup2":
                res.setdefault("", mp)
            elif fstype == "cgroup":
                for o in sopts.split(","):
                    if o in ("rw", "ro") or "=" in o and not o.startswith("name="):
                        continue
                    res.setdefault(o, mp)
    return res


def cgroup_path(pid, controller):
    """Host directory of ``pid``'s cgroup for a v1 controller (or v2 when the controller
    has no v1 hierarchy)."""
    mounts = _cgroup_mounts()
    with open("/proc/%d/cgroup" % pid) as f:
        lines = [ln.rstrip("\n").split(":", 2) for ln in f]
    if controller in mounts:
        for _hid, ctrls, path in lines:
            if controller in ctrls.split(","):
                return mounts[controller] + path
    for hid, ctrls, path in lines:
        if hid == "0" and "" in mounts:
            return mounts[""] + path
    raise AssertionError("no cgroup for %s of pid %d: %s" % (controller, pid, lines))


def cgroup_read(pid, controller, fname):
    with open(os.path.join(cgroup_path(pid, controller), fname)) as f:
        return f.read().strip()



def main(argv):
    """``python -m tests.e2e.clients pyrunc|runc [podman] [containerd] [docker]``: bring the
    clients up (as the tests do), print how to reach them, and tear everything down on
    SIGTERM/SIGINT. For poking at a failure by hand."""
    import sys
    from tests import helpers
    name = argv[0] if argv else "pyrunc"
    which_clients = argv[1:] or ["podman", "containerd", "docker"]
    rt = os.path.join(helpers.REPO, ".venv", "bin", "pyrunc") if name == "pyrunc" \
        else os.path.realpath(which("runc"))
    work = tempfile.mkdtemp(prefix="e2e-image-")
    helpers.build_rootfs(os.path.join(work, "rootfs"))
    archive = write_docker_archive(os.path.join(work, "rootfs"),
                                   os.path.join(work, "busybox-docker.tar"))
    stack = Stack(name, rt, archive)
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if "podman" in which_clients:
            p = stack.podman()
            print("export CONTAINERS_CONF=%s CONTAINERS_STORAGE_CONF=%s" % (
                p.env["CONTAINERS_CONF"], p.env["CONTAINERS_STORAGE_CONF"]))
        if "containerd" in which_clients or "docker" in which_clients:
            c = stack.containerd()
            print("export CONTAINERD_ADDRESS=%s CONTAINERD_NAMESPACE=%s  # ctr --runc-binary %s"
                  % (c.sock, c.ns, stack.runc))
        if "docker" in which_clients:
            d = stack.dockerd()
            print("export DOCKER_HOST=unix://%s  # use %s" % (d.sock, DOCKER_CLI))
        print("up (base %s); SIGTERM or ^C tears down" % stack.base, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        errs = stack.close()
        shutil.rmtree(work, ignore_errors=True)
        print("down%s" % ("; errors: %s" % errs if errs else ""), flush=True)
        sys.stdout.flush()


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
