"""linux.namespaces: new ones (pid, uts, ipc, net, mount, user, cgroup, time) and joined ones
(by path), seen from inside the container and compared with the host."""

import os
import shutil
import tempfile
import time

import pytest

from tests.helpers import Bundle, default_config, new_id


def _run_ok(rt, b, **kw):
    r = rt.run(b, **kw)
    assert r.code == 0, r
    return r.out


def _without(b, typ):
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"]
                                       if n["type"] != typ]


def _host_ns(typ, pid="self"):
    return os.readlink("/proc/%s/ns/%s" % (pid, typ))


def _wait_running(rt, cid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = rt.state(cid)
        if st and st["status"] == "running":
            return st
        time.sleep(0.02)
    raise AssertionError("%s is not running: %r" % (cid, rt.state(cid)))


def _started(rt, b):
    cid = new_id()
    rt.cmd("create", "--bundle", b.path, cid, check=True)
    rt.cmd("start", cid, check=True)
    return cid, _wait_running(rt, cid)["pid"]


# -- pid ----------------------------------------------------------------------------------


def test_pid_namespace_init_is_pid_1(pyrunc, make_bundle):
    assert _run_ok(pyrunc, make_bundle("sh", "-c", "echo $$; readlink /proc/self")) \
        .split()[0] == "1"


def test_pid_namespace_ps_shows_only_the_containers_processes(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "sleep 30 & until grep -q sleep /proc/$!/comm; do :; done; "
                    "ps -o pid,comm; kill $!")
    rows = [line.split() for line in _run_ok(pyrunc, b).splitlines()[1:]]
    assert sorted(c for _, c in rows) == ["ps", "sh", "sleep"], rows
    assert ["1", "sh"] in rows
    assert all(int(p) <= 10 for p, _ in rows), rows


def test_no_pid_namespace_sees_host_pids(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "echo $$")
    _without(b, "pid")
    b.write()
    assert int(_run_ok(pyrunc, b)) > 1


# -- uts ----------------------------------------------------------------------------------


def test_uts_hostname_and_domainname(pyrunc, make_bundle):
    before = (os.uname().nodename, open("/proc/sys/kernel/domainname").read())
    b = make_bundle("sh", "-c", "hostname; cat /proc/sys/kernel/domainname; uname -n")
    b.config["hostname"] = "box-one"
    b.config["domainname"] = "example.test"
    b.write()
    assert _run_ok(pyrunc, b) == "box-one\nexample.test\nbox-one\n"
    assert (os.uname().nodename, open("/proc/sys/kernel/domainname").read()) == before


def test_uts_namespace_is_new(pyrunc, make_bundle):
    out = _run_ok(pyrunc, make_bundle("readlink", "/proc/self/ns/uts"))
    assert out.strip() != _host_ns("uts")


# -- ipc ----------------------------------------------------------------------------------


def test_ipc_namespace_new_or_host(pyrunc, make_bundle):
    b = make_bundle("readlink", "/proc/self/ns/ipc")
    assert _run_ok(pyrunc, b).strip() != _host_ns("ipc")
    _without(b, "ipc")
    b.write()
    assert _run_ok(pyrunc, b).strip() == _host_ns("ipc")


def test_ipc_namespace_isolates_sysv_objects(pyrunc, make_bundle):
    # a SysV shm segment the host has is not visible in the container's ipc namespace
    import subprocess
    ipcmk = shutil.which("ipcmk")
    if ipcmk is None:
        pytest.skip("ipcmk (util-linux) is not installed")
    out = subprocess.run([ipcmk, "-M", "4096"], capture_output=True, text=True,
                         check=True).stdout
    shmid = out.strip().split()[-1]
    try:
        b = make_bundle("sh", "-c", "cat /proc/sysvipc/shm | wc -l")
        assert _run_ok(pyrunc, b).strip() == "1"  # the header only
        _without(b, "ipc")
        b.write()
        assert int(_run_ok(pyrunc, b).strip()) >= 2  # the host's, with ours
    finally:
        subprocess.run(["ipcrm", "-m", shmid], check=True)


# -- network ------------------------------------------------------------------------------


def test_network_namespace_has_only_lo_and_it_is_up(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags; "
                    "cut -d: -f1 /proc/net/dev | tail -n +3; ip -o link")
    out = _run_ok(pyrunc, b).splitlines()
    assert out[0] == "lo"
    assert int(out[1], 16) & 0x1, "lo is not IFF_UP: %s" % out[1]
    assert [x.strip() for x in out[2:-1]] == ["lo"]
    assert "UP" in out[-1].split("<")[1].split(">")[0].split(",")


def test_network_namespace_lo_works(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "ping -c 1 -W 5 127.0.0.1 >/dev/null && echo ping")
    for k in ("bounding", "effective", "permitted"):
        b.config["process"]["capabilities"][k].append("CAP_NET_RAW")  # a raw ICMP socket
    b.write()
    assert _run_ok(pyrunc, b, timeout=20).strip() == "ping"


def test_no_network_namespace_is_the_hosts(pyrunc, make_bundle):
    b = make_bundle("readlink", "/proc/self/ns/net")
    _without(b, "network")
    b.write()
    assert _run_ok(pyrunc, b).strip() == _host_ns("net")


# -- mount --------------------------------------------------------------------------------


def test_mount_namespace_mounts_do_not_reach_the_host(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "mount -t tmpfs inside /mnt && touch /mnt/made-inside && "
                    "readlink /proc/self/ns/mnt")
    os.makedirs(os.path.join(b.rootfs, "mnt"), exist_ok=True)
    for k in ("bounding", "effective", "permitted"):
        b.config["process"]["capabilities"][k].append("CAP_SYS_ADMIN")
    b.write()
    with open("/proc/self/mountinfo") as f:
        before = f.read()
    out = _run_ok(pyrunc, b)
    assert out.strip() != _host_ns("mnt")
    assert not os.path.exists(os.path.join(b.rootfs, "mnt", "made-inside"))
    with open("/proc/self/mountinfo") as f:
        after = f.read()
    assert [l for l in after.splitlines() if b.path in l] == []
    assert [l for l in before.splitlines() if b.path in l] == []


# -- joining by path ----------------------------------------------------------------------


def test_join_network_and_uts_namespaces_by_path(pyrunc, make_bundle):
    a = make_bundle("sleep", "30")
    a.config["hostname"] = "owner-of-ns"
    a.write()
    _, pid = _started(pyrunc, a)
    b = make_bundle("sh", "-c", "hostname; readlink /proc/self/ns/net; "
                    "readlink /proc/self/ns/uts; readlink /proc/self/ns/ipc")
    for ns in b.config["linux"]["namespaces"]:
        if ns["type"] in ("network", "uts"):
            ns["path"] = "/proc/%d/ns/%s" % (pid, "net" if ns["type"] == "network" else "uts")
    del b.config["hostname"]  # joining, not changing, the first container's uts namespace
    b.write()
    out = _run_ok(pyrunc, b).splitlines()
    assert out[0] == "owner-of-ns"
    assert out[1] == _host_ns("net", pid)
    assert out[2] == _host_ns("uts", pid)
    assert out[3] != _host_ns("ipc", pid)  # not joined: a new one
    assert out[1] != _host_ns("net")


def test_join_namespace_with_bad_path_fails(pyrunc, make_bundle):
    b = make_bundle("true")
    for ns in b.config["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = "/proc/self/ns/does-not-exist"
    b.write()
    r = pyrunc.run(b)
    assert r.code != 0
    assert "does-not-exist" in r.err and len(r.err.strip().splitlines()) == 1, r
    assert pyrunc.ids() == []


# -- user ---------------------------------------------------------------------------------


@pytest.fixture
def open_tmp():
    """A directory every user can traverse (pytest's tmp_path is under a 0700 directory,
    which the container's root, host uid 100000, could not reach)."""
    d = tempfile.mkdtemp(prefix="pyrunc-userns-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _userns_bundle(open_tmp, rootfs_template, args, host_id=100000):
    path = os.path.join(open_tmp, "bundle")
    os.mkdir(path)
    os.chmod(path, 0o755)
    shutil.copytree(rootfs_template, os.path.join(path, "rootfs"), symlinks=True)
    # what podman does for --uidmap: the image belongs to the container's root
    for dirpath, dirs, files in os.walk(os.path.join(path, "rootfs")):
        for name in [dirpath] + [os.path.join(dirpath, n) for n in dirs + files]:
            os.lchown(name, host_id, host_id)
    c = default_config(args)
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": host_id, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": host_id, "size": 65536}]
    return Bundle(path, c).write()


def test_user_namespace_mapping(open_tmp, pyrunc, rootfs_template):
    b = _userns_bundle(open_tmp, rootfs_template,
                       ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; "
                        "readlink /proc/self/ns/user"])
    out = _run_ok(pyrunc, b).splitlines()
    assert out[0].split() == ["0", "100000", "65536"]
    assert out[1].split() == ["0", "100000", "65536"]
    assert out[2:4] == ["0", "0"]
    assert out[4] != _host_ns("user")


