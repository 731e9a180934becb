"""Shared by tests/ and conformance/: real bundles and a runtime driver that cleans up.

``Bundle`` is a busybox rootfs (copied per test from a template built once per session) plus
a config.json made from pyrunc's default spec. ``Runtime`` drives a runtime binary (pyrunc,
or runc for differential tests) with a private ``--root``; on teardown it force-deletes every
container left in that root, so a failing test leaves no process, cgroup or state behind.
"""

import copy
import json
import os
import shutil
import subprocess
import sys
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared")


def pyrunc_argv():
    exe = os.path.join(REPO, ".venv", "bin", "pyrunc")
    if os.path.exists(exe):
        return [exe]
    return [sys.executable, "-m", "pyrunc"]


def build_rootfs(dest):
    bb = shutil.which("busybox") or "/bin/busybox"
    for d in ("bin", "etc", "dev", "proc", "sys", "tmp", "root", "run"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    shutil.copy2(bb, os.path.join(dest, "bin", "busybox"))
    out = subprocess.run([bb, "--list"], capture_output=True, text=True, check=True).stdout
    for applet in out.split():
        if applet != "busybox":
            link = os.path.join(dest, "bin", applet)
            if not os.path.lexists(link):
                os.symlink("busybox", link)
    with open(os.path.join(dest, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
    with open(os.path.join(dest, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    os.chmod(os.path.join(dest, "tmp"), 0o1777)


def default_config(args):
    sys.path.insert(0, REPO)
    from pyrunc.spec.default import default_spec
    c = default_spec()
    c["process"]["terminal"] = False
    c["process"]["args"] = list(args)
    c["root"]["readonly"] = False
    return c


class Bundle:
    def __init__(self, path, config):
        self.path = path
        self.config = config
        self.rootfs = os.path.join(path, "rootfs")

    def write(self):
        with open(os.path.join(self.path, "config.json"), "w") as f:
            json.dump(self.config, f, indent=1)
        return self

    def clone(self, path):
        """A second bundle with the same rootfs content and a copy of the config."""
        shutil.copytree(self.rootfs, os.path.join(path, "rootfs"), symlinks=True)
        return Bundle(path, copy.deepcopy(self.config)).write()


class Result:
    def __init__(self, cp):
        self.code = cp.returncode
        self.out = cp.stdout
        self.err = cp.stderr

    def __repr__(self):
        return "Result(code=%r, out=%r, err=%r)" % (self.code, self.out, self.err)


class Runtime:
    """Run ``<runtime> --root <private root> ...`` and clean up after the test."""

    def __init__(self, argv, root, name="pyrunc"):
        self.argv = list(argv)
        self.root = root
        self.name = name

    def cmd(self, *args, input=None, timeout=60, check=False, env=None, stdin=None,
            pass_fds=(), global_args=()):
        full = self.argv + ["--root", self.root] + list(global_args) + [str(a) for a in args]
        kw = {}
        if stdin is not None:
            kw["stdin"] = stdin
        elif input is None:
            kw["stdin"] = subprocess.DEVNULL
        # files, not pipes: a created container inherits the runtime's stdio and keeps it
        # open, so reading a pipe to EOF would wait for the container to exit
        import tempfile
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            cp = subprocess.run(full, input=input, stdout=out, stderr=err, text=True,
                                timeout=timeout, env=env, pass_fds=pass_fds, **kw)
            out.seek(0)
            err.seek(0)
            cp.stdout, cp.stderr = out.read(), err.read()
        r = Result(cp)
        if check and r.code != 0:
            raise AssertionError("%s %s failed: %r" % (self.name, " ".join(map(str, args)), r))
        return r

    def run(self, bundle, cid=None, timeout=60, **kw):
        """Foreground run of the bundle: (Result) with the container's output and status."""
        cid = cid or new_id()
        return self.cmd("run", "--bundle", bundle.path, cid, timeout=timeout, **kw)

    def state(self, cid):
        r = self.cmd("state", cid)
        if r.code != 0:
            return None
        return json.loads(r.out)

    def ids(self):
        r = self.cmd("list", "-q")
        return r.out.split() if r.code == 0 else []

    def cleanup(self):
        for cid in self.ids():
            self.cmd("delete", "--force", cid, timeout=30)
        if os.path.isdir(self.root):
            for name in os.listdir(self.root):
                # anything list didn't show (half-created): force delete tolerates it
                self.cmd("delete", "--force", name, timeout=30)


def new_id(prefix="t"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])
