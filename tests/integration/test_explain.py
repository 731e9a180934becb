"""Host problems explained: create fails with one line naming the field, the value, what the
host has and a fix; `pyrunc check` reports the same finding without creating anything."""

import json
import os

import pytest

from tests.helpers import new_id


def _check(pyrunc, b):
    r = pyrunc.cmd("check", "--bundle", b.path, "--format", "json")
    return r.code, json.loads(r.out)


def _create_error(pyrunc, b):
    cid = new_id()
    r = pyrunc.cmd("create", "--bundle", b.path, cid)
    assert r.code != 0, r
    assert len(r.err.strip().splitlines()) == 1, r.err
    assert pyrunc.ids() == [] and not os.path.exists(os.path.join(pyrunc.root, cid))
    return r.err.strip()


def _same_finding(pyrunc, b, field, *words):
    """create's error and check's finding name ``field`` and say ``words``."""
    err = _create_error(pyrunc, b)
    code, rep = _check(pyrunc, b)
    assert code == 1 and rep["ok"] is False
    found = [f for f in rep["findings"] if f["level"] == "error" and field in f["field"]]
    assert found, rep
    for w in words:
        assert w in err, err
        assert any(w in f["message"] or w in f["field"] for f in found), found
    return err, found


def test_good_config_checks_clean(pyrunc, make_bundle):
    b = make_bundle("true")
    code, rep = _check(pyrunc, b)
    assert code == 0 and rep == {"ok": True, "findings": []}
    r = pyrunc.cmd("check", "--bundle", b.path)
    assert r.out == "ok: this host can run the bundle\n"


def test_rlimit_above_host_hard_limit(pyrunc, make_bundle):
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    b = make_bundle("true")
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard + 1,
                                       "hard": hard + 1}]
    b.write()
    err, _ = _same_finding(pyrunc, b, "process.rlimits[RLIMIT_NOFILE]", str(hard),
                           "CAP_SYS_RESOURCE", "default_ulimits")
    assert err.startswith("process.rlimits[RLIMIT_NOFILE]: hard %d > this host's limit %d"
                          % (hard + 1, hard))


def test_missing_bind_source(pyrunc, make_bundle, tmp_path):
    b = make_bundle("true")
    b.config["mounts"].append({"destination": "/data", "type": "bind",
                               "source": str(tmp_path / "nope"), "options": ["rbind"]})
    b.write()
    _same_finding(pyrunc, b, "mounts[", str(tmp_path / "nope"), "does not exist on this host")


def test_unknown_filesystem_type(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["mounts"].append({"destination": "/x", "type": "nosuchfs", "source": "none"})
    b.write()
    _same_finding(pyrunc, b, "mounts[", "nosuchfs", "not available in this kernel")


def test_mount_options_rejected_by_kernel(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["mounts"].append({"destination": "/x", "type": "tmpfs", "source": "tmpfs",
                               "options": ["size=banana"]})
    b.write()
    err = _create_error(pyrunc, b)
    assert "mounts[" in err and "rejected the options size=banana" in err


def test_rootfs_unreachable_by_mapped_root(pyrunc, make_bundle):
    b = make_bundle("true")  # under pytest's root-only tmp dir
    b.config["linux"]["namespaces"].append({"type": "user"})
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 10}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 10}]
    b.write()
    err = _create_error(pyrunc, b)
    assert err.startswith("root.path ") and "host id 100000" in err


@pytest.fixture
def open_bundle(make_bundle):
    """A bundle in a world-searchable dir, rootfs owned by host 100000 (mapped root)."""
    import shutil
    import subprocess
    import tempfile
    d = tempfile.mkdtemp(prefix="pyrunc-explain-")
    os.chmod(d, 0o755)
    src = make_bundle("true")
    b = src.clone(os.path.join(d, "b"))
    os.chmod(b.path, 0o755)
    subprocess.run(["chown", "-R", "100000:100000", b.rootfs], check=True)
    yield b
    shutil.rmtree(d, ignore_errors=True)


def test_unmapped_user_in_user_namespace(pyrunc, open_bundle):
    b = open_bundle
    b.config["linux"]["namespaces"].append({"type": "user"})
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 10}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 10}]
    b.config["process"]["user"] = {"uid": 500, "gid": 0}
    b.write()
    code, rep = _check(pyrunc, b)
    assert code == 1
    assert any(f["field"] == "process.user.uid" and "500 is not mapped" in f["message"]
               for f in rep["findings"])
    err = _create_error(pyrunc, b)
    assert "process.user.uid 500" in err and "mapped" in err


