"""pyrunc's command line: global flags, then a subcommand (one module each, imported lazily).

Kept import-light on purpose: every container start pays for this module, so nothing here
imports more than the subcommand needs.
"""

import sys

from pyrunc import errors, log
from pyrunc.cli import args as A
from pyrunc.testing import mark

GLOBAL_FLAGS = A.table(
    ("root", None, "str"), ("log", None, "str"), ("log-format", None, "str"),
    ("debug", None, "bool"), ("systemd-cgroup", None, "bool"), ("rootless", None, "str"),
    ("criu", None, "str"), ("version", "v", "bool"), ("help", "h", "bool"),
)

COMMANDS = {
    "create": "create", "start": "start", "state": "state", "kill": "kill",
    "delete": "delete", "run": "run", "list": "list", "spec": "spec",
    "exec": "exec", "features": "features", "ps": "ps", "pause": "pause",
    "resume": "resume", "update": "update", "events": "events", "check": "check",
}

DEFAULT_ROOT = "/run/pyrunc"

USAGE = """usage: pyrunc [global options] command [command options] [arguments...]

An OCI container runtime (runc-compatible).

commands:
  create   create a container            start    start a created container
  run      create and start a container  state    output the state of a container
  kill     send a signal to a container  delete   delete a container
  list     list containers               spec     write a new config.json
  exec     run a process in a container  check    would create work here? why not?
  ps       processes of a container      pause    freeze a container
  resume   thaw a paused container       update   change a container's resources
  events   stats and OOM events (JSON)   features what this build and host support
global options:
  --root DIR (default /run/pyrunc)  --log FILE  --log-format text|json  --debug
  --systemd-cgroup  --version
"""


def default_root():
    """runc's choice: /run/<runtime> for root, $XDG_RUNTIME_DIR/<runtime> for other users."""
    from pyrunc import _os as os
    if os.geteuid() == 0:
        return DEFAULT_ROOT
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return os.path.join(xdg, "pyrunc")
    return "/tmp/pyrunc-%d" % os.geteuid()


class Globals:
    def __init__(self, vals):
        self.root = vals["root"] or default_root()
        self.log = vals["log"]
        self.log_format = vals["log-format"] or "text"
        self.debug = vals["debug"]
        self.systemd_cgroup = vals["systemd-cgroup"]
        self.rootless = vals["rootless"] or "auto"
        if self.rootless not in ("auto", "true", "false"):
            raise errors.UsageError("--rootless: %r is not one of auto, true, false"
                                    % self.rootless)


def version_text():
    from pyrunc import __version__, SPEC_VERSION
    return ("pyrunc version %s\ncommit: pyrunc-%s\nspec: %s\npython: %s\n" % (
        __version__, __version__, SPEC_VERSION, sys.version.split()[0]))


def exit_now(code):
    """End the process with status ``code`` right away: flush stdout and stderr, os._exit.

    The launcher's way out. A normal interpreter exit tears down every module and object
    first, about 1.5 ms, a tenth of a whole ``pyrunc state``; nothing of pyrunc's needs it
    (files are written with os.write or closed by ``with``, state is on disk, the cgroup
    warmer thread may just stop). A stdout that can't be flushed exits 120, as Python does."""
    from posix import _exit
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError):
            code = code or 120
    _exit(code)


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    mark("cli:main")
    try:
        vals, rest = A.parse(argv, GLOBAL_FLAGS)
        g = Globals(vals)
        if g.log_format not in ("text", "json"):
            raise errors.UsageError("invalid log-format: %s" % g.log_format)
        log.configure(g.log, g.log_format, g.debug)
        if vals["version"]:
            sys.stdout.write(version_text())
            return 0
        if vals["help"] or not rest or rest[0] == "help":
            sys.stdout.write(USAGE)
            return 0
        name = COMMANDS.get(rest[0])
        if name is None:
            raise errors.UsageError("No help topic for '%s'" % rest[0])
        if name in ("create", "run", "exec") and "-h" not in rest and "--help" not in rest:
            # the caller's fds, before we open ours: what --preserve-fds may pass on
            from pyrunc import util
            util.remember_caller_fds()
            # let the kernel's cgroup lock warm up while we import and validate
            from pyrunc.cgroups import warm
            warm.early()
            if name != "exec":
                # and the container's init import its half of pyrunc on the other core
                # (process/parent.py); create adopts it, anything else ends it (finally)
                from pyrunc.process import parent
                parent.fork_early()
        if name == "events":
            import gc  # the launcher disabled it for short commands; this one may run for days
            gc.enable()
        mod = __import__("pyrunc.cli.cmd_" + name, fromlist=["run"])
        return mod.run(g, rest[1:]) or 0
    except errors.PyruncError as e:
        log.error(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug must still be one line for clients parsing our output
        if "--debug" in argv:
            import traceback
            traceback.print_exc()
        log.error("internal error: %s: %s" % (type(e).__name__, e))
        return 1
    finally:
        parent = sys.modules.get("pyrunc.process.parent")
        if parent is not None:
            parent.discard_early()
