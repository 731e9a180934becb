"""The parent <-> init channel: one JSON message per SOCK_SEQPACKET datagram.

The parent (the ``pyrunc create`` process) and the container's init exchange a handful of
messages during create; every step that can fail inside the namespaces reports back over this
channel as ``{"type": "error", "message": ...}`` so create fails with that one line.

Messages, in order (init -> parent unless marked):
  context           parent -> init: what the init is to create (process/context.py), sent
                    once the bundle is loaded and checked (the init was forked before)
  userns            init has unshared a user namespace: write its id maps   parent -> "mapped"
  pid {"pid"}       the host pid of the process that will exec (after the pid-ns fork);
                    the init goes on with its rootfs    parent -> "cgroups" {"cgroup_paths"}
                           once the pid is recorded and the container's cgroups (made while
                           the init starts) exist: the init reads it before its cgroup
                           mount, or else once its mounts are made, and nothing of it leaves
                           its namespaces (hooks, the pty, the pivot, cgroups) before
  cgroup            (only with a new cgroup namespace) put me in my cgroup   parent -> "ok"
  runtime-hooks     (only with prestart/createRuntime hooks) mounts are done,
                    the parent runs those hooks before pivot_root          parent -> "ok"
  ready             namespaces and rootfs are set up; parent joins cgroups  parent -> "ok"
  done              credentials applied; init now waits for ``start``
  error {"message"} setup failed; the parent cleans up and reports it
"""

import sys

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc import jsonio
from pyrunc.errors import ContainerInitError


CHUNK = 1 << 16   # bytes per datagram of a context (well under the default send buffer)
MAX_FDS = 253     # fds per datagram (the kernel's SCM_MAX_FD); a context sends as many as
#                   it has (the state dir, sockets, one per idmapped mount) in batches
_BYTEORDER = sys.byteorder


class PeerGone(ContainerInitError, BrokenPipeError):
    """The other end exited: a one-line PyruncError for the runtime's user, and still the
    BrokenPipeError (an OSError) that code on the init side already handles."""


