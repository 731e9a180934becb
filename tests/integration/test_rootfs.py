"""The container's filesystem: mounts[] with their options, binds, tmpfs, tmpcopyup,
root.readonly, maskedPaths, readonlyPaths, /dev, linux.devices, sysctl, rootfsPropagation,
--no-pivot, symlinks in the rootfs that try to escape it, and relative root.path."""

import os
import uuid

from tests.helpers import new_id


def _run_ok(rt, b, **kw):
    r = rt.run(b, **kw)
    assert r.code == 0, r
    return r.out


def _mountinfo(text):
    """mountinfo text -> {mountpoint: (per-mount options set, fstype, source, super options
    set, optional fields)} (the last mount on a mount point wins: it is the visible one)."""
    out = {}
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        f = left.split()
        r = right.split()
        out[f[4]] = (set(f[5].split(",")), r[0], r[1], set(r[2].split(",")), f[6:])
    return out


def _mounts_seen(rt, b):
    b.config["process"]["args"] = ["cat", "/proc/self/mountinfo"]
    b.write()
    return _mountinfo(_run_ok(rt, b))


# -- mounts[] and their options ------------------------------------------------------------


def test_default_mounts_and_their_options(pyrunc, make_bundle):
    m = _mounts_seen(pyrunc, make_bundle())
    assert m["/proc"][1] == "proc"
    assert m["/dev"][1] == "tmpfs" and {"rw", "nosuid"} <= m["/dev"][0]
    assert {"size=65536k", "mode=755"} <= m["/dev"][3]
    assert m["/dev/pts"][1] == "devpts"
    assert {"nosuid", "noexec"} <= m["/dev/pts"][0]
    assert {"gid=5", "mode=620", "ptmxmode=666"} <= m["/dev/pts"][3]
    assert m["/dev/shm"][1] == "tmpfs" and {"nosuid", "nodev", "noexec"} <= m["/dev/shm"][0]
    assert m["/dev/mqueue"][1] == "mqueue"
    assert m["/sys"][1] == "sysfs" and {"ro", "nosuid", "nodev", "noexec"} <= m["/sys"][0]
    assert "/sys/fs/cgroup" in m


def test_mount_options_in_mountinfo(pyrunc, make_bundle):
    b = make_bundle()
    b.config["mounts"] += [
        {"destination": "/m/a", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "noexec", "relatime"]},
        {"destination": "/m/b", "type": "tmpfs", "source": "tmpfs",
         "options": ["ro", "noatime"]},
        {"destination": "/m/c", "type": "tmpfs", "source": "tmpfs",
         "options": ["strictatime", "nosuid"]},
        {"destination": "/m/d", "type": "tmpfs", "source": "tmpfs",
         "options": ["nodiratime", "nosymfollow"]},
    ]
    m = _mounts_seen(pyrunc, b)
    assert m["/m/a"][0] == {"rw", "nosuid", "nodev", "noexec", "relatime"}
    assert m["/m/b"][0] == {"ro", "noatime"}
    assert m["/m/c"][0] == {"rw", "nosuid"}
    assert m["/m/d"][0] == {"rw", "nodiratime", "nosymfollow", "relatime"}


def test_mounts_are_made_in_order(pyrunc, make_bundle):
    # a later mount on top of an earlier one wins
    b = make_bundle("sh", "-c", "grep ' /m ' /proc/self/mountinfo | wc -l; "
                    "grep ' /m ' /proc/self/mountinfo | tail -1 | cut -d' ' -f6")
    b.config["mounts"] += [
        {"destination": "/m", "type": "tmpfs", "source": "first", "options": ["rw"]},
        {"destination": "/m", "type": "tmpfs", "source": "second", "options": ["ro"]},
    ]
    b.write()
    out = _run_ok(pyrunc, b).split()
    assert out[0] == "2" and out[1].startswith("ro")


def test_bind_host_dir_ro(pyrunc, make_bundle, tmp_path):
    src = tmp_path / "hostdir"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("from host\n")
    b = make_bundle("sh", "-c", "cat /data/sub/f; touch /data/new 2>&1; echo rc=$?")
    b.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(src),
                               "options": ["rbind", "ro", "nosuid", "nodev"]})
    b.write()
    out = _run_ok(pyrunc, b)
    assert out.startswith("from host\n")
    assert "Read-only file system" in out and "rc=1" in out
    assert not (src / "new").exists()
    m = _mounts_seen(pyrunc, b)
    assert {"ro", "nosuid", "nodev"} <= m["/data"][0]


