"""process.terminal: pty inside the container, console socket protocol, foreground relay."""

import array
import json
import os
import shutil
import socket
import subprocess
import threading

import pytest

from tests.helpers import new_id


class ConsoleReceiver:
    """A console socket like conmon's / containerd's: records what the runtime sends."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.result = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        c, _ = self.sock.accept()
        fds = array.array("i")
        msg, anc, flags, _ = c.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
        cm = []
        for lvl, typ, data in anc:
            a = array.array("i")
            a.frombytes(data[:len(data) - len(data) % a.itemsize])
            cm.append((lvl, typ, list(a)))
        rest = c.recv(10)
        self.result = {"payload": msg, "cmsgs": cm, "after": rest}
        c.close()

    def wait(self):
        self.thread.join(10)
        return self.result


@pytest.fixture
def tty_bundle(make_bundle):
    def make(*args, size=None):
        b = make_bundle(*args)
        b.config["process"]["terminal"] = True
        if size:
            b.config["process"]["consoleSize"] = size
        return b.write()
    return make


def test_console_socket_protocol(pyrunc, tty_bundle, tmp_path):
    b = tty_bundle("sh", "-c", "tty; stty size; ls -l /dev/console; echo DONE; sleep 1",
                   size={"height": 33, "width": 101})
    rx = ConsoleReceiver(str(tmp_path / "cs.sock"))
    cid = new_id()
    r = pyrunc.cmd("create", "--console-socket", rx.path, "--bundle", b.path, cid)
    assert r.code == 0, r
    res = rx.wait()  # sent before create returned
    assert res["payload"] == b"/dev/ptmx"
    assert len(res["cmsgs"]) == 1
    lvl, typ, fds = res["cmsgs"][0]
    assert (lvl, typ) == (socket.SOL_SOCKET, socket.SCM_RIGHTS) and len(fds) == 1
    assert res["after"] == b""  # connection closed after the one message
    master = fds[0]
    assert os.readlink("/proc/self/fd/%d" % master) in ("/dev/pts/ptmx", "/dev/ptmx")
    pyrunc.cmd("start", cid, check=True)
    out = b""
    while b"DONE" not in out:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    text = out.decode().replace("\r", "")
    lines = text.split("\n")
    assert lines[0].startswith("/dev/pts/")
    assert lines[1] == "33 101"
    assert lines[2].startswith("crw") and "136," in lines[2]  # /dev/console is the pty


def test_terminal_needs_console_socket_when_detached(pyrunc, tty_bundle):
    b = tty_bundle("true")
    r = pyrunc.cmd("create", "--bundle", b.path, new_id())
    assert r.code != 0 and "console-socket" in r.err
    assert pyrunc.ids() == []


@pytest.mark.skipif(shutil.which("script") is None, reason="util-linux script(1) missing")
def test_foreground_run_relays_terminal(pyrunc, tty_bundle):
    b = tty_bundle("sh", "-c", "tty; test -t 0 && echo STDIN-IS-TTY; exit 4")
    cmd = " ".join(pyrunc.argv + ["--root", pyrunc.root, "run", "--bundle", b.path, new_id()])
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
    out = p.stdout.decode().replace("\r", "")
    assert "/dev/pts/0" in out and "STDIN-IS-TTY" in out
    assert p.returncode == 4


@pytest.mark.skipif(shutil.which("script") is None, reason="util-linux script(1) missing")
def test_exec_tty_foreground(pyrunc, make_bundle):
    b = make_bundle("sleep", "300")
    cid = new_id()
    pyrunc.cmd("run", "-d", "--bundle", b.path, cid, check=True)
    cmd = " ".join(pyrunc.argv + ["--root", pyrunc.root, "exec", "-t", cid, "sh", "-c",
                                  "'tty; exit 6'"])
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
    assert "/dev/pts/" in p.stdout.decode()
    assert p.returncode == 6


def test_exec_tty_console_socket(pyrunc, make_bundle, tmp_path):
    b = make_bundle("sleep", "300")
    cid = new_id()
    pyrunc.cmd("run", "-d", "--bundle", b.path, cid, check=True)
    rx = ConsoleReceiver(str(tmp_path / "cs.sock"))
    r = pyrunc.cmd("exec", "-t", "-d", "--console-socket", rx.path, cid, "sh", "-c",
                   "tty; sleep 1")
    assert r.code == 0, r
    res = rx.wait()
    assert res["payload"] == b"/dev/ptmx" and len(res["cmsgs"][0][2]) == 1
    os.close(res["cmsgs"][0][2][0])