def test_user_namespace_host_sees_mapped_ids(open_tmp, pyrunc, rootfs_template):
    data = os.path.join(open_tmp, "data")
    os.mkdir(data)
    os.chown(data, 100000, 100000)
    b = _userns_bundle(open_tmp, rootfs_template,
                       ["sh", "-c", "touch /data/by-root && chown 1000:2000 /data/by-root && "
                        "touch /data/plain && stat -c '%u %g' /data/plain"])
    b.config["mounts"].append({"destination": "/data", "type": "bind", "source": data,
                               "options": ["rbind", "rw"]})
    b.config["process"]["capabilities"] = {
        k: ["CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE"]
        for k in ("bounding", "effective", "permitted")}
    b.write()
    assert _run_ok(pyrunc, b) == "0 0\n"
    st = os.stat(os.path.join(data, "plain"))
    assert (st.st_uid, st.st_gid) == (100000, 100000)
    st = os.stat(os.path.join(data, "by-root"))
    assert (st.st_uid, st.st_gid) == (101000, 102000)


def test_user_namespace_unmapped_host_files_are_nobody(open_tmp, pyrunc, rootfs_template):
    b = _userns_bundle(open_tmp, rootfs_template, ["stat", "-c", "%u %g", "/hostfile"])
    f = os.path.join(open_tmp, "hostfile")
    with open(f, "w") as fh:
        fh.write("x")  # owned by host root: not mapped
    b.config["mounts"].append({"destination": "/hostfile", "type": "bind", "source": f,
                               "options": ["bind", "ro"]})
    b.write()
    assert _run_ok(pyrunc, b) == "65534 65534\n"