class Channel:
    def __init__(self, fd, peer="container init"):
        self.fd = fd
        self.peer = peer  # who is at the other end, for the message when it vanishes
        self._watch = -1

    def watch(self, pid):
        """Until ``unwatch``: ``pid`` exiting with nothing left to read counts as EOF.

        For the forked child until it has sent "pid": after a pid-namespace fork, its own
        child also holds the other end (and may be blocked in a read of it), so were the
        first one killed before sending it (OOM), neither side would ever speak."""
        try:
            self._watch = os.pidfd_open(pid)
        except OSError:
            self._watch = -1  # already gone (reaped) or an old kernel: EOF as before

    def unwatch(self):
        if self._watch >= 0:
            os.close(self._watch)
            self._watch = -1

    def send(self, kind, **fields):
        fields["type"] = kind
        try:
            os.write(self.fd, jsonio.dumps(fields).encode())
        except (BrokenPipeError, ConnectionResetError):
            # killed meanwhile (OOM, a concurrent `kill`, its runtime gone): one line, the
            # same as when we learn it from a recv
            raise PeerGone("%s exited during setup" % self.peer) from None

    def recv(self):
        """The next message, or None when the other side closed without a word.

        "log" messages (the init's warnings, see log.set_sink) are written here and never
        returned: every parent loop would otherwise repeat that branch."""
        while True:
            msg = self._recv_one()
            if msg is None or msg.get("type") != "log":
                return msg
            from pyrunc import log
            log.emit(msg.get("level", "warning"), msg.get("msg", ""))

    def _recv_one(self):
        if self._watch >= 0:
            import select  # (a small module: the parent of create keeps clear of cffi)
            if self.fd not in select.select([self.fd, self._watch], [], [])[0]:
                return None  # the watched process exited and nothing is queued
        try:
            data = os.read(self.fd, 1 << 20)
        except ConnectionResetError:
            # it exited with a message of ours unread (the init, failing before it read the
            # "cgroups" we sent unasked). The kernel reports that before the messages still
            # queued for us, and only once: read again for its last word (an error)
            try:
                data = os.read(self.fd, 1 << 20)
            except ConnectionResetError:
                return None
        if not data:
            return None
        return jsonio.loads(data)

    def send_context(self, fields, fds):
        """The create's context for the init, forked before it existed (process/context.py):
        a "context" message with the number of ``fds`` and the size of the JSON of
        ``fields``, the fds as SCM_RIGHTS (at most MAX_FDS per datagram, the kernel's limit:
        on the header, then on datagrams of their own), then that JSON in datagrams of at
        most CHUNK bytes (a config can be bigger than a socket's send buffer, which bounds
        one datagram)."""
        import _socket
        data = jsonio.dumps(fields).encode()
        head = jsonio.dumps({"type": "context", "size": len(data), "nfds": len(fds)}).encode()
        sock = _socket.socket(fileno=self.fd)
        try:
            first = True
            for i in range(0, max(len(fds), 1), MAX_FDS):
                batch = fds[i:i + MAX_FDS]
                anc = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                        b"".join(fd.to_bytes(4, _BYTEORDER) for fd in batch))] if batch else []
                sock.sendmsg([head if first else b"fds"], anc)
                first = False
            for i in range(0, len(data), CHUNK):
                sock.send(data[i:i + CHUNK])
        except (BrokenPipeError, ConnectionResetError):
            raise PeerGone("%s exited during setup" % self.peer) from None
        finally:
            sock.detach()

    def recv_context(self):
        """``(fields, fds)`` of :meth:`send_context`, the fds close-on-exec; None when the
        other side closed first (a create that failed before handing the context over)."""
        import _socket
        sock = _socket.socket(fileno=self.fd)
        try:
            fds = []
            head = self._recv_fds(sock, CHUNK, fds)
            if not head:
                return None
            msg = jsonio.loads(head)
            if msg.get("type") != "context":
                raise ContainerInitError("protocol error: expected context, got %s" % (
                    msg.get("type"),))
            while len(fds) < msg["nfds"]:
                if not self._recv_fds(sock, 16, fds):
                    return None
            size = msg["size"]
            parts = []
            while size > 0:
                part = sock.recv(CHUNK)
                if not part:
                    return None
                parts.append(part)
                size -= len(part)
        except ConnectionResetError:
            return None
        finally:
            sock.detach()
        return jsonio.loads(b"".join(parts)), fds

    @staticmethod
    def _recv_fds(sock, size, fds):
        """One datagram (returned) whose SCM_RIGHTS fds are appended to ``fds``."""
        import _socket
        data, anc, flags, _ = sock.recvmsg(size, _socket.CMSG_SPACE(4 * MAX_FDS),
                                           _socket.MSG_CMSG_CLOEXEC)
        for level, kind, payload in anc:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fds += [int.from_bytes(payload[i:i + 4], _BYTEORDER, signed=True)
                        for i in range(0, len(payload) - len(payload) % 4, 4)]
        if flags & _socket.MSG_CTRUNC:
            raise ContainerInitError("protocol error: files of the context cut off")
        return data

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
        self.unwatch()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def fork_child(ctx, entry, exit_code):
    """Fork with a channel between the two sides; returns (child pid, parent's fd).

    The child gets its end as ``ctx.sync_fd`` and runs ``entry(ctx)``, which must not return
    (it execs or exits); if it does, or raises, the child exits with ``exit_code``."""
    import _socket  # (not cffi: create's parent needs none of it, and it weighs 0.8 MiB)
    from pyrunc.cgroups import warm
    a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)  # close-on-exec
    pfd, cfd = a.detach(), b.detach()
    ctx.sync_fd = cfd
    child = warm.fork()  # os.fork, and no fd of the cgroup warming write in the child
    if child == 0:
        try:
            os.close(pfd)
            entry(ctx)
        finally:
            os._exit(exit_code)
    os.close(cfd)
    return child, pfd


def report_failures(ch, body, what, exit_code):
    """Run ``body()`` in a forked child; any failure goes to the parent as one error line
    (never a traceback) and the child exits with ``exit_code``."""
    from pyrunc.errors import PyruncError
    try:
        body()
    except PyruncError as e:
        _send_error(ch, str(e))
    except OSError as e:
        _send_error(ch, "%s: %s" % (e.filename or what, e.strerror))
    except BaseException as e:  # a bug: still one line for the user
        _send_error(ch, "%s failed: %s: %s" % (what, type(e).__name__, e))
    os._exit(exit_code)


def _send_error(ch, msg):
    try:
        ch.send("error", message=msg)
    except OSError:
        pass


class NoImports:
    """Put first on ``sys.meta_path`` once a process is in the container's view of the
    filesystem (exec: from the first setns; the init: from pivot_root): an import of anything
    not imported yet then fails, instead of being looked up in the container's files -- the
    container's code, run with the runtime's privileges. Modules already imported still
    import (they are found in sys.modules before the meta path is asked)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        raise ImportError("%s is not imported before entering the container (internal "
                          "error)" % name, name=name)
