"""Test hook: named kill points, to SIGKILL the runtime at a chosen step of an operation.

``killpoint(name)`` sits between the steps of create / start / exec / delete. When the
environment variable ``PYRUNC_TEST_KILLPOINT`` is

  ``NAME``     the process reaching point NAME kills itself with SIGKILL there;
  ``NAME@N``   the same, at the Nth time this process reaches NAME;
  ``NAME~S``   the process reaching NAME sleeps S seconds there (to force an interleaving);
  ``/PATH``    every point reached is appended to file PATH, a line ``NAME PID NS`` each (NS:
               CLOCK_MONOTONIC in ns), to list the points an operation passes
               (tests/reliability checks each one is exercised) and to see where its time
               goes (bench/timeline.py).

Unset (production), a point costs one ``os.environ`` lookup. This module imports nothing
beyond ``pyrunc._os`` (``os`` for the short commands). SIGKILL, not an exception: it is what
the OOM killer, ``systemctl kill`` or a crashing shim do, and no ``finally`` clause runs.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

_hits = {}


def killpoint(name):
    want = os.environ.get("PYRUNC_TEST_KILLPOINT")
    if not want:
        return
    if want == name:
        _die()
    elif want[0] == "/":
        try:  # (after pivot_root, an init can't see the file: those points go unlogged)
            fd = os.open(want, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return
        try:
            import time  # built in: no real import
            os.write(fd, ("%s %d %d\n" % (name, os.getpid(), time.monotonic_ns())).encode())
        finally:
            os.close(fd)
    elif want.startswith(name + "~"):
        import time  # loaded at interpreter start-up: no real import
        time.sleep(float(want[len(name) + 1:]))
    elif want.startswith(name + "@"):
        n = _hits[name] = _hits.get(name, 0) + 1
        if want[len(name) + 1:] == str(n):
            _die()


def mark(name):
    """A timeline point only: logged like a kill point in ``/PATH`` mode (as ``t:NAME``),
    never a place to kill or delay (bench/timeline.py reads them)."""
    want = os.environ.get("PYRUNC_TEST_KILLPOINT")
    if want and want[0] == "/":
        killpoint("t:" + name)


def _die():
    if os.getpid() == 1:
        # a pid namespace's init can't be SIGKILLed from inside: end it just as abruptly
        os._exit(137)
    os.kill(os.getpid(), 9)
