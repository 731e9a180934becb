"""The parent <-> init channel: one JSON message per SOCK_SEQPACKET datagram.

The parent (the ``pyrunc create`` process) and the container's init exchange a handful of
messages during create; every step that can fail inside the namespaces reports back over this
channel as ``{"type": "error", "message": ...}`` so create fails with that one line.

Messages, in order (init -> parent unless marked):
  userns            init has unshared a user namespace: write its id maps   parent -> "mapped"
  pid {"pid"}       the host pid of the process that will exec (after the pid-ns fork)
                                                        parent -> "ok" once it is recorded
  cgroup            (only with a new cgroup namespace) put me in my cgroup   parent -> "ok"
  runtime-hooks     (only with prestart/createRuntime hooks) mounts are done,
                    the parent runs those hooks before pivot_root          parent -> "ok"
  ready             namespaces and rootfs are set up; parent joins cgroups  parent -> "ok"
  done              credentials applied; init now waits for ``start``
  error {"message"} setup failed; the parent cleans up and reports it
"""

import os

from pyrunc import jsonio
from pyrunc.errors import ContainerInitError


class PeerGone(ContainerInitError, BrokenPipeError):
    """The other end exited: a one-line PyruncError for the runtime's user, and still the
    BrokenPipeError (an OSError) that code on the init side already handles."""


class Channel:
    def __init__(self, fd, peer="container init"):
        self.fd = fd
        self.peer = peer  # who is at the other end, for the message when it vanishes

    def send(self, kind, **fields):
        fields["type"] = kind
        try:
            os.write(self.fd, jsonio.dumps(fields).encode())
        except (BrokenPipeError, ConnectionResetError):
            # killed meanwhile (OOM, a concurrent `kill`, its runtime gone): one line, the
            # same as when we learn it from a recv
            raise PeerGone("%s exited during setup" % self.peer) from None

    def recv(self):
        """The next message, or None when the other side closed without a word."""
        data = os.read(self.fd, 1 << 20)
        if not data:
            return None
        return jsonio.loads(data)

    def expect(self, kind):
        """Wait for message ``kind``; an error message or EOF raises ContainerInitError."""
        msg = self.recv()
        if msg is None:
            raise ContainerInitError("container init exited unexpectedly")
        if msg["type"] == "error":
            raise ContainerInitError(msg["message"])
        if msg["type"] != kind:
            raise ContainerInitError("protocol error: expected %s, got %s" % (kind, msg["type"]))
        return msg

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
