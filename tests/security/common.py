"""Shared by the attack tests: assertions about failures, a racing swapper, host snapshots.

Every exploit here is harmless by construction: targets are test directories, harmless
procfs files (/proc/timer_list, /proc/self/oom_score_adj...) or read-only probes; nothing
ever writes to the host's interpreter, sysrq-trigger or a global sysctl.
"""

import ctypes
import os
import threading

_libc = ctypes.CDLL(None, use_errno=True)
RENAME_EXCHANGE = 2
AT_FDCWD = -100


def one_line_error(r):
    """A refused command: non-zero exit, exactly one line on stderr, no traceback, no bug."""
    assert r.code != 0, r
    assert "Traceback" not in r.err, r
    assert "internal error" not in r.err, r
    assert len(r.err.strip().splitlines()) == 1, r
    return r.err.strip()


def rename_exchange(a, b):
    """renameat2(a, b, RENAME_EXCHANGE): swap two names atomically (CVE-2021-30465's tool)."""
    if _libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b),
                       RENAME_EXCHANGE) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), a)


class Swapper:
    """A thread standing for a racing container with a shared volume: it keeps exchanging
    two names (a directory and a symlink, say) until stopped."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        self.stop = threading.Event()
        self.swaps = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            try:
                rename_exchange(self.a, self.b)
                self.swaps += 1
            except OSError:
                pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


def host_mounts(substr):
    """Mount points of the host (this test's mount namespace) whose path contains substr."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if substr in mp:
                out.append(mp)
    return sorted(out)


def tree(path):
    """A snapshot of a host directory tree: {relative path: (mode, size)}."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            snap[os.path.relpath(p, path)] = (st.st_mode, st.st_size)
    return snap


def container_mounts(pid):
    """(mount point, fstype) of every mount the container's init sees."""
    out = []
    with open("/proc/%d/mountinfo" % pid) as f:
        for line in f:
            left, right = line.split(" - ", 1)
            out.append((left.split()[4], right.split()[0]))
    return out


def status_field(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1]
    return None


def run_with_console(rt, bundle, cid, timeout=5.0):
    """create --console-socket, start, read the first line the container writes to its
    terminal, delete. Returns (True, line) or (False, the create error)."""
    import array
    import select
    import socket
    import subprocess
    import tempfile
    import time
    sdir = tempfile.mkdtemp(prefix="cs-")
    path = os.path.join(sdir, "s")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(timeout)
    master = None
    argv = rt.argv + ["--root", rt.root]
    p = subprocess.Popen(argv + ["create", "--console-socket", path, "--bundle", bundle.path,
                                 cid], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        try:
            conn, _ = srv.accept()
            fds = array.array("i")
            _msg, anc, _f, _a = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
            for _lvl, _typ, data in anc:
                fds.frombytes(data[:fds.itemsize])
                master = fds[0]
            conn.close()
        except OSError:
            pass
        err = p.communicate(timeout=60)[1]
        if p.returncode != 0:
            return False, err.strip()
        rt.cmd("start", cid, check=True)
        data = b""
        end = time.monotonic() + timeout
        while master is not None and time.monotonic() < end and b"\n" not in data:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
        return True, data.decode(errors="replace").strip()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        rt.cmd("delete", "--force", cid)
        if master is not None:
            os.close(master)
        srv.close()
        os.unlink(path)
        os.rmdir(sdir)
