"""CVE-2025-52565: the /dev/console bind mount redirected by a racing symlink.

For a container with a terminal the runtime opens /dev/ptmx, learns the slave's number N and
bind-mounts "/dev/pts/N" onto /dev/console -- by *path*, before maskedPaths/readonlyPaths are
applied. If /dev is shared with another container (a volume), that one can swap /dev/pts for
a directory of symlinks at the right moment, and the runtime bind-mounts what they point to
(/proc/sysrq-trigger, /proc/sys/kernel/core_pattern...) onto /dev/console, writable.

Setup here: /dev is a volume with ``realpts`` (where the config's devpts ends up: the volume's
"pts" is a symlink to it), ``ptmx -> realpts/ptmx``, and ``ptsfake`` holding N ->
/proc/timer_list (a harmless target) for every N. A thread exchanges "pts" and "ptsfake"
every 0.2 ms. The container reports what /dev/console is.

pyrunc: console.py ``mount_console`` mounts the slave by its descriptor (/proc/self/fd/N of
the fd TIOCGPTPEER returned, with /proc checked to be procfs) onto /dev/console resolved
inside / with RESOLVE_NO_SYMLINKS; the pty's number is never turned back into a path.

runc 1.1.5: VULNERABLE (fixed in 1.2.8/1.3.3). In this setup runc follows the swapped-in
symlink for the console bind mount; most such runs then die in its second by-path open of
/dev/pts/N ("setctty: inappropriate ioctl"), sometimes the container starts with
/dev/console being the procfs file. The runc test accepts either as proof.
"""

import os
import threading
import time

import pytest

from tests.helpers import new_id
from tests.security.common import rename_exchange, run_with_console


def _bundle(make_bundle, tmp_path):
    b = make_bundle("stat", "-L", "-c", "%F", "/dev/console")
    dev = tmp_path / "devvolume"
    (dev / "realpts").mkdir(parents=True)
    (dev / "ptsfake").mkdir()
    for n in range(512):
        os.symlink("/proc/timer_list", str(dev / "ptsfake" / str(n)))
    os.symlink("realpts", str(dev / "pts"))
    os.symlink("realpts/ptmx", str(dev / "ptmx"))
    os.mknod(str(dev / "null"), 0o20666, os.makedev(1, 3))
    b.config["process"]["terminal"] = True
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
    b.config["mounts"].insert(1, {"destination": "/dev", "type": "bind", "source": str(dev),
                                  "options": ["rbind"]})
    return b.write(), str(dev)


class _SlowSwapper:
    def __init__(self, a, b, interval=0.0002):
        self.a, self.b, self.interval = a, b, interval
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            try:
                rename_exchange(self.a, self.b)
            except OSError:
                pass
            time.sleep(self.interval)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join(10)


def _race(rt, b, dev, attempts, stop_on_redirect=False):
    outcomes = []
    with _SlowSwapper(os.path.join(dev, "pts"), os.path.join(dev, "ptsfake")):
        for _ in range(attempts):
            ok, text = run_with_console(rt, b, new_id("console"))
            outcomes.append((ok, text))
            redirected = (ok and text != "character special file") or \
                (not ok and "setctty" in text)
            if redirected and stop_on_redirect:
                break
    return outcomes


def test_console_bind_mount_is_not_redirected(pyrunc, make_bundle, tmp_path):
    b, dev = _bundle(make_bundle, tmp_path)
    outcomes = _race(pyrunc, b, dev, 30)
    started = [t for ok, t in outcomes if ok]
    assert started, outcomes            # the race does leave pyrunc room to run
    assert all(t == "character special file" for t in started), outcomes
    for ok, t in outcomes:              # the other runs lost the ptmx open, cleanly
        if not ok:
            assert len(t.splitlines()) == 1 and "Traceback" not in t, t


@pytest.mark.runc
def test_runc_console_bind_mount_is_redirected(runc, make_bundle, tmp_path):
    b, dev = _bundle(make_bundle, tmp_path)
    outcomes = _race(runc, b, dev, 80, stop_on_redirect=True)
    ok, text = outcomes[-1]
    assert (ok and text != "character special file") or (not ok and "setctty" in text), \
        outcomes


def test_ptmx_from_a_volume_is_checked_before_it_is_opened(pyrunc, make_bundle, tmp_path):
    """Same family: /dev from a volume whose "ptmx" is another device. The runtime opens it
    before it is in the container's device cgroup, and opening some devices has effects
    (/dev/watchdog arms the host's watchdog): only char 5:2 is opened. (/dev/null stands in
    for the dangerous node here.)"""
    b, dev = _bundle(make_bundle, tmp_path)
    os.unlink(os.path.join(dev, "ptmx"))
    os.mknod(os.path.join(dev, "ptmx"), 0o20666, os.makedev(1, 3))
    ok, text = run_with_console(pyrunc, b, new_id("console"))
    assert not ok and "not the pty multiplexer" in text, text
