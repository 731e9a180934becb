"""SCMP_ACT_NOTIFY: hand the filter's listener fd to the seccomp agent at listenerPath.

As runc does, the runtime connects to the agent's unix socket and sends one message: the
container process state (runtime-spec config-linux.md "listenerPath") as JSON, with the
listener fd attached (SCM_RIGHTS), then closes the connection:

  {"ociVersion": ..., "fds": ["seccompFd"], "pid": <host pid>, "metadata": <listenerMetadata>,
   "state": {"ociVersion", "id", "status": "creating", "pid", "bundle", "annotations"}}

The init connects in ``compile_filter``, before pivot_root hides the host path, and sends
right after loading the filter (the listener fd only exists from then on).
"""

import os
import sys

from pyrunc.errors import PyruncError

SPEC_VERSION = "1.2.0"


class Listener:
    def __init__(self, path, metadata=""):
        import _socket
        self.path = path
        self.metadata = metadata
        self.state = {}
        self.pid = 0
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        try:
            s.connect(path)
        except OSError as e:
            s.close()
            raise PyruncError("linux.seccomp.listenerPath: cannot connect to the seccomp agent "
                              "at %s: %s" % (path, e.strerror)) from None
        self.sock = s
        self._rights = (_socket.SOL_SOCKET, _socket.SCM_RIGHTS)

    def set_state(self, ctx, host_pid=None):
        """Fill the state from the init's context; ``host_pid`` is the init's pid as the
        runtime sees it (the parent tells the init: inside a pid namespace it is 1)."""
        config = getattr(ctx, "config", None) or {}
        self.pid = host_pid or os.getpid()
        self.state = {
            "ociVersion": SPEC_VERSION,
            "id": getattr(ctx, "container_id", None) or _container_id(ctx),
            "status": "creating",
            "pid": self.pid,
            "bundle": getattr(ctx, "bundle", None) or "",
        }
        if config.get("annotations"):
            self.state["annotations"] = config["annotations"]

    def payload(self):
        from pyrunc import jsonio
        if not self.state:
            self.set_state(None)
        msg = {"ociVersion": SPEC_VERSION, "fds": ["seccompFd"], "pid": self.pid}
        if self.metadata:
            msg["metadata"] = self.metadata
        msg["state"] = self.state
        return jsonio.dumps(msg).encode()

    def send(self, fd, payload):
        try:
            n = self.sock.sendmsg([payload], [self._rights + (fd.to_bytes(4, sys.byteorder),)])
            if n < len(payload):
                self.sock.sendall(payload[n:])
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


def _container_id(ctx):
    """The container's id: the name of its state directory (the init holds an fd to it)."""
    fd = getattr(ctx, "state_dir_fd", -1)
    if fd is None or fd < 0:
        return ""
    try:
        return os.path.basename(os.readlink("/proc/self/fd/%d" % fd).rstrip("/"))
    except OSError:
        return ""