def test_bind_host_dir_rw_writes_reach_the_host(pyrunc, make_bundle, tmp_path):
    src = tmp_path / "hostdir"
    src.mkdir()
    b = make_bundle("sh", "-c", "echo written > /data/new")
    b.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(src),
                               "options": ["rbind"]})
    b.write()
    _run_ok(pyrunc, b)
    assert (src / "new").read_text() == "written\n"


def test_bind_host_file(pyrunc, make_bundle, tmp_path):
    src = tmp_path / "hosts"
    src.write_text("127.0.0.1 bound\n")
    b = make_bundle("sh", "-c", "cat /etc/hosts; stat -c %F /etc/hosts; echo x >> /etc/hosts "
                    "2>/dev/null; echo rc=$?")
    b.config["mounts"].append({"destination": "/etc/hosts", "type": "bind",
                               "source": str(src), "options": ["bind", "ro"]})
    b.write()
    assert _run_ok(pyrunc, b) == "127.0.0.1 bound\nregular file\nrc=1\n"
    assert src.read_text() == "127.0.0.1 bound\n"


def test_bind_file_creates_missing_destination(pyrunc, make_bundle, tmp_path):
    src = tmp_path / "f"
    src.write_text("content\n")
    b = make_bundle("cat", "/new/dir/file")
    b.config["mounts"].append({"destination": "/new/dir/file", "type": "none",
                               "source": str(src), "options": ["bind"]})
    b.write()
    assert _run_ok(pyrunc, b) == "content\n"
    assert os.path.isfile(os.path.join(b.rootfs, "new/dir/file"))


def test_rbind_carries_submounts_bind_does_not(pyrunc, make_bundle):
    # the host's /sys/fs/cgroup has one mount per hierarchy below it
    b = make_bundle("sh", "-c", "grep -c ' /r/' /proc/self/mountinfo; "
                    "grep -c ' /n/' /proc/self/mountinfo; true")
    b.config["mounts"] += [
        {"destination": "/r", "type": "bind", "source": "/sys/fs/cgroup",
         "options": ["rbind", "ro"]},
        {"destination": "/n", "type": "bind", "source": "/sys/fs/cgroup",
         "options": ["bind", "ro"]},
    ]
    b.write()
    r, n = _run_ok(pyrunc, b).split()
    assert int(r) >= 2
    assert int(n) == 0


def test_bind_relative_source_is_relative_to_bundle(pyrunc, make_bundle):
    b = make_bundle("cat", "/data/in-bundle")
    os.mkdir(os.path.join(b.path, "vol"))
    with open(os.path.join(b.path, "vol", "in-bundle"), "w") as f:
        f.write("bundle vol\n")
    b.config["mounts"].append({"destination": "/data", "type": "bind", "source": "vol",
                               "options": ["rbind"]})
    b.write()
    assert _run_ok(pyrunc, b) == "bundle vol\n"


def test_tmpfs_size_and_mode(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "stat -c '%a %u %g' /scratch; df -k /scratch | tail -1")
    b.config["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                               "options": ["size=1m", "mode=1770", "uid=12", "gid=34"]})
    b.write()
    out = _run_ok(pyrunc, b).splitlines()
    assert out[0] == "1770 12 34"
    assert out[1].split()[1] == "1024"


def test_tmpfs_size_is_enforced(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "dd if=/dev/zero of=/small/f bs=1k count=200 2>&1; echo rc=$?")
    b.config["mounts"].append({"destination": "/small", "type": "tmpfs", "source": "tmpfs",
                               "options": ["size=64k"]})
    b.write()
    out = _run_ok(pyrunc, b)
    assert "No space left on device" in out and "rc=1" in out


def test_tmpcopyup(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "cat /etc/marker; stat -c '%a' /etc/sub; readlink /etc/lnk; "
                    "grep ' /etc ' /proc/self/mountinfo | cut -d' ' -f9; "
                    "echo changed > /etc/marker")
    os.makedirs(os.path.join(b.rootfs, "etc", "sub"))
    os.chmod(os.path.join(b.rootfs, "etc", "sub"), 0o750)
    with open(os.path.join(b.rootfs, "etc", "marker"), "w") as f:
        f.write("from image\n")
    os.symlink("marker", os.path.join(b.rootfs, "etc", "lnk"))
    b.config["mounts"].append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                               "options": ["tmpcopyup", "nosuid", "nodev"]})
    b.write()
    assert _run_ok(pyrunc, b) == "from image\n750\nmarker\ntmpfs\n"
    # the write went to the tmpfs, not to the image
    with open(os.path.join(b.rootfs, "etc", "marker")) as f:
        assert f.read() == "from image\n"


