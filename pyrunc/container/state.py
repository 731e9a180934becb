"""A container's on-disk state: ``<root>/<id>/state.json``, its lock, and its live status.

Layout of ``<root>/<id>/``:
  state.json   what create recorded (pid + its start time, bundle, cgroups, ...), written
               atomically, never edited in place;
  start.sock   exists while the container is *created*: its init listens here for ``start``.

Status is derived, never stored: stopped if the recorded process is gone (a pid reused by
another process has another start time, and a zombie counts as gone), created while
start.sock exists, paused if its freezer says so, running otherwise.

Locking: every command that changes a container holds ``flock`` on the state directory; a
command that waited for the lock re-checks the directory still exists (delete removes it).
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
from pyrunc import errors, jsonio, util

STATE_FILE = "state.json"
START_SOCK = "start.sock"
SPEC_VERSION = "1.2.0"


def valid_id(cid):
    """runc's rule: [\\w+-\\.]+ and not . or .. (ids become directory names)."""
    if not cid or cid in (".", "..") or len(cid) > 1024:
        return False
    for ch in cid:
        if not (ch.isascii() and (ch.isalnum() or ch in "_+-.")):
            return False
    return True


def check_id(cid):
    if not valid_id(cid):
        raise errors.PyruncError("invalid container id format: %s" % cid)


class ContainerState:
    """The record of one container plus the operations on its directory."""

    def __init__(self, root, cid, data=None):
        self.root = root
        self.id = cid
        self.dir = os.path.join(root, cid)
        self.data = data if data is not None else {}
        self._lockfd = -1

    # -- persistence -----------------------------------------------------------------------
    @classmethod
    def load(cls, root, cid):
        """The recorded state, or ContainerNotExist."""
        if not valid_id(cid):
            raise errors.ContainerNotExist(cid)
        st = cls(root, cid)
        st._read()
        return st

    def _read(self):
        try:
            self.data = jsonio.load_file(os.path.join(self.dir, STATE_FILE))
        except FileNotFoundError:
            if not os.path.isdir(self.dir):
                raise errors.ContainerNotExist(self.id) from None
            # a create killed before its first write: nothing to report, but deletable
            self.data = {"corrupt": True}
        except (ValueError, UnicodeDecodeError):
            # written atomically, so a bad file was not written by us: still deletable
            self.data = {"corrupt": True}

    def save(self):
        path = os.path.join(self.dir, STATE_FILE)
        try:
            util.write_atomic(path, jsonio.dumps(self.data), 0o600)
        except OSError as e:  # e.g. ENOSPC: one line naming the file, not a traceback
            raise errors.PyruncError("saving container state %s: %s" % (path, e.strerror)) \
                from None

    # -- locking ---------------------------------------------------------------------------
    def lock(self, reload=True, shared=False):
        """Take the container's exclusive lock (``shared``: a shared one, as exec takes it, so
        that execs run side by side but not beside a pause or a delete); ContainerNotExist if
        it vanished meanwhile.

        The state is then read again: what ``load`` read before the wait is stale if the
        holder was a create (its "creating" marker, no pid yet) or any command that saved."""
        try:
            fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise errors.ContainerNotExist(self.id) from None
        import fcntl  # here: state and kill never lock, and fcntl is a shared library to load
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink == 0:  # deleted while we waited
            os.close(fd)
            raise errors.ContainerNotExist(self.id)
        self._lockfd = fd
        if reload:
            try:
                self._read()
            except BaseException:
                self.unlock()
                raise
        return self

    def unlock(self):
        if self._lockfd >= 0:
            os.close(self._lockfd)
            self._lockfd = -1

    def __enter__(self):
        return self.lock()

    def __exit__(self, *exc):
        self.unlock()

    # -- status ----------------------------------------------------------------------------
    @property
    def pid(self):
        return self.data.get("pid", 0)

    def init_alive(self):
        return util.pid_alive(self.pid, self.data.get("pid_start"))

    def status(self):
        creating = self.data.get("creating")
        if creating:
            return "creating" if util.pid_alive(*creating) else "stopped"
        if self.data.get("corrupt") or not self.init_alive():
            return "stopped"
        if self.is_paused():
            return "paused"  # a created container can be paused too (runc reports it so)
        if os.path.exists(os.path.join(self.dir, START_SOCK)):
            return "created"
        return "running"

    def is_paused(self):
        freezer = self.data.get("freezer")
        if not freezer:
            return False
        try:
            with open(freezer, "rb") as f:
                v = f.read().strip()
        except OSError:
            return False
        return v in (b"FROZEN", b"FREEZING", b"1")

    def oci_state(self):
        """The runtime-spec state object, as ``pyrunc state`` prints it (runc's field order)."""
        status = self.status()
        d = self.data
        out = {
            "ociVersion": d.get("ociVersion", SPEC_VERSION),
            "id": self.id,
            "pid": self.pid if status != "stopped" else 0,
            "status": status,
            "bundle": d.get("bundle", ""),
            "rootfs": d.get("rootfs", ""),
            "created": d.get("created", ""),
        }
        if d.get("annotations"):
            out["annotations"] = d["annotations"]
        out["owner"] = d.get("owner", "")
        return out


def list_ids(root):
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    # a directory without state.json too: what a create killed before its first write
    # leaves; `state` reports it (stopped) and it holds its id, so list must show it for a
    # client to find and delete it
    return sorted(n for n in names if valid_id(n) and os.path.isdir(os.path.join(root, n)))