def test_user_namespace_process_user(open_tmp, pyrunc, rootfs_template):
    b = _userns_bundle(open_tmp, rootfs_template,
                       ["sh", "-c", "id -u; id -G; grep -E '^(Uid|Gid):' /proc/self/status"])
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [2000]}
    b.write()
    out = _run_ok(pyrunc, b).splitlines()
    assert out[0] == "1000"
    assert out[1].split() == ["1000", "2000"]
    assert out[2].split()[1:] == ["1000"] * 4


# -- cgroup -------------------------------------------------------------------------------


def _cgroup_lines(text):
    return [line.split(":", 2) for line in text.splitlines()]


def test_cgroup_namespace_root_is_the_containers_cgroup(pyrunc, make_bundle):
    b = make_bundle("cat", "/proc/self/cgroup")
    b.config["linux"]["namespaces"].append({"type": "cgroup"})
    b.write()
    lines = _cgroup_lines(_run_ok(pyrunc, b))
    assert ["0", "", "/"] in lines
    assert lines and all(path == "/" for _, _, path in lines), lines


def test_without_cgroup_namespace_paths_are_the_hosts(pyrunc, make_bundle):
    b = make_bundle("cat", "/proc/self/cgroup")
    cg = "/pyrunc-itest-%s" % new_id()  # one level: no parent cgroup left behind
    b.config["linux"]["cgroupsPath"] = cg
    b.write()
    lines = _cgroup_lines(_run_ok(pyrunc, b))
    assert ["0", "", cg] in lines
    assert all(path == cg for _, _, path in lines), lines


# -- time ---------------------------------------------------------------------------------


def test_time_namespace_boottime_offset(pyrunc, make_bundle):
    offset = 10 * 86400
    b = make_bundle("cat", "/proc/uptime")
    b.config["linux"]["namespaces"].append({"type": "time"})
    b.config["linux"]["timeOffsets"] = {"boottime": {"secs": offset, "nanosecs": 0},
                                        "monotonic": {"secs": 3600, "nanosecs": 0}}
    b.write()
    inside = float(_run_ok(pyrunc, b).split()[0])
    with open("/proc/uptime") as f:
        host = float(f.read().split()[0])
    assert abs(inside - (host + offset)) < 30, (inside, host)


def test_time_namespace_without_offsets(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "readlink /proc/self/ns/time; cat /proc/uptime")
    b.config["linux"]["namespaces"].append({"type": "time"})
    b.write()
    out = _run_ok(pyrunc, b).splitlines()
    assert out[0] != _host_ns("time")
    with open("/proc/uptime") as f:
        host = float(f.read().split()[0])
    assert abs(float(out[1].split()[0]) - host) < 30


def test_user_namespace_init_needs_no_late_import(open_tmp, pyrunc, rootfs_template):
    """In a new user namespace the init is host uid 100000, which can't read an interpreter
    installed under /root (mode 0700): whatever it needs later -- seccomp's compiler (struct),
    tmpcopyup's copy (shutil), the hooks -- must have been imported before it unshared (a
    config like this failed with "No module named 'struct'" when the parent stopped
    importing it for the init)."""
    b = _userns_bundle(open_tmp, rootfs_template,
                       ["sh", "-c", "cat /proc/self/uid_map; ls /etc/passwd; mkdir /tmp/x || "
                        "echo mkdir refused"])
    b.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
    b.config["mounts"].append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                               "options": ["tmpcopyup", "nosuid"]})
    b.config["hooks"] = {"createContainer": [{"path": "/bin/true"}],
                         "startContainer": [{"path": "/bin/true"}]}
    b.write()
    out = _run_ok(pyrunc, b).splitlines()
    assert out[0].split() == ["0", "100000", "65536"]
    assert out[1] == "/etc/passwd"
    assert out[-1] == "mkdir refused"
