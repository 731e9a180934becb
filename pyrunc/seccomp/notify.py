"""SCMP_ACT_NOTIFY: hand the filter's listener fd to the seccomp agent at listenerPath.

As runc does, the runtime connects to the agent's unix socket and sends one message: the
container process state (runtime-spec config-linux.md "listenerPath") as JSON, with the
listener fd attached (SCM_RIGHTS), then closes the connection:

  {"ociVersion": ..., "fds": ["seccompFd"], "pid": <host pid>, "metadata": <listenerMetadata>,
   "state": {"ociVersion", "id", "status": "creating", "pid", "bundle", "annotations"}}

The init connects in ``compile_filter``, before pivot_root hides the host path, and sends
right after loading the filter (the listener fd only exists from then on).
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
import sys

from pyrunc.errors import PyruncError

SPEC_VERSION = "1.2.0"


class Listener:
    def __init__(self, path, metadata="", ctx=None):
        import _socket
        self.path = path
        self.metadata = metadata
        self.pid, self.state = process_state(ctx)
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        try:
            s.connect(path)
        except OSError as e:
            s.close()
            raise PyruncError("linux.seccomp.listenerPath: cannot connect to the seccomp agent "
                              "at %s: %s" % (path, e.strerror)) from None
        self.sock = s
        self._rights = (_socket.SOL_SOCKET, _socket.SCM_RIGHTS)
        self._nosignal = _socket.MSG_NOSIGNAL

    def payload(self):
        from pyrunc import jsonio
        msg = {"ociVersion": SPEC_VERSION, "fds": ["seccompFd"],
               "pid": self.pid or os.getpid()}
        if self.metadata:
            msg["metadata"] = self.metadata
        msg["state"] = self.state
        return jsonio.dumps(msg).encode()

    def send(self, fd, payload):
        try:
            # MSG_NOSIGNAL: SIGPIPE has its default disposition again by now (it would kill
            # the init silently if the agent went away)
            n = self.sock.sendmsg([payload], [self._rights + (fd.to_bytes(4, sys.byteorder),)],
                                  self._nosignal)
            if n < len(payload):
                self.sock.sendall(payload[n:], self._nosignal)
        except OSError as e:
            raise PyruncError("linux.seccomp.listenerPath: cannot send the seccomp fd to %s: "
                              "%s" % (self.path, e.strerror)) from None
        finally:
            os.close(fd)
            self.close()

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def process_state(ctx):
    """(pid of the filtered process, OCI state) from the init's or exec's context.

    The container's init (InitContext: cid, host_pid, bundle) reports status "creating" and
    its host pid, as runc does during create; an exec'd process (ExecContext: init_pid)
    reports "running" with the init's pid in the state, as runc's setns process does. A pid
    left 0 is filled at send time from getpid() (the pid-namespace pid)."""
    config = getattr(ctx, "config", None) or {}
    init_pid = getattr(ctx, "init_pid", 0)
    if init_pid:
        pid, status, state_pid = getattr(ctx, "host_pid", 0), "running", init_pid
    else:
        pid = getattr(ctx, "host_pid", 0)
        status, state_pid = "creating", pid
    state = {
        "ociVersion": SPEC_VERSION,
        "id": getattr(ctx, "cid", "") or "",
        "status": status,
    }
    if state_pid:
        state["pid"] = state_pid
    state["bundle"] = getattr(ctx, "bundle", "") or ""
    if config.get("annotations"):
        state["annotations"] = config["annotations"]
    return pid, state
