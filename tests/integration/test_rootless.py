"""Rootless: pyrunc run by an unprivileged user (lifecycle, exec, tty, subuid ranges)."""

import json
import os
import pwd
import shutil
import subprocess
import uuid

import pytest

from tests.helpers import REPO, new_id

PY = "/usr/bin/python3"


def _free_uid():
    for uid in range(47000, 48000):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise RuntimeError("no free uid")


class User:
    """A throw-away unprivileged user with a home, a subuid/subgid range and a launcher."""

    def __init__(self, tmp):
        self.name = "pyrt%s" % uuid.uuid4().hex[:8]
        self.uid = _free_uid()
        self.home = os.path.join(tmp, "home")
        os.mkdir(self.home)
        subprocess.run(["useradd", "-M", "-d", self.home, "-u", str(self.uid), "-U",
                        self.name], check=True)
        self.gid = pwd.getpwnam(self.name).pw_gid
        os.chown(self.home, self.uid, self.gid)
        os.chmod(tmp, 0o755)
        self.sub = 500000 + (self.uid - 47000) * 65536
        for f in ("/etc/subuid", "/etc/subgid"):
            with open(f, "a") as fh:
                fh.write("%s:%d:65536\n" % (self.name, self.sub))
        self.xdg = os.path.join(self.home, "run")
        os.mkdir(self.xdg, 0o700)
        os.chown(self.xdg, self.uid, self.gid)
        # Debian's python3 + python3-cffi-backend: readable by any user (the dev venv's
        # interpreter may live under /root)
        self.launcher = os.path.join(tmp, "pyrunc")
        with open(self.launcher, "w") as f:
            f.write("#!%s -IS\nimport sys\nsys.path[:0] = [%r, '/usr/lib/python3/dist-packages']"
                    "\nfrom pyrunc.cli import main\nsys.exit(main())\n" % (PY, REPO))
        os.chmod(self.launcher, 0o755)

    def run(self, *args, timeout=60, script=False):
        cmd = [self.launcher] + [str(a) for a in args]
        env = ["env", "-i", "PATH=/usr/bin:/bin", "XDG_RUNTIME_DIR=" + self.xdg,
               "HOME=" + self.home]
        if script:
            cmd = ["script", "-qec", " ".join(cmd), "/dev/null"]
        import tempfile
        # files, not pipes: a detached container keeps the runtime's stdout open
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            cp = subprocess.run(["runuser", "-u", self.name, "--"] + env + cmd,
                                cwd=self.home, stdout=out, stderr=err, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
            out.seek(0)
            err.seek(0)
            cp.stdout, cp.stderr = out.read(), err.read()
        return cp

    def cleanup(self):
        import time
        for _ in range(100):  # userdel refuses while the user still has processes
            if subprocess.run(["pkill", "-9", "-U", str(self.uid)],
                              capture_output=True).returncode != 0:
                break
            time.sleep(0.05)
        for f in ("/etc/subuid", "/etc/subgid"):
            with open(f) as fh:
                lines = [x for x in fh if not x.startswith(self.name + ":")]
            with open(f, "w") as fh:
                fh.writelines(lines)
        subprocess.run(["userdel", self.name], capture_output=True)
        subprocess.run(["groupdel", self.name], capture_output=True)


@pytest.fixture
def user():
    if not os.path.exists(PY) or shutil.which("runuser") is None:
        pytest.fail("needs /usr/bin/python3 (python3-cffi-backend) and runuser: run setup.sh")
    import tempfile
    tmp = tempfile.mkdtemp(prefix="pyrunc-rootless-")  # pytest's tmp dirs are root-only
    u = User(tmp)
    try:
        yield u
    finally:
        u.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def rbundle(user, rootfs_template):
    b = os.path.join(user.home, "bundle")
    os.mkdir(b)
    shutil.copytree(rootfs_template, os.path.join(b, "rootfs"), symlinks=True)
    subprocess.run(["chown", "-R", "%d:%d" % (user.uid, user.gid), b], check=True)
    r = user.run("spec", "--rootless", "--bundle", b)
    assert r.returncode == 0, r

    def write(args, **edit):
        path = os.path.join(b, "config.json")
        with open(path) as f:
            c = json.load(f)
        c["process"]["terminal"] = False
        c["process"]["args"] = list(args)
        c["root"]["readonly"] = False
        for k, v in edit.items():
            c[k] = v
        with open(path, "w") as f:
            json.dump(c, f)
        return c
    write.path = b
    return write


def test_rootless_run_in_own_user_namespace(user, rbundle):
    rbundle(["sh", "-c", "id -u; cat /proc/self/uid_map; touch /tmp/f; stat -c %u /tmp/f"])
    r = user.run("run", "--bundle", rbundle.path, new_id())
    assert r.returncode == 0, r
    lines = r.stdout.split("\n")
    assert lines[0] == "0"
    assert lines[1].split() == ["0", str(user.uid), "1"]
    assert os.listdir(user.xdg) == ["pyrunc"]  # state under $XDG_RUNTIME_DIR
    assert os.listdir(os.path.join(user.xdg, "pyrunc")) == []  # and removed after run


def test_rootless_lifecycle_exec_and_tty(user, rbundle):
    rbundle(["sleep", "300"])
    cid = new_id()
    assert user.run("run", "-d", "--bundle", rbundle.path, cid).returncode == 0
    st = json.loads(user.run("state", cid).stdout)
    assert st["status"] == "running"
    assert os.stat("/proc/%d" % st["pid"]).st_uid == user.uid  # really unprivileged
    r = user.run("exec", cid, "sh", "-c", "id -u; readlink /proc/self/ns/user")
    assert r.returncode == 0, r
    assert r.stdout.split()[0] == "0"
    assert r.stdout.split()[1] == os.readlink("/proc/%d/ns/user" % st["pid"])
    r = user.run("exec", "-t", cid, "tty", script=True)
    assert "/dev/pts/" in r.stdout, r
    assert user.run("kill", cid, "KILL").returncode == 0
    r = user.run("delete", "--force", cid)
    assert r.returncode == 0, r
    assert user.run("list", "-q").stdout == ""


def test_rootless_subuid_range_via_newuidmap(user, rbundle):
    if shutil.which("newuidmap") is None:
        pytest.fail("newuidmap missing: setup.sh installs package uidmap")
    maps = [{"containerID": 0, "hostID": user.uid, "size": 1},
            {"containerID": 1, "hostID": user.sub, "size": 65536}]
    gmaps = [{"containerID": 0, "hostID": user.gid, "size": 1},
             {"containerID": 1, "hostID": user.sub, "size": 65536}]
    c = rbundle(["sh", "-c", "id -u; cat /proc/self/uid_map"])
    c["linux"]["uidMappings"] = maps
    c["linux"]["gidMappings"] = gmaps
    c["process"]["user"] = {"uid": 1000, "gid": 1000}
    with open(os.path.join(rbundle.path, "config.json"), "w") as f:
        json.dump(c, f)
    r = user.run("run", "--bundle", rbundle.path, new_id())
    assert r.returncode == 0, r
    out = r.stdout.split("\n")
    assert out[0] == "1000"
    assert out[2].split() == ["1", str(user.sub), "65536"]


def test_rootless_unallowed_range_is_explained(user, rbundle):
    c = rbundle(["true"])
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1, "size": 10}]
    with open(os.path.join(rbundle.path, "config.json"), "w") as f:
        json.dump(c, f)
    r = user.run("run", "--bundle", rbundle.path, new_id())
    assert r.returncode != 0
    assert r.stderr.startswith("linux.uidMappings") and len(r.stderr.splitlines()) == 1


