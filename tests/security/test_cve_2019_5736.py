"""CVE-2019-5736: a container overwrites the runtime's binary on the host through /proc.

While a runtime joins a container (``exec``) or waits in it (a created init), it is a
process inside the container's pid namespace whose /proc/<pid>/exe is the runtime's host
binary -- for pyrunc, the host's Python interpreter. The original exploit loops over /proc
from inside the container, opens that exe link (O_PATH) the moment a runtime process shows
up, waits for it to exit and reopens the file for writing: every later use of the runtime
runs the attacker's code as root on the host. /proc/<pid>/exe and /proc/<pid>/fd/* can only
be followed by a process allowed to ptrace the target, and a *non-dumpable* process can't be
ptraced by anyone lacking CAP_SYS_PTRACE, which the container does not have.

pyrunc: the init (init.py ``_child``) and the joining exec process (exec_init.py ``_child``)
call prctl(PR_SET_DUMPABLE, 0) before joining anything, and finalize.py sets it again after
the uid/gid switch (which resets it to fs.suid_dumpable) up to execve.

runc 1.1.5: not vulnerable (fixed in 1.0-rc7: runc re-executes itself from a sealed memfd
copy, and runc init is non-dumpable), so no runc test here; a simulated vulnerable runtime
(a dumpable process joining the container) shows what the scanner would get.

These tests never open anything for writing: reaching the host interpreter through the exe
link, read-only, is the proof.
"""

import ctypes
import json
import os
import subprocess
import sys
import time

from tests.helpers import new_id

# Runs as the container's process: looks for any process of its pid namespace whose exe is
# not our busybox and records whether its exe (and fd directory) could be opened.
SCAN = r"""
: > /tmp/opened; : > /tmp/fds; : > /tmp/denied
while [ ! -e /tmp/stop ]; do
  for d in /proc/[0-9]*; do
    [ "$d" = "/proc/$$" ] && continue
    if { true < "$d/exe"; } 2>/dev/null; then
      # (-e last: a process that exited meanwhile fails both tests)
      if ! [ "$d/exe" -ef /bin/busybox ] && [ -e "$d/exe" ]; then
        echo "${d#/proc/} $(cat $d/comm 2>/dev/null)" >> /tmp/opened
        set -- "$d"/fd/*
        [ -e "$1" ] && echo "${d#/proc/}" >> /tmp/fds
      fi
    elif [ -L "$d/exe" ]; then
      { read -r pid comm state rest < "$d/stat"; } 2>/dev/null &&
        [ "$state" != Z ] && echo "$pid $comm $state" >> /tmp/denied
    fi
  done
done
touch /tmp/done
sleep 300
"""


def _scanner(pyrunc, make_bundle):
    b = make_bundle("sh", "/scan.sh")
    with open(os.path.join(b.rootfs, "scan.sh"), "w") as f:
        f.write(SCAN)
    cid = new_id("scan")
    pyrunc.cmd("run", "--detach", "--bundle", b.path, cid, check=True)
    return cid


def _results(pyrunc, cid):
    pyrunc.cmd("exec", cid, "touch", "/tmp/stop", check=True)
    for _ in range(100):
        if pyrunc.cmd("exec", cid, "test", "-e", "/tmp/done").code == 0:
            break
        time.sleep(0.05)
    r = pyrunc.cmd("exec", cid, "sh", "-c",
                   "cat /tmp/opened; echo ---; cat /tmp/fds; echo ---; cat /tmp/denied",
                   check=True)
    opened, fds, denied = (p.split("\n") for p in r.out.split("---\n"))
    return ([x for x in opened if x], [x for x in fds if x], [x for x in denied if x])


def test_exec_process_is_not_openable_from_the_container(pyrunc, make_bundle):
    """Every `pyrunc exec` process is seen by the scanner but its exe (the host's Python)
    and its fds can't be opened, as root or as another user."""
    cid = _scanner(pyrunc, make_bundle)
    for i in range(40):
        user = ("--user", "1000:1000") if i % 2 else ()
        pyrunc.cmd("exec", *user, cid, "true", check=True)
        if i >= 10:
            pyrunc.cmd("exec", cid, "touch", "/tmp/stop", check=True)
            break
    opened, fds, denied = _results(pyrunc, cid)
    assert opened == [] and fds == [], (opened, fds)
    # the scanner did catch pyrunc's joining processes (so the check above means something)
    assert denied, "the scanner never saw a runtime process; the test proves nothing"


def test_created_init_is_not_openable_from_a_shared_pid_namespace(pyrunc, make_bundle):
    """A created-but-not-started init waits in Python inside the container's pid namespace
    for as long as the client likes; a container sharing that pid namespace (a pod) must not
    be able to reach the host interpreter through it."""
    scan = _scanner(pyrunc, make_bundle)
    pid_a = pyrunc.state(scan)["pid"]
    b = make_bundle("true")
    for ns in b.config["linux"]["namespaces"]:
        if ns["type"] == "pid":
            ns["path"] = "/proc/%d/ns/pid" % pid_a
    b.write()
    member = new_id("member")
    pyrunc.cmd("create", "--bundle", b.path, member, check=True)
    init_b = pyrunc.state(member)["pid"]
    time.sleep(1.0)  # the scanner loops many times over the waiting init
    opened, fds, denied = _results(pyrunc, scan)
    pyrunc.cmd("delete", "--force", member)
    assert opened == [] and fds == [], (opened, fds)
    # the member's init was there, alive, and refused: find its pid as the scanner sees it
    with open("/proc/%d/status" % init_b) as f:
        nspid = [ln.split()[-1] for ln in f if ln.startswith("NSpid:")][0]
    assert any(d.split()[0] == nspid for d in denied), (nspid, denied)


# A vulnerable runtime, simulated: it joins the container's pid and mount namespaces like
# `exec` does but stays dumpable for a while (runc before 1.0-rc7 was in this state while
# `runc init` ran: its exe was the host's runc binary).
_VULNERABLE_JOIN = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
pid = int(sys.argv[1])
fds = [os.open("/proc/%d/ns/%s" % (pid, n), os.O_RDONLY) for n in ("pid", "mnt")]
for fd in fds:
    if libc.setns(fd, 0) != 0:
        sys.exit("setns: %d" % ctypes.get_errno())
child = os.fork()
if child == 0:
    # the container's credentials (no capabilities here), but still the host's python and
    # still dumpable: what a process exec'd by the runtime looked like in the original attack
    hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(hdr, data) != 0:
        os._exit(1)
    time.sleep(3)
    os._exit(0)
os.waitpid(child, 0)
"""


def test_simulated_dumpable_runtime_is_reachable(pyrunc, make_bundle):
    """The same scanner against a runtime that forgets PR_SET_DUMPABLE: it opens the host's
    interpreter (read-only here) and lists the runtime's fds -- the attack would work."""
    cid = _scanner(pyrunc, make_bundle)
    pid = pyrunc.state(cid)["pid"]
    subprocess.run([sys.executable, "-c", _VULNERABLE_JOIN, str(pid)], check=True,
                   timeout=30)
    opened, fds, _ = _results(pyrunc, cid)
    assert opened, "a dumpable runtime process should be reachable through /proc/<pid>/exe"
    assert fds
