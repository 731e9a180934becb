"""Import budget of the commands a container engine runs most: which modules `pyrunc start`,
`state`, `kill` and `delete` (and `create`) import. Not a timing test: every module costs
its import on every call (0.05-1 ms each; `import json` alone pulls re and enum, several ms),
and these commands' whole budget is about ten milliseconds, most of it Python's start-up.

The commands run as the launcher runs them (``python -I -S``, explicit sys.path, see
scripts/make-launcher.py) against a real container, and report ``sys.modules``. A failure
names the module that crept in: import it lazily, where it is needed, instead.
"""

import os
import subprocess
import sys
import sysconfig

import pytest

from tests.helpers import REPO, new_id

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (real containers)")

DRIVER = r"""
import sys
out = sys.argv[1]
sys.path[:0] = [%r, %r]
from pyrunc.cli import main
code = main(sys.argv[2:])
with open(out, "w") as f:
    f.write("\n".join(sorted(sys.modules)))
sys.stdout.flush()
import os
os._exit(code)
""" % (REPO, sysconfig.get_path("purelib"))

# beyond what the interpreter itself loads (`python -I -S` has no os: pyrunc._os stands in
# for it, see there): the C half of json (pyrunc.jsonio)
STDLIB = {"_json"}

# the whole of pyrunc that each command may load
COMMON = {"pyrunc", "pyrunc._os", "pyrunc.errors", "pyrunc.log", "pyrunc.cli",
          "pyrunc.cli.args", "pyrunc.container", "pyrunc.container.lifecycle",
          "pyrunc.container.state", "pyrunc.util", "pyrunc.testing", "pyrunc.jsonio"}
BUDGET = {
    "state": COMMON | {"pyrunc.cli.cmd_state"},
    "kill": COMMON | {"pyrunc.cli.cmd_kill"},
    "start": COMMON | {"pyrunc.cli.cmd_start", "fcntl", "_socket"},
    "delete": COMMON | {"pyrunc.cli.cmd_delete", "fcntl", "pyrunc.cgroups"},
}

# never on the path of a container start, create included
HEAVY = {"re", "json", "enum", "typing", "dataclasses", "socket", "subprocess", "argparse",
         "copy", "threading", "signal", "shutil", "tempfile", "collections", "functools",
         "weakref", "inspect", "traceback", "logging", "datetime", "pyrunc.spec.schema",
         "jsonschema"}


def _bare_modules():
    out = subprocess.run([sys.executable, "-I", "-S", "-c",
                          "import sys; print('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def _modules(tmp_path, rt, *args):
    out = tmp_path / ("mods-%s" % args[0])
    err = tmp_path / ("err-%s" % args[0])
    with open(err, "w") as ferr:  # a file, not a pipe: a created init keeps it open
        r = subprocess.run([sys.executable, "-I", "-S", "-c", DRIVER, str(out), "--root",
                            rt.root] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=ferr, timeout=60)
    assert r.returncode == 0, (args, err.read_text())
    return set(out.read_text().split())


def test_lifecycle_commands_stay_within_budget(tmp_path, pyrunc, make_bundle):
    b = make_bundle("sleep", "100")
    cid = new_id()
    bare = _bare_modules()
    loaded = {"create": _modules(tmp_path, pyrunc, "create", "--bundle", b.path, cid),
              "start": _modules(tmp_path, pyrunc, "start", cid),
              "state": _modules(tmp_path, pyrunc, "state", cid),
              "kill": _modules(tmp_path, pyrunc, "kill", cid, "KILL")}
    for _ in range(200):
        st = pyrunc.state(cid)
        if st and st["status"] == "stopped":
            break
    loaded["delete"] = _modules(tmp_path, pyrunc, "delete", cid)
    assert pyrunc.state(cid) is None
    for cmd, mods in loaded.items():
        heavy = sorted(mods & HEAVY)
        assert not heavy, "pyrunc %s imports %s" % (cmd, ", ".join(heavy))
        if cmd in BUDGET:
            extra = sorted(mods - bare - STDLIB - BUDGET[cmd])
            assert not extra, "pyrunc %s imports more than its budget: %s" % (
                cmd, ", ".join(extra))
    # create loads the generated validator, never the schema interpreter or the files
    assert "pyrunc.spec._schema_gen" in loaded["create"]
    assert "os" not in loaded["state"]  # (a test of this test: the bare interpreter has none)