@pytest.fixture
def delegated(user):
    """A cgroup parent in every v1 hierarchy owned by the user (as a delegating admin or
    systemd's Delegate=yes would arrange); removed afterwards."""
    from pyrunc import cgroups
    name = "pyrunc-deleg-%s" % user.name
    made = []
    for key, mnt in cgroups.mounted_hierarchies().items():
        if key == "":
            continue  # leave cgroup v2 undelegated: those joins must be skipped
        d = os.path.join(mnt, name)
        os.mkdir(d)
        made.append(d)
        if "cpuset" in key.split(","):
            for f in ("cpuset.cpus", "cpuset.mems"):
                with open(os.path.join(mnt, f)) as src, open(os.path.join(d, f), "w") as dst:
                    dst.write(src.read().strip())
        for entry in [d] + [os.path.join(d, f) for f in os.listdir(d)]:
            os.chown(entry, user.uid, user.gid)
    yield "/" + name
    import time
    for d in made:
        for _ in range(100):
            try:
                for sub in os.listdir(d):
                    if os.path.isdir(os.path.join(d, sub)):
                        os.rmdir(os.path.join(d, sub))
                os.rmdir(d)
                break
            except OSError:
                time.sleep(0.05)


def test_rootless_uses_delegated_cgroups_only(user, rbundle, delegated):
    c = rbundle(["sleep", "300"])
    c["linux"]["cgroupsPath"] = delegated + "/ctr"
    c["linux"]["resources"] = {"pids": {"limit": 42}}
    c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    with open(os.path.join(rbundle.path, "config.json"), "w") as f:
        json.dump(c, f)
    cid = new_id()
    r = user.run("run", "-d", "--bundle", rbundle.path, cid)
    assert r.returncode == 0, r
    pid = json.loads(user.run("state", cid).stdout)["pid"]
    cg = dict(line.split(":", 2)[1:] for line in open("/proc/%d/cgroup" % pid).read().split("\n")
              if line)
    assert cg["pids"] == delegated + "/ctr" and cg["memory"].endswith(delegated + "/ctr")
    assert cg[""] != delegated + "/ctr"  # cgroup v2 was not delegated: skipped
    pids_max = "/sys/fs/cgroup/pids%s/ctr/pids.max" % delegated
    assert open(pids_max).read().strip() == "42"  # the limit, written as the user
    assert user.run("delete", "--force", cid).returncode == 0
    assert not os.path.exists(os.path.dirname(pids_max))  # removed by delete
