"""A tiny seccomp agent for the SCMP_ACT_NOTIFY tests (a standalone script, stdlib only).

    python3 seccomp_agent.py SOCKET OUT [ERRNO]

Listens on the unix socket SOCKET; accepts runtimes' connections, and from each one takes
the container process state (JSON) with the listener fd (SCM_RIGHTS). It appends every
state, as a JSON line, to OUT, then answers that filter's notifications: mkdir/mkdirat
"succeed" without doing anything (or fail with ERRNO if given), anything else is let
through (SECCOMP_USER_NOTIF_FLAG_CONTINUE). Each notification is logged to OUT as
{"nr": ..., "pid": ...}. It exits once a connection's filter is gone (the container exited)
and ``--once`` was given (the default); prints "ready" on stdout when listening.
"""

import array
import fcntl
import json
import platform
import select
import socket
import struct
import sys

# <linux/seccomp.h>
NOTIF = struct.Struct("=QII" + "iIQ6Q")   # seccomp_notif: id, pid, flags, seccomp_data
RESP = struct.Struct("=QqiI")             # seccomp_notif_resp: id, val, error, flags
IOC_RECV = (3 << 30) | (NOTIF.size << 16) | (ord("!") << 8) | 0
IOC_SEND = (3 << 30) | (RESP.size << 16) | (ord("!") << 8) | 1
FLAG_CONTINUE = 1
MKDIR = {"x86_64": (83, 258), "aarch64": (None, 34)}[platform.machine()]


def log(out, obj):
    with open(out, "a") as f:
        f.write(json.dumps(obj) + "\n")


def receive(conn):
    """One state message and its fds: read until the JSON is complete (runc keeps the
    connection open while ``runc run`` lives, so EOF cannot be the end marker)."""
    fds = array.array("i")
    data = b""
    while True:
        msg, anc, _, _ = conn.recvmsg(1 << 16, socket.CMSG_SPACE(4 * 4))
        for level, typ, payload in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % 4])
        data += msg
        try:
            return json.loads(data), list(fds)
        except ValueError:
            if not msg:
                return None, list(fds)


def serve(fd, out, errno):
    p = select.poll()
    p.register(fd, select.POLLIN)
    while True:
        for _, ev in p.poll():
            if ev & select.POLLIN:
                buf = bytearray(NOTIF.size)
                try:
                    fcntl.ioctl(fd, IOC_RECV, buf, True)
                except OSError:
                    continue  # the caller died meanwhile (ENOENT)
                nid, pid, _, nr = NOTIF.unpack(bytes(buf))[:4]
                log(out, {"nr": nr, "pid": pid})
                if nr in MKDIR:
                    resp = RESP.pack(nid, 0, -errno if errno else 0, 0)
                else:
                    resp = RESP.pack(nid, 0, 0, FLAG_CONTINUE)
                try:
                    fcntl.ioctl(fd, IOC_SEND, bytearray(resp), True)
                except OSError:
                    pass
            elif ev & (select.POLLHUP | select.POLLERR):
                return


def main(argv):
    sock_path, out = argv[0], argv[1]
    errno = int(argv[2]) if len(argv) > 2 else 0
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(4)
    print("ready", flush=True)
    conn, _ = srv.accept()
    state, fds = receive(conn)
    conn.close()
    log(out, {"state": state, "nfds": len(fds)})
    if not fds:
        return 1
    serve(fds[0], out, errno)
    log(out, {"done": True})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
