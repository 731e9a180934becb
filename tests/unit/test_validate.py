"""Tests of pyrunc.spec.validate (schema + semantic checks), pyrunc.spec.default and
pyrunc.linux.capnames."""

import copy
import os
import shutil
import subprocess

import pytest

from pyrunc import jsonio
from pyrunc.errors import ConfigError, PyruncError
from pyrunc.linux import capnames
from pyrunc.spec import validate
from pyrunc.spec.default import default_spec
from pyrunc.spec.validate import validate_config, validate_state
from tests.helpers import SHARED

CLIENTS = os.path.join(SHARED, "reference", "clients")
RUNC = "/usr/sbin/runc"


def _client_configs():
    out = []
    for d in (CLIENTS, os.path.join(CLIENTS, "examples")):
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith("-config.json")]
    return out


CLIENT_CONFIGS = _client_configs()


def load(path):
    with open(path) as f:
        return jsonio.loads(f.read())


def base():
    """The default spec plus a few optional fields, all valid."""
    cfg = default_spec()
    cfg["hooks"] = {"poststop": [{"path": "/bin/true"}]}
    cfg["annotations"] = {"k": "v"}
    cfg["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
                               "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
    return cfg


def error_of(cfg):
    with pytest.raises(ConfigError) as exc:
        validate_config(cfg)
    return str(exc.value)


# --------------------------------------------------------------------------------------------
# Valid configs


@pytest.mark.skipif(not CLIENT_CONFIGS, reason="no reference client configs")
@pytest.mark.parametrize("path", CLIENT_CONFIGS, ids=os.path.basename)
def test_client_configs_validate_without_warnings(path):
    warnings = []
    validate_config(load(path), warn=warnings.append)
    assert warnings == []


@pytest.mark.parametrize("rootless", [False, True])
def test_default_spec_validates(rootless):
    warnings = []
    validate_config(default_spec(rootless=rootless), warn=warnings.append)
    assert warnings == []


def test_base_validates():
    validate_config(base())


# --------------------------------------------------------------------------------------------
# Each semantic check


def _ns(cfg, *types, **paths):
    cfg["linux"]["namespaces"] = [{"type": t} for t in types]
    for t, p in paths.items():
        cfg["linux"]["namespaces"].append({"type": t, "path": p})


SEMANTIC = [
    ("root missing", lambda c: c.pop("root"), "config.json: root: is required on Linux"),
    ("args missing", lambda c: c["process"].pop("args"),
     "config.json: process.args: is required on Linux"),
    ("args empty", lambda c: c["process"].update(args=[]),
     "config.json: process.args: must contain at least one entry"),
    ("cwd relative", lambda c: c["process"].update(cwd="tmp"),
     "config.json: process.cwd: 'tmp' is not an absolute path"),
    ("env no =", lambda c: c["process"]["env"].append("FOO"),
     "config.json: process.env[2]: 'FOO' is not of the form NAME=value"),
    ("env empty name", lambda c: c["process"]["env"].insert(0, "=x"),
     "config.json: process.env[0]: '=x' has an empty variable name"),
    ("rlimit duplicate",
     lambda c: c["process"]["rlimits"].append({"type": "RLIMIT_NOFILE", "hard": 1, "soft": 1}),
     "config.json: process.rlimits[1].type: duplicate rlimit RLIMIT_NOFILE "
     "(also process.rlimits[0])"),
    ("rlimit soft>hard",
     lambda c: c["process"]["rlimits"].append({"type": "RLIMIT_CORE", "hard": 1, "soft": 2}),
     "config.json: process.rlimits[1]: soft limit 2 is greater than hard limit 1"),
    ("sched nice", lambda c: c["process"].update(scheduler={"policy": "SCHED_OTHER", "nice": 20}),
     "config.json: process.scheduler.nice: 20 is out of range -20..19 for SCHED_OTHER"),
    ("sched priority", lambda c: c["process"].update(
        scheduler={"policy": "SCHED_BATCH", "priority": 5}),
     "config.json: process.scheduler.priority: can only be set for SCHED_FIFO or SCHED_RR"),
    ("sched runtime", lambda c: c["process"].update(
        scheduler={"policy": "SCHED_FIFO", "priority": 5, "runtime": 1}),
     "config.json: process.scheduler.runtime: can only be set for SCHED_DEADLINE"),
    ("hostname without uts", lambda c: _ns(c, "pid", "mount"),
     "config.json: hostname: cannot be set without a uts namespace in linux.namespaces"),
    ("domainname without uts", lambda c: (c.pop("hostname"), c.update(domainname="d"),
                                          _ns(c, "mount")),
     "config.json: domainname: cannot be set without a uts namespace in linux.namespaces"),
    ("mount uid w/o gid", lambda c: c["mounts"][0].update(
        uidMappings=[{"containerID": 0, "hostID": 1, "size": 1}]),
     "config.json: mounts[0]: uidMappings requires gidMappings"),
    ("mount gid w/o uid", lambda c: c["mounts"][0].update(
        gidMappings=[{"containerID": 0, "hostID": 1, "size": 1}]),
     "config.json: mounts[0]: gidMappings requires uidMappings"),
    ("idmap without mappings or userns", lambda c: c["mounts"][1]["options"].append("ridmap"),
     "config.json: mounts[1].options: ridmap needs uidMappings and gidMappings or a user "
     "namespace"),
    ("hook relative", lambda c: c["hooks"]["poststop"].append({"path": "true"}),
     "config.json: hooks.poststop[1].path: 'true' is not an absolute path"),
    ("annotation empty key", lambda c: c["annotations"].update({"": "x"}),
     "config.json: annotations: keys must not be empty"),
    ("namespace duplicate", lambda c: c["linux"]["namespaces"].append({"type": "pid"}),
     "config.json: linux.namespaces[5].type: duplicate namespace pid (also linux.namespaces[0])"),
    ("namespace relative path", lambda c: c["linux"]["namespaces"].__setitem__(
        1, {"type": "network", "path": "proc/1/ns/net"}),
     "config.json: linux.namespaces[1].path: 'proc/1/ns/net' is not an absolute path"),
    ("mappings without userns", lambda c: c["linux"].update(
        uidMappings=[{"containerID": 0, "hostID": 1000, "size": 1}]),
     "config.json: linux.uidMappings: is set but linux.namespaces has no user namespace"),
    ("userns without mappings", lambda c: c["linux"]["namespaces"].append({"type": "user"}),
     "config.json: linux.uidMappings: is required (non-empty) to create a new user namespace"),
    ("userns without gid mappings", lambda c: (
        c["linux"]["namespaces"].append({"type": "user"}),
        c["linux"].update(uidMappings=[{"containerID": 0, "hostID": 1000, "size": 1}])),
     "config.json: linux.gidMappings: is required (non-empty) to create a new user namespace"),
    ("timeOffsets without timens", lambda c: c["linux"].update(
        timeOffsets={"monotonic": {"secs": 1}}),
     "config.json: linux.timeOffsets: is set but linux.namespaces has no time namespace"),
    ("timeOffsets with joined timens", lambda c: (
        c["linux"]["namespaces"].append({"type": "time", "path": "/proc/1/ns/time"}),
        c["linux"].update(timeOffsets={"monotonic": {"secs": 1}})),
     "config.json: linux.timeOffsets: cannot be applied to a joined time namespace (path is "
     "set)"),
    ("timeOffsets nanosecs", lambda c: (
        c["linux"]["namespaces"].append({"type": "time"}),
        c["linux"].update(timeOffsets={"boottime": {"nanosecs": 1000000000}})),
     "config.json: linux.timeOffsets.boottime.nanosecs: 1000000000 is not below 1000000000"),
    ("device relative path", lambda c: c["linux"].update(
        devices=[{"type": "c", "path": "dev/fuse", "major": 10, "minor": 229}]),
     "config.json: linux.devices[0].path: 'dev/fuse' is not an absolute path"),
    ("net sysctl without netns", lambda c: (
        _ns(c, "pid", "uts", "mount", "ipc"),
        c["linux"].update(sysctl={"net.ipv4.ip_forward": "1"})),
     'config.json: linux.sysctl["net.ipv4.ip_forward"]: requires a network namespace in '
     'linux.namespaces'),
    ("ipc sysctl without ipcns", lambda c: (
        _ns(c, "pid", "uts", "mount"), c["linux"].update(sysctl={"kernel/shmmax": "1"})),
     'config.json: linux.sysctl["kernel/shmmax"]: requires an ipc namespace in '
     'linux.namespaces'),
    ("mqueue sysctl without ipcns", lambda c: (
        _ns(c, "uts", "mount"), c["linux"].update(sysctl={"fs.mqueue.msg_max": "1"})),
     'config.json: linux.sysctl["fs.mqueue.msg_max"]: requires an ipc namespace in '
     'linux.namespaces'),
    ("kernel.hostname sysctl", lambda c: c["linux"].update(sysctl={"kernel.hostname": "h"}),
     'config.json: linux.sysctl["kernel.hostname"]: conflicts with the hostname field; set '
     'hostname instead'),
    ("host sysctl", lambda c: c["linux"].update(sysctl={"vm.swappiness": "1"}),
     'config.json: linux.sysctl["vm.swappiness"]: is not in a separate kernel namespace'),
    ("maskedPaths relative", lambda c: c["linux"]["maskedPaths"].append("proc/kcore"),
     "config.json: linux.maskedPaths[10]: 'proc/kcore' is not an absolute path"),
    ("readonlyPaths relative", lambda c: c["linux"]["readonlyPaths"].insert(0, ""),
     "config.json: linux.readonlyPaths[0]: '' is not an absolute path"),
    ("maskedPaths without mountns", lambda c: _ns(c, "pid", "uts"),
     "config.json: linux.maskedPaths: requires a mount namespace in linux.namespaces"),
    ("seccomp defaultErrnoRet", lambda c: c["linux"]["seccomp"].update(
        defaultAction="SCMP_ACT_KILL"),
     "config.json: linux.seccomp.defaultErrnoRet: is not supported by defaultAction "
     "SCMP_ACT_KILL"),
    ("seccomp errnoRet", lambda c: c["linux"]["seccomp"]["syscalls"][0].update(errnoRet=1),
     "config.json: linux.seccomp.syscalls[0].errnoRet: is not supported by action "
     "SCMP_ACT_ALLOW"),
    ("seccomp listenerMetadata", lambda c: c["linux"]["seccomp"].update(listenerMetadata="m"),
     "config.json: linux.seccomp.listenerMetadata: must not be set without listenerPath"),
    ("seccomp notify default", lambda c: c["linux"].update(seccomp={
        "defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/run/agent.sock"}),
     "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"),
    ("seccomp notify without listener", lambda c: c["linux"]["seccomp"]["syscalls"][0].update(
        action="SCMP_ACT_NOTIFY"),
     "config.json: linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY requires "
     "linux.seccomp.listenerPath"),
    ("seccomp arg index", lambda c: c["linux"]["seccomp"]["syscalls"][0].update(
        args=[{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]),
     "config.json: linux.seccomp.syscalls[0].args[0].index: 6 is out of range 0..5"),
    ("cpu burst > quota", lambda c: c["linux"]["resources"].update(
        cpu={"quota": 1000, "burst": 2000}),
     "config.json: linux.resources.cpu.burst: 2000 is larger than quota 1000"),
    ("memBwSchema newline", lambda c: c["linux"].update(intelRdt={"memBwSchema": "MB:0=20\n"}),
     "config.json: linux.intelRdt.memBwSchema: must not contain newlines"),
    ("closID", lambda c: c["linux"].update(intelRdt={"closID": "a/b"}),
     "config.json: linux.intelRdt.closID: 'a/b' is not a valid directory name"),
    # schema errors come first and use the same format
    ("schema error", lambda c: c["process"]["rlimits"][0].update(type="RLIMIT_FOO"),
     "config.json: process.rlimits[0].type: 'RLIMIT_FOO' is not one of RLIMIT_AS, "),
    ("schema required", lambda c: c["linux"]["namespaces"][2].pop("type"),
     "config.json: linux.namespaces[2]: 'type' is required"),
    ("root level", lambda c: c.pop("ociVersion"), "config.json: 'ociVersion' is required"),
]


@pytest.mark.parametrize("mutate, expected", [(m, e) for _, m, e in SEMANTIC],
                         ids=[name for name, _, _ in SEMANTIC])
def test_semantic_error(mutate, expected):
    cfg = base()
    mutate(cfg)
    msg = error_of(cfg)
    assert msg.startswith(expected), msg
    assert "\n" not in msg


@pytest.mark.parametrize("name, mutate", [
    ("args without process", lambda c: c.pop("process")),
    ("relative root path", lambda c: c["root"].update(path="rootfs")),
    ("netns by path allows net sysctl", lambda c: (
        _ns(c, "pid", "uts", "mount", "ipc", network="/run/netns/x"),
        c["linux"].update(sysctl={"net.core.somaxconn": "1"}))),
    ("kernel.domainname with uts", lambda c: c["linux"].update(
        sysctl={"kernel.domainname": "x"})),
    ("joined userns needs no mappings", lambda c: _ns(c, "pid", "uts", "mount",
                                                      user="/proc/1/ns/user")),
    ("idmap with mount mappings", lambda c: c["mounts"][1].update(
        options=["bind", "idmap"], uidMappings=[{"containerID": 0, "hostID": 1, "size": 1}],
        gidMappings=[{"containerID": 0, "hostID": 1, "size": 1}])),
    ("idmap with userns", lambda c: (
        c["mounts"][1]["options"].append("idmap"),
        c["linux"]["namespaces"].append({"type": "user"}),
        c["linux"].update(uidMappings=[{"containerID": 0, "hostID": 1000, "size": 1}],
                          gidMappings=[{"containerID": 0, "hostID": 1000, "size": 1}]))),
    ("seccomp trace errno", lambda c: c["linux"]["seccomp"]["syscalls"][0].update(
        action="SCMP_ACT_TRACE", errnoRet=5)),
    ("seccomp notify with listener", lambda c: (
        c["linux"]["seccomp"]["syscalls"][0].update(action="SCMP_ACT_NOTIFY"),
        c["linux"]["seccomp"].update(listenerPath="/run/a.sock", listenerMetadata="m"))),
    ("negative quota ignores burst", lambda c: c["linux"]["resources"].update(
        cpu={"quota": -1, "burst": 2000})),
    ("rootfsPropagation rslave (podman)", lambda c: c["linux"].update(
        rootfsPropagation="rslave")),
    ("unknown properties", lambda c: (c.update({"x-vendor": {"a": 1}}),
                                      c["process"].update(futureField=True),
                                      c["linux"].update(netDevices={"eth0": {}}))),
    ("empty annotation value", lambda c: c["annotations"].update(k="")),
    ("scheduler deadline", lambda c: c["process"].update(
        scheduler={"policy": "SCHED_DEADLINE", "runtime": 1, "deadline": 2, "period": 3})),
])
def test_semantic_accepts(name, mutate):
    cfg = base()
    mutate(cfg)
    validate_config(cfg)


# --------------------------------------------------------------------------------------------
# Warnings


def test_unknown_capability_is_a_warning():
    cfg = base()
    cfg["process"]["capabilities"]["bounding"].append("CAP_FUTURE_THING")
    cfg["process"]["capabilities"]["ambient"].append("CAP_FUTURE_THING")
    warnings = []
    validate_config(cfg, warn=warnings.append)
    assert warnings == ["process.capabilities: ignoring unknown capabilities: CAP_FUTURE_THING"]
    validate_config(cfg)                # without warn: accepted silently


def test_relative_mount_destination_is_a_warning():
    cfg = base()
    cfg["mounts"].append({"destination": "data", "type": "tmpfs", "source": "tmpfs"})
    assert validate.config_warnings(cfg) == [
        "mounts[7].destination: relative mount destination 'data' is deprecated, using it as "
        "relative to /"]


def test_warnings_are_not_emitted_for_invalid_configs():
    cfg = base()
    cfg["process"]["capabilities"]["bounding"].append("CAP_FUTURE_THING")
    cfg["process"]["cwd"] = "x"
    warnings = []
    with pytest.raises(ConfigError):
        validate_config(cfg, warn=warnings.append)
    assert warnings == []


# --------------------------------------------------------------------------------------------
# Structure of the module and its errors


def test_config_error_is_a_pyrunc_error():
    cfg = base()
    cfg["process"]["cwd"] = "x"
    with pytest.raises(PyruncError) as exc:
        validate_config(cfg)
    assert type(exc.value) is ConfigError
    assert validate.config_problem(cfg) == ("process.cwd", "'x' is not an absolute path")
    assert validate.config_problem(base()) is None


def test_not_an_object():
    assert error_of([]) == "config.json: [] is not of type object"


def test_every_check_is_documented():
    for fn in validate._CHECKS + validate._WARNINGS:
        assert fn.__doc__ and len(fn.__doc__.strip()) > 40, fn.__name__


def test_valid_config_is_not_modified():
    cfg = base()
    before = copy.deepcopy(cfg)
    validate_config(cfg, warn=lambda m: None)
    assert cfg == before


# --------------------------------------------------------------------------------------------
# State


def test_validate_state():
    validate_state(load(os.path.join(CLIENTS, "examples", "runc-state-running.json")))
    validate_state({"ociVersion": "1.2.0", "id": "a", "status": "created", "pid": 1,
                    "bundle": "/b"})
    with pytest.raises(ConfigError, match=r"^state: status: 'gone' is not one of"):
        validate_state({"ociVersion": "1.2.0", "id": "a", "status": "gone", "bundle": "/b"})
    with pytest.raises(ConfigError, match=r"^state: 'pid' is required$"):
        validate_state({"ociVersion": "1.2.0", "id": "a", "status": "running", "bundle": "/b"})
    with pytest.raises(ConfigError, match=r"^state: bundle: 'b' is not an absolute path$"):
        validate_state({"ociVersion": "1.2.0", "id": "a", "status": "stopped", "bundle": "b"})
    with pytest.raises(ConfigError, match=r"^state: id: '' is too short"):
        validate_state({"ociVersion": "1.2.0", "id": "", "status": "stopped", "bundle": "/b"})


# --------------------------------------------------------------------------------------------
# Default spec (runc spec)


def test_default_spec_shape():
    spec = default_spec()
    assert spec["ociVersion"] == "1.2.0"
    assert list(spec) == ["ociVersion", "process", "root", "hostname", "mounts", "linux"]
    assert [n["type"] for n in spec["linux"]["namespaces"]] == [
        "pid", "network", "ipc", "uts", "mount"]
    assert default_spec() is not default_spec()
    spec["process"]["args"].append("x")
    assert default_spec()["process"]["args"] == ["sh"]


def test_default_spec_rootless_shape():
    spec = default_spec(rootless=True)
    linux = spec["linux"]
    assert list(linux) == ["uidMappings", "gidMappings", "namespaces", "maskedPaths",
                           "readonlyPaths"]
    assert "resources" not in linux
    assert [n["type"] for n in linux["namespaces"]] == ["pid", "ipc", "uts", "mount", "user"]
    assert linux["uidMappings"] == [{"containerID": 0, "hostID": os.geteuid(), "size": 1}]
    assert linux["gidMappings"] == [{"containerID": 0, "hostID": os.getegid(), "size": 1}]
    sys_mount = [m for m in spec["mounts"] if m["destination"] == "/sys"][0]
    assert sys_mount == {"destination": "/sys", "type": "none", "source": "/sys",
                         "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}
    pts = [m for m in spec["mounts"] if m["destination"] == "/dev/pts"][0]
    assert "gid=5" not in pts["options"]


@pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="runc not installed")
@pytest.mark.parametrize("rootless", [False, True])
def test_default_spec_matches_runc_spec(tmp_path, rootless):
    args = [RUNC, "spec"] + (["--rootless"] if rootless else [])
    subprocess.run(args, cwd=tmp_path, check=True, capture_output=True)
    want = load(tmp_path / "config.json")
    want["ociVersion"] = "1.2.0"
    got = default_spec(rootless=rootless)
    assert got == want
    assert jsonio.dumps(got) == jsonio.dumps(want)      # same member order too


# --------------------------------------------------------------------------------------------
# Capability names


def test_capnames_table():
    names = capnames.CAP_NAMES
    assert isinstance(names, tuple) and len(names) == 41
    assert names[0] == "CAP_CHOWN" and names[21] == "CAP_SYS_ADMIN"
    assert names[40] == "CAP_CHECKPOINT_RESTORE" and capnames.CAP_LAST_CAP == 40
    assert len(set(names)) == 41
    assert capnames.CAP_NUMBERS["CAP_BPF"] == 39


@pytest.mark.skipif(not os.path.exists("/usr/include/linux/capability.h"),
                    reason="no kernel headers")
def test_capnames_match_kernel_header():
    defs = {}
    with open("/usr/include/linux/capability.h") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "#define" and parts[1].startswith("CAP_") \
                    and parts[2].isdigit():
                defs[parts[1]] = int(parts[2])
    for num, name in enumerate(capnames.CAP_NAMES):
        assert defs.get(name) == num, name


@pytest.mark.skipif(shutil.which("capsh") is None, reason="capsh not installed")
def test_capnames_match_capsh():
    out = subprocess.run(["capsh", "--decode=0x1ffffffffff"], capture_output=True, text=True)
    listed = out.stdout.strip().split("=", 1)[1].split(",")
    assert [n.upper() for n in listed] == list(capnames.CAP_NAMES)