def test_tmpfs_ro_is_readonly_but_filled(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "cat /etc/passwd | head -1; touch /etc/x 2>&1; echo rc=$?")
    b.config["mounts"].append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                               "options": ["tmpcopyup", "ro"]})
    b.write()
    out = _run_ok(pyrunc, b)
    assert out.startswith("root:x:0:0:")
    assert "Read-only file system" in out and "rc=1" in out


def test_mount_under_readonly_tmpfs(pyrunc, make_bundle, tmp_path):
    # a read-only tmpfs is made read-only last, so later mounts can still create their
    # mount points in it (runc's order)
    (tmp_path / "f").write_text("inner\n")
    b = make_bundle("cat", "/ro/inner/f")
    b.config["mounts"] += [
        {"destination": "/ro", "type": "tmpfs", "source": "tmpfs", "options": ["ro"]},
        {"destination": "/ro/inner", "type": "bind", "source": str(tmp_path),
         "options": ["rbind"]},
    ]
    b.write()
    assert _run_ok(pyrunc, b) == "inner\n"


# -- root.readonly, maskedPaths, readonlyPaths ---------------------------------------------


def test_root_readonly(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "touch /x 2>&1; echo rc=$?; touch /dev/shm/ok && echo shm-ok")
    b.config["root"]["readonly"] = True
    b.write()
    out = _run_ok(pyrunc, b)
    assert "Read-only file system" in out and "rc=1" in out
    assert "shm-ok" in out
    assert not os.path.exists(os.path.join(b.rootfs, "x"))
    m = _mounts_seen(pyrunc, b)
    assert "ro" in m["/"][0]


def test_root_writable_by_default_here(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "touch /x && echo ok")
    assert _run_ok(pyrunc, b) == "ok\n"
    assert os.path.exists(os.path.join(b.rootfs, "x"))


def test_masked_paths(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "wc -c < /proc/timer_list; cat /etc/secret; echo '|'; "
                    "ls -A /secretdir | wc -l; stat -c %F /etc/secret; "
                    "touch /secretdir/x 2>/dev/null; echo rc=$?")
    os.mkdir(os.path.join(b.rootfs, "secretdir"))
    with open(os.path.join(b.rootfs, "secretdir", "inside"), "w") as f:
        f.write("hidden")
    with open(os.path.join(b.rootfs, "etc", "secret"), "w") as f:
        f.write("hidden")
    # (this kernel has no /proc/kcore: /proc/timer_list is a masked /proc file it has)
    b.config["linux"]["maskedPaths"] = ["/proc/timer_list", "/etc/secret", "/secretdir",
                                        "/does/not/exist"]
    b.write()
    out = _run_ok(pyrunc, b).splitlines()
    assert out == ["0", "|", "0", "character special file", "rc=1"]


def test_readonly_paths(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "(echo x > /proc/sys/kernel/domainname) 2>&1; echo rc=$?; "
                    "touch /etc/x 2>&1; echo rc=$?; touch /tmp/x && echo tmp-ok")
    b.config["linux"]["readonlyPaths"] = ["/proc/sys", "/etc", "/does/not/exist"]
    b.write()
    out = _run_ok(pyrunc, b)
    assert out.count("Read-only file system") == 2 and out.count("rc=1") == 2, out
    assert "tmp-ok" in out


def test_readonly_paths_keep_nosuid_nodev_noexec(pyrunc, make_bundle):
    # /proc is mounted nosuid,nodev,noexec: a read-only rebind of /proc/sys keeps them (runc)
    b = make_bundle()
    b.config["mounts"][0]["options"] = ["nosuid", "nodev", "noexec"]
    b.config["linux"]["readonlyPaths"] = ["/proc/sys"]
    m = _mounts_seen(pyrunc, b)
    assert {"ro", "nosuid", "nodev", "noexec"} <= m["/proc/sys"][0]


# -- /dev ---------------------------------------------------------------------------------


