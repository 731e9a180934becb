"""The init and exec sides use ``pyrunc._os``, and only what it serves without a fallback.

After pivot_root (the init) or the first setns (exec), no import can happen (sync.NoImports):
a name the shim does not have would be looked up in the real ``os``, imported on first use,
and fail there. So: every module the init side has loaded once it is preloaded uses the shim
(or no os at all), and every ``os.NAME`` / ``os.path.NAME`` it names is one the shim has.
"""

import ast
import os
import subprocess
import sys

import pyrunc
from pyrunc import _os

REPO = os.path.dirname(os.path.dirname(pyrunc.__file__))

# every preload path: a config with seccomp, hooks and a tmpcopyup mount
_PROBE = r"""
import sys
sys.path[:0] = %r
import pyrunc.cli
from pyrunc.process import init, exec_init, parent  # noqa: F401
init._preload()
init._preload_for({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}})
ctx = exec_init.ExecContext(proc={"apparmorProfile": "x"}, console_sock=object())
exec_init.preload(ctx)
print(repr({"os": "os" in sys.modules,
            "files": sorted(m.__file__ for n, m in sys.modules.items()
                            if n.startswith("pyrunc") and getattr(m, "__file__", None))}))
""" % ([REPO] + sys.path,)


def _loaded():
    r = subprocess.run([sys.executable, "-I", "-S", "-c", _PROBE], capture_output=True,
                       text=True, check=True)
    return ast.literal_eval(r.stdout)


def _os_names(tree):
    """(name, attribute) for every os.NAME and os.path.NAME in a module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "os":
            yield "os", node.attr
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "os" \
                and node.value.attr == "path":
            yield "os.path", node.attr


def test_init_side_never_imports_os():
    assert _loaded()["os"] is False


def test_every_os_name_of_the_init_side_is_in_the_shim():
    missing = []
    for path in _loaded()["files"]:
        with open(path) as f:
            tree = ast.parse(f.read())
        real = any(isinstance(n, ast.Import) and any(a.name == "os" for a in n.names)
                   for n in tree.body)
        if real:
            missing.append("%s: import os at module level" % path)
        for owner, name in _os_names(tree):
            if owner == "os" and name not in _os.__dict__:
                missing.append("%s: os.%s" % (os.path.relpath(path, REPO), name))
            elif owner == "os.path" and name not in type(_os.path).__dict__:
                missing.append("%s: os.path.%s" % (os.path.relpath(path, REPO), name))
    assert missing == []