def test_sysctl_unknown_to_kernel(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["linux"]["sysctl"] = {"net.ipv4.no_such_knob": "1"}
    b.write()
    _same_finding(pyrunc, b, "linux.sysctl[net.ipv4.no_such_knob]", "no such sysctl")


def test_net_device_missing(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["linux"]["netDevices"] = {"nosuchif9": {}}
    b.write()
    _same_finding(pyrunc, b, "linux.netDevices[nosuchif9]", "no such network interface")


def test_hook_not_executable(pyrunc, make_bundle, tmp_path):
    hook = tmp_path / "hook"
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(0o644)
    b = make_bundle("true")
    b.config["hooks"] = {"createRuntime": [{"path": str(hook)}]}
    b.write()
    _same_finding(pyrunc, b, "hooks.createRuntime[0]", "not executable")


def test_executable_not_found(pyrunc, make_bundle):
    b = make_bundle("no-such-program")
    _same_finding(pyrunc, b, "process.args[0]", "executable file not found in $PATH")


def test_idmap_unsupported_filesystem(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["mounts"].append({
        "destination": "/p", "type": "bind", "source": "/proc/sys", "options": ["rbind",
                                                                             "idmap"],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]})
    b.write()
    _same_finding(pyrunc, b, "mounts[", "idmapped mounts are not supported")


def test_apparmor_profile_without_apparmor(pyrunc, make_bundle):
    from pyrunc import hostcheck
    if hostcheck.apparmor_enabled():
        pytest.skip("AppArmor is enabled on this host: the profile would apply")
    b = make_bundle("true")
    b.config["process"]["apparmorProfile"] = "pyrunc-test-profile"
    b.write()
    # what can't be applied fails create (config.md), as runc does
    _same_finding(pyrunc, b, "process.apparmorProfile", "AppArmor is not enabled")


def test_mount_label_without_selinux_is_a_warning(pyrunc, make_bundle):
    from pyrunc import hostcheck
    if hostcheck.selinux_enabled():
        pytest.skip("SELinux is enabled on this host: the label would apply")
    b = make_bundle("true")
    b.config["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0"
    b.write()
    code, rep = _check(pyrunc, b)
    assert code == 0 and [f["level"] for f in rep["findings"]] == ["warning"]
    assert pyrunc.run(b).code == 0  # left out, as runc does


def test_unavailable_capability_is_skipped_with_a_warning(pyrunc, make_bundle, tmp_path):
    """This host's root lacks CAP_SYS_RESOURCE: asking for it logs a warning and the container
    runs without it (config.md: log a warning, SHOULD NOT fail; runc does the same)."""
    from pyrunc.process.attrs import has_cap
    if has_cap("CAP_SYS_RESOURCE"):
        pytest.skip("this host's root holds CAP_SYS_RESOURCE")
    b = make_bundle("grep", "CapEff", "/proc/self/status")
    for k in ("bounding", "effective", "permitted"):
        b.config["process"]["capabilities"][k].append("CAP_SYS_RESOURCE")
    b.write()
    log = tmp_path / "log"
    r = pyrunc.cmd("run", "--bundle", b.path, new_id(),
                   global_args=("--log", log, "--log-format", "json"))
    assert r.code == 0, r
    assert not int(r.out.split()[1], 16) & (1 << 24)
    (entry,) = [json.loads(x) for x in log.read_text().splitlines()]
    assert entry["level"] == "warning" and "CAP_SYS_RESOURCE" in entry["msg"]


def test_missing_cgroup_controller(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["linux"]["cgroupsPath"] = "/pyrunc-explain-%s" % new_id()
    b.config["linux"]["resources"] = {"hugepageLimits": [{"pageSize": "2MB", "limit": 1 << 21}]}
    b.write()
    import glob
    hugetlb = glob.glob("/sys/fs/cgroup/hugetlb") + glob.glob("/sys/fs/cgroup/*hugetlb*")
    if hugetlb:
        pytest.skip("this host has the hugetlb controller")
    _same_finding(pyrunc, b, "linux.resources.hugepageLimits[0]",
                  "hugetlb cgroup controller is not available")
    leftovers = glob.glob("/sys/fs/cgroup/*/pyrunc-explain-*")
    assert leftovers == []  # neither create nor check left a cgroup


def test_v2_only_key_on_a_v1_host(pyrunc, make_bundle):
    from pyrunc import cgroups
    if list(cgroups.mounted_hierarchies()) == [""]:
        pytest.skip("pure cgroup v2 host")
    b = make_bundle("true")
    b.config["linux"]["cgroupsPath"] = "/pyrunc-explain-%s" % new_id()
    b.config["linux"]["resources"] = {"unified": {"memory.high": "100000000"}}
    b.write()
    _same_finding(pyrunc, b, "linux.resources.unified", "memory.high")


def test_unknown_seccomp_action(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_BOGUS"}
    b.write()
    err, _ = _same_finding(pyrunc, b, "linux.seccomp.defaultAction", "SCMP_ACT_BOGUS")
    assert err.startswith("config.json: linux.seccomp.defaultAction")


def test_sysctl_not_namespaced(pyrunc, make_bundle):
    b = make_bundle("true")
    b.config["linux"]["sysctl"] = {"vm.swappiness": "10"}
    b.write()
    _same_finding(pyrunc, b, "linux.sysctl", "vm.swappiness")


def test_user_namespaces_disabled(pyrunc, make_bundle):
    """user.max_user_namespaces is per user namespace: set it to 0 inside one of our own
    (`unshare -Ur`), and run check and create there."""
    import shlex
    import subprocess
    b = make_bundle("true")
    b.config["linux"]["namespaces"].append({"type": "user"})
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
    b.write()
    rt = " ".join(shlex.quote(a) for a in pyrunc.argv + ["--root", pyrunc.root])
    script = ("echo 0 > /proc/sys/user/max_user_namespaces && "
              "%s check --bundle %s --format json; echo CHECK=$?; "
              "%s create --bundle %s %s; echo CREATE=$?" % (rt, b.path, rt, b.path, new_id()))
    p = subprocess.run(["unshare", "-Ur", "sh", "-c", script], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    out = p.stdout
    rep = json.loads(out[:out.index("CHECK=")])
    assert "CHECK=1" in out and not rep["ok"]
    assert any(f["field"] == "linux.namespaces[user]" and "disabled" in f["message"]
               for f in rep["findings"]), rep
    assert "CREATE=1" in out
    err = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(err) == 1 and "user.max_user_namespaces = 0" in err[0], p.stderr