def _stat_dev(out):
    """`stat -c '%n|%F|%t:%T|%a|%u|%g|%N'` lines -> {name: (type, 'maj:min', mode, uid,
    gid, link target)} with decimal device numbers."""
    res = {}
    for line in out.splitlines():
        name, typ, dev, mode, uid, gid, n = line.split("|")
        ma, mi = dev.split(":")
        target = n.split(" -> ")[1].strip("'`\"") if " -> " in n else ""
        res[name] = (typ, "%d:%d" % (int(ma, 16), int(mi, 16)), mode, uid, gid, target)
    return res


STAT = "stat -c '%n|%F|%t:%T|%a|%u|%g|%N'"


def test_dev_default_devices(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", STAT + " /dev/null /dev/zero /dev/full /dev/random "
                    "/dev/urandom /dev/tty /dev/ptmx /dev/fd /dev/stdin /dev/stdout "
                    "/dev/stderr /dev/pts/ptmx; ls /dev")
    out = _run_ok(pyrunc, b)
    lines = out.splitlines()
    st = _stat_dev("\n".join(lines[:12]))
    chr_ = "character special file"
    for name, dev in (("null", "1:3"), ("zero", "1:5"), ("full", "1:7"), ("random", "1:8"),
                      ("urandom", "1:9"), ("tty", "5:0")):
        assert st["/dev/" + name][:5] == (chr_, dev, "666", "0", "0"), (name, st)
    assert st["/dev/ptmx"][0] == "symbolic link" and st["/dev/ptmx"][5] == "pts/ptmx"
    assert st["/dev/pts/ptmx"][:3] == (chr_, "5:2", "666")
    assert st["/dev/fd"][5] == "/proc/self/fd"
    for i, n in enumerate(("stdin", "stdout", "stderr")):
        assert st["/dev/" + n][5] == "/proc/self/fd/%d" % i
    # nothing else from the host's /dev
    assert sorted(lines[12:]) == sorted([
        "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
        "stdout", "tty", "urandom", "zero"])


def test_dev_devices_work(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1 && "
                    "head -c 16 /dev/urandom | wc -c; echo x > /dev/full; echo rc=$?")
    out = _run_ok(pyrunc, b).split("\n")
    assert out[0].split() == ["00"] * 4
    assert out[1].strip() == "16"
    assert out[-2] == "rc=1"


def test_linux_devices(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", STAT + " /dev/fuse /dev/sub/loopx /dev/fifo")
    b.config["linux"]["devices"] = [
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o600,
         "uid": 1, "gid": 2},
        {"path": "/dev/sub/loopx", "type": "b", "major": 7, "minor": 3, "fileMode": 0o640},
        {"path": "/dev/fifo", "type": "p", "fileMode": 0o620, "uid": 5, "gid": 6},
    ]
    b.write()
    st = _stat_dev(_run_ok(pyrunc, b))
    assert st["/dev/fuse"][:5] == ("character special file", "10:229", "600", "1", "2")
    assert st["/dev/sub/loopx"][:5] == ("block special file", "7:3", "640", "0", "0")
    assert st["/dev/fifo"][0] == "fifo" and st["/dev/fifo"][2:5] == ("620", "5", "6")


# -- sysctl -------------------------------------------------------------------------------


def test_sysctl_in_new_net_and_ipc_namespaces(pyrunc, make_bundle):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_fwd = f.read()
    with open("/proc/sys/kernel/shmmni") as f:
        host_shm = f.read()
    want_fwd = "0" if host_fwd.strip() == "1" else "1"
    b = make_bundle("cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni",
                    "/proc/sys/net/ipv4/ping_group_range")
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": want_fwd, "kernel.shmmni": "123",
                                   "net/ipv4/ping_group_range": "1 1000"}
    b.write()
    assert _run_ok(pyrunc, b).split() == [want_fwd, "123", "1", "1000"]
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == host_fwd
    with open("/proc/sys/kernel/shmmni") as f:
        assert f.read() == host_shm


# -- propagation, --no-pivot ----------------------------------------------------------------


def test_rootfs_propagation(pyrunc, make_bundle):
    b = make_bundle()
    m = _mounts_seen(pyrunc, b)
    assert not any(o.startswith("shared:") for o in m["/"][4]), m["/"]
    b.config["linux"]["rootfsPropagation"] = "shared"
    m = _mounts_seen(pyrunc, b)
    assert any(o.startswith("shared:") for o in m["/"][4]), m["/"]
    b.config["linux"]["rootfsPropagation"] = "private"
    m = _mounts_seen(pyrunc, b)
    assert m["/"][4] == [], m["/"]


def test_no_pivot(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "ls /; cat /etc/passwd | head -1; readlink /proc/1/root")
    with open(os.path.join(b.rootfs, "only-in-rootfs"), "w") as f:
        f.write("x")
    r = pyrunc.cmd("run", "--no-pivot", "--bundle", b.path, new_id())
    assert r.code == 0, r
    lines = r.out.split("\n")
    assert "only-in-rootfs" in lines and "bin" in lines
    assert "root:x:0:0:root:/root:/bin/sh" in lines
    assert lines[-2] == "/"


def test_no_pivot_readonly_root(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "touch /x 2>&1; echo rc=$?")
    b.config["root"]["readonly"] = True
    b.write()
    r = pyrunc.cmd("run", "--no-pivot", "--bundle", b.path, new_id())
    assert r.code == 0, r
    assert "Read-only file system" in r.out and "rc=1" in r.out


def test_pivot_hides_host_mounts(pyrunc, make_bundle):
    b = make_bundle("sh", "-c", "cut -d' ' -f5 /proc/self/mountinfo")
    mps = _run_ok(pyrunc, b).split()
    assert mps[0] == "/"
    assert not [p for p in mps if p.startswith(("/work", "/tmp", "/run/"))], mps


# -- escaping the rootfs through symlinks ---------------------------------------------------


def test_mount_destination_through_symlinks_stays_inside_rootfs(pyrunc, make_bundle,
                                                                tmp_path):
    u = uuid.uuid4().hex[:12]
    names = {"abs": "pyrunc-x-" + u, "rel": "pyrunc-y-" + u, "file": "pyrunc-z-" + u}
    for n in names.values():
        assert not os.path.exists("/" + n)
    src = tmp_path / "bindsrc"
    src.write_text("bound\n")
    b = make_bundle("sh", "-c", "ls -d /%s /%s; cat /%s" % (names["abs"], names["rel"],
                                                          names["file"]))
    os.symlink("/", os.path.join(b.rootfs, "evil"))
    os.symlink("../../../../../../..", os.path.join(b.rootfs, "evil2"))
    os.symlink("/" + names["file"], os.path.join(b.rootfs, "evil3"))
    b.config["mounts"] += [
        {"destination": "/evil/" + names["abs"], "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/evil2/" + names["rel"], "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/evil3", "type": "bind", "source": str(src), "options": ["bind"]},
    ]
    b.write()
    r = pyrunc.run(b)
    try:
        for n in names.values():
            assert not os.path.lexists("/" + n), "created on the host: /" + n
            assert not os.path.lexists(os.path.join(os.path.dirname(b.path), n))
    finally:
        for n in names.values():  # only what this test would have made by mistake
            p = "/" + n
            if os.path.isdir(p) and not os.path.ismount(p) and not os.listdir(p):
                os.rmdir(p)
            elif os.path.isfile(p) and os.path.getsize(p) == 0:
                os.unlink(p)
    assert r.code == 0, r
    assert r.out == "/%s\n/%s\nbound\n" % (names["abs"], names["rel"])
    for n in names.values():
        assert os.path.lexists(os.path.join(b.rootfs, n))


# -- root.path ------------------------------------------------------------------------------


def test_relative_root_path_is_relative_to_bundle_not_cwd(pyrunc, make_bundle, tmp_path,
                                                          monkeypatch):
    b = make_bundle("cat", "/which")
    os.rename(b.rootfs, os.path.join(b.path, "myroot"))
    with open(os.path.join(b.path, "myroot", "which"), "w") as f:
        f.write("bundle's rootfs\n")
    b.config["root"]["path"] = "myroot"
    b.write()
    decoy = tmp_path / "elsewhere"
    (decoy / "myroot").mkdir(parents=True)
    (decoy / "myroot" / "which").write_text("cwd's decoy\n")
    monkeypatch.chdir(decoy)
    assert _run_ok(pyrunc, b) == "bundle's rootfs\n"
    # and --bundle itself may be relative to cwd
    monkeypatch.chdir(os.path.dirname(b.path))
    r = pyrunc.cmd("run", "--bundle", os.path.basename(b.path), new_id())
    assert r.code == 0 and r.out == "bundle's rootfs\n", r


def test_absolute_root_path(pyrunc, make_bundle, tmp_path):
    b = make_bundle("cat", "/which")
    other = tmp_path / "other-root"
    os.rename(b.rootfs, str(other))
    (other / "which").write_text("absolute\n")
    b.config["root"]["path"] = str(other)
    b.write()
    assert _run_ok(pyrunc, b) == "absolute\n"
