"""Tests of schema/*.json and of pyrunc.spec.schema, our own JSON-Schema validator."""

import copy
import json
import os
import random
import re
import shutil
import subprocess
import sys

import pytest

from pyrunc import jsonio
from pyrunc.spec import schema
from tests.helpers import SHARED

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENTS = os.path.join(SHARED, "reference", "clients")
SCHEMA_FILES = ("config-schema.json", "config-linux.json", "defs.json", "defs-linux.json",
                "state-schema.json")


def _client_configs():
    out = []
    for d in (CLIENTS, os.path.join(CLIENTS, "examples")):
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith("-config.json")]
    return out


CLIENT_CONFIGS = _client_configs()
needs_clients = pytest.mark.skipif(not CLIENT_CONFIGS, reason="no reference client configs")


def load(path):
    with open(path) as f:
        return jsonio.loads(f.read())


# A config using every field of runtime-spec 1.2 for Linux (valid).
KITCHEN_SINK = {
    "ociVersion": "1.2.0",
    "root": {"path": "rootfs", "readonly": True},
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/data", "type": "none", "source": "/volumes/testing",
         "options": ["rbind", "rw", "idmap"],
         "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
         "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}]},
    ],
    "process": {
        "terminal": True,
        "consoleSize": {"height": 25, "width": 80},
        "cwd": "/root",
        "env": ["PATH=/usr/bin:/bin", "TERM=xterm"],
        "args": ["sh"],
        "commandLine": "sh",
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024},
                    {"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0}],
        "apparmorProfile": "acme_secure_profile",
        "capabilities": {
            "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "effective": ["CAP_AUDIT_WRITE", "CAP_KILL"],
            "ambient": ["CAP_NET_BIND_SERVICE"],
        },
        "noNewPrivileges": True,
        "oomScoreAdj": 100,
        "scheduler": {"policy": "SCHED_DEADLINE", "nice": 0, "priority": 0,
                      "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_DL_OVERRUN"],
                      "runtime": 10000000, "deadline": 20000000, "period": 30000000},
        "selinuxLabel": "system_u:system_r:svirt_lxc_net_t:s0:c124,c675",
        "ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 4},
        "execCPUAffinity": {"initial": "7", "final": "0-3,7"},
        "user": {"uid": 1, "gid": 1, "umask": 63, "additionalGids": [5, 6],
                 "username": "ignored-on-linux"},
    },
    "hostname": "slartibartfast",
    "domainname": "foobarbaz.test",
    "hooks": {
        "prestart": [{"path": "/usr/bin/fix-mounts", "args": ["fix-mounts", "arg1"],
                      "env": ["key1=value1"]}],
        "createRuntime": [{"path": "/usr/bin/setup-network"}],
        "createContainer": [{"path": "/usr/bin/mount-hook", "timeout": 1}],
        "startContainer": [{"path": "/usr/bin/refresh-ldcache"}],
        "poststart": [{"path": "/usr/bin/notify-start", "timeout": 5}],
        "poststop": [{"path": "/usr/sbin/cleanup.sh", "args": ["cleanup.sh", "-f"]}],
    },
    "annotations": {"com.example.key1": "value1", "com.example.empty": ""},
    "linux": {
        "devices": [
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 8630,
             "uid": 0, "gid": 0},
            {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0, "fileMode": 432},
            {"path": "/dev/myfifo", "type": "p"},
        ],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "timeOffsets": {"monotonic": {"secs": 172800, "nanosecs": 0},
                        "boottime": {"secs": -604800, "nanosecs": 999999999}},
        "namespaces": [{"type": t} for t in
                       ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")],
        "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "1024",
                   "fs.mqueue.msg_max": "10", "kernel.domainname": "x"},
        "cgroupsPath": "/myRuntime/myContainer",
        "resources": {
            "network": {"classID": 1048577,
                        "priorities": [{"name": "eth0", "priority": 500}]},
            "pids": {"limit": 32771},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 9223372036854772000},
                               {"pageSize": "64KB", "limit": 1000000}],
            "memory": {"limit": 536870912, "reservation": 536870912, "swap": 536870912,
                       "kernel": -1, "kernelTCP": -1, "swappiness": 0,
                       "disableOOMKiller": False, "useHierarchy": True,
                       "checkBeforeUpdate": True},
            "cpu": {"shares": 1024, "quota": 1000000, "burst": 1000000, "period": 500000,
                    "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "2-3",
                    "mems": "0-7", "idle": 1},
            "devices": [{"allow": False, "access": "rwm"},
                        {"allow": True, "type": "c", "major": 10, "minor": 229,
                         "access": "rw"},
                        {"allow": True, "type": "a"}],
            "blockIO": {
                "weight": 10, "leafWeight": 10,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
                                 {"major": 8, "minor": 16, "leafWeight": 500}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 600}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}],
            },
            "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000},
                     "mlx4_0": {"hcaObjects": 1000}},
            "unified": {"io.max": "259:0 rbps=2097152 wiops=120",
                        "hugetlb.1GB.max": "1073741824"},
        },
        "rootfsPropagation": "slave",
        "seccomp": {
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "listenerPath": "/run/seccomp-agent.socket",
            "listenerMetadata": "MKNOD=/dev/null",
            "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64"],
            "syscalls": [
                {"names": ["getcwd", "chmod"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                          {"index": 1, "value": 255, "valueTwo": 8,
                           "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["mknod"], "action": "SCMP_ACT_NOTIFY"},
                {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
            ],
        },
        "maskedPaths": ["/proc/kcore", "/proc/latency_stats"],
        "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
        "mountLabel": "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811",
        "intelRdt": {"closID": "guaranteed_group", "l3CacheSchema": "L3:0=7f0;1=1f",
                     "memBwSchema": "MB:0=20;1=70", "enableCMT": True, "enableMBM": False},
        "personality": {"domain": "LINUX32", "flags": []},
    },
    "x-unknown-top-level": {"anything": [1, 2, 3]},
}


def test_kitchen_sink_is_valid():
    assert schema.errors(copy.deepcopy(KITCHEN_SINK)) == []


@needs_clients
@pytest.mark.parametrize("path", CLIENT_CONFIGS, ids=os.path.basename)
def test_client_configs_are_valid(path):
    assert schema.errors(load(path)) == []


def test_state_schema_accepts_runc_state():
    state = load(os.path.join(CLIENTS, "examples", "runc-state-running.json"))
    assert schema.errors(state, "state-schema.json") == []


@pytest.mark.parametrize("mutate, expected", [
    (lambda s: s.update(status="bogus"), "status: 'bogus' is not one of creating, created"),
    (lambda s: s.pop("pid"), "'pid' is required"),
    (lambda s: s.update(pid=-1), "pid: -1 is less than the minimum of 0"),
    (lambda s: s.pop("bundle"), "'bundle' is required"),
    (lambda s: s.update(annotations={"a": 1}), "annotations.a: 1 is not of type string"),
    (lambda s: s.update(ociVersion="1.0"), "ociVersion: '1.0' is not a valid SemVer"),
])
def test_state_schema_rejects(mutate, expected):
    state = load(os.path.join(CLIENTS, "examples", "runc-state-running.json"))
    mutate(state)
    err = schema.first_error(state, "state-schema.json")
    assert err is not None and str(err).startswith(expected), str(err)


def test_state_schema_stopped_needs_no_pid():
    state = {"ociVersion": "1.2.0", "id": "c1", "status": "stopped", "bundle": "/b"}
    assert schema.is_valid(state, "state-schema.json")


# --------------------------------------------------------------------------------------------
# Invalid mutations and the path/message of the first error


def _set(path, value):
    def mutate(cfg):
        node = cfg
        for seg in path[:-1]:
            node = node[seg]
        node[path[-1]] = value
    return mutate


def _del(path):
    def mutate(cfg):
        node = cfg
        for seg in path[:-1]:
            node = node[seg]
        del node[path[-1]]
    return mutate


MUTATIONS = [
    (_set(("process", "rlimits", 0, "type"), "RLIMIT_FOO"),
     "process.rlimits[0].type: 'RLIMIT_FOO' is not one of RLIMIT_AS, RLIMIT_CORE, "),
    (_del(("linux", "namespaces", 2, "type")), "linux.namespaces[2]: 'type' is required"),
    (_set(("linux", "namespaces", 2, "type"), "net"),
     "linux.namespaces[2].type: 'net' is not one of pid, network, mount"),
    (_del(("ociVersion",)), "'ociVersion' is required"),
    (_set(("ociVersion",), 1), "ociVersion: 1 is not of type string"),
    (_set(("ociVersion",), "1.0"), "ociVersion: '1.0' is not a valid SemVer 2.0.0 version"),
    (_set(("ociVersion",), "v1.0.0"), "ociVersion: 'v1.0.0' is not a valid SemVer"),
    (_set(("ociVersion",), "01.0.0"), "ociVersion: '01.0.0' is not a valid SemVer"),
    (_del(("root", "path")), "root: 'path' is required"),
    (_set(("root", "readonly"), "yes"), "root.readonly: 'yes' is not of type boolean"),
    (_set(("mounts", 1, "options"), "rbind"), "mounts[1].options: 'rbind' is not of type array"),
    (_del(("mounts", 0, "destination")), "mounts[0]: 'destination' is required"),
    (_set(("mounts", 1, "uidMappings", 0, "size"), -1),
     "mounts[1].uidMappings[0].size: -1 is less than the minimum of 0"),
    (_del(("process", "cwd")), "process: 'cwd' is required"),
    (_set(("process", "terminal"), 1), "process.terminal: 1 is not of type boolean"),
    (_del(("process", "consoleSize", "width")), "process.consoleSize: 'width' is required"),
    (_set(("process", "env", 1), 5), "process.env[1]: 5 is not of type string"),
    (_set(("process", "rlimits", 1, "soft"), -1),
     "process.rlimits[1].soft: -1 is less than the minimum of 0"),
    (_set(("process", "rlimits", 1, "hard"), 2 ** 64),
     "process.rlimits[1].hard: 18446744073709551616 is greater than the maximum of "
     "18446744073709551615"),
    (_set(("process", "capabilities", "ambient", 0), "NET_BIND_SERVICE"),
     "process.capabilities.ambient[0]: 'NET_BIND_SERVICE' is not a valid capability name"),
    (_set(("process", "capabilities", "effective"), "CAP_KILL"),
     "process.capabilities.effective: 'CAP_KILL' is not of type array"),
    (_set(("process", "oomScoreAdj"), 1001),
     "process.oomScoreAdj: 1001 is greater than the maximum of 1000"),
    (_set(("process", "oomScoreAdj"), 1.5), "process.oomScoreAdj: 1.5 is not of type integer"),
    (_set(("process", "scheduler", "policy"), "SCHED_NORMAL"),
     "process.scheduler.policy: 'SCHED_NORMAL' is not one of SCHED_OTHER, SCHED_FIFO"),
    (_set(("process", "scheduler", "flags", 0), "SCHED_FLAG_FOO"),
     "process.scheduler.flags[0]: 'SCHED_FLAG_FOO' is not one of SCHED_FLAG_RESET_ON_FORK"),
    (_set(("process", "scheduler", "nice"), 2 ** 31),
     "process.scheduler.nice: 2147483648 is greater than the maximum of 2147483647"),
    (_set(("process", "ioPriority", "class"), "IOPRIO_CLASS_NONE"),
     "process.ioPriority.class: 'IOPRIO_CLASS_NONE' is not one of IOPRIO_CLASS_RT, "
     "IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE"),
    (_del(("process", "ioPriority", "priority")), "process.ioPriority: 'priority' is required"),
    (_set(("process", "ioPriority", "priority"), 8),
     "process.ioPriority.priority: 8 is greater than the maximum of 7"),
    (_set(("process", "execCPUAffinity", "final"), "0-3,,7"),
     "process.execCPUAffinity.final: '0-3,,7' is not a valid CPU list"),
    (_set(("process", "user", "uid"), True), "process.user.uid: true is not of type integer"),
    (_set(("process", "user", "gid"), 4294967296),
     "process.user.gid: 4294967296 is greater than the maximum of 4294967295"),
    (_del(("process", "user", "uid")), "process.user: 'uid' is required"),
    (_set(("process", "user", "additionalGids", 1), "6"),
     "process.user.additionalGids[1]: '6' is not of type integer"),
    (_set(("hostname",), None), "hostname: null is not of type string"),
    (_del(("hooks", "prestart", 0, "path")), "hooks.prestart[0]: 'path' is required"),
    (_set(("hooks", "poststart", 0, "timeout"), 0),
     "hooks.poststart[0].timeout: 0 is less than the minimum of 1"),
    (_set(("hooks", "createRuntime"), {"path": "/x"}),
     "hooks.createRuntime: {\"path\":\"/x\"} is not of type array"),
    (_set(("annotations", "com.example.key1"), 1),
     "annotations[\"com.example.key1\"]: 1 is not of type string"),
    (_set(("annotations",), ["a=b"]), "annotations: [\"a=b\"] is not of type object"),
    (_set(("linux", "devices", 0, "type"), "x"),
     "linux.devices[0].type: 'x' is not one of c, b, u, p"),
    (_del(("linux", "devices", 1, "minor")), "linux.devices[1]: 'minor' is required"),
    (_set(("linux", "devices", 0, "fileMode"), -1),
     "linux.devices[0].fileMode: -1 is less than the minimum of 0"),
    (_set(("linux", "uidMappings", 0, "hostID"), "0"),
     "linux.uidMappings[0].hostID: '0' is not of type integer"),
    (_set(("linux", "timeOffsets", "realtime"), {"secs": 1}),
     "linux.timeOffsets: additional property 'realtime' is not allowed"),
    (_set(("linux", "timeOffsets", "boottime", "nanosecs"), -1),
     "linux.timeOffsets.boottime.nanosecs: -1 is less than the minimum of 0"),
    (_set(("linux", "sysctl", "net.ipv4.ip_forward"), 1),
     "linux.sysctl[\"net.ipv4.ip_forward\"]: 1 is not of type string"),
    (_set(("linux", "resources", "memory", "swappiness"), 101),
     "linux.resources.memory.swappiness: 101 is greater than the maximum of 100"),
    (_set(("linux", "resources", "memory", "checkBeforeUpdate"), "true"),
     "linux.resources.memory.checkBeforeUpdate: 'true' is not of type boolean"),
    (_set(("linux", "resources", "cpu", "burst"), -1),
     "linux.resources.cpu.burst: -1 is less than the minimum of 0"),
    (_set(("linux", "resources", "cpu", "idle"), 2 ** 63),
     "linux.resources.cpu.idle: 9223372036854775808 is greater than the maximum of "),
    (_set(("linux", "resources", "cpu", "cpus"), "0-3 7"),
     "linux.resources.cpu.cpus: '0-3 7' is not a valid CPU list"),
    (_del(("linux", "resources", "pids", "limit")), "linux.resources.pids: 'limit' is required"),
    (_set(("linux", "resources", "devices", 0, "access"), "rwx"),
     "linux.resources.devices[0].access: 'rwx' is not a valid device access"),
    (_set(("linux", "resources", "devices", 2, "type"), "p"),
     "linux.resources.devices[2].type: 'p' is not one of a, c, b"),
    (_del(("linux", "resources", "devices", 0, "allow")),
     "linux.resources.devices[0]: 'allow' is required"),
    (_set(("linux", "resources", "blockIO", "weightDevice", 1), {"major": 8, "minor": 1}),
     "linux.resources.blockIO.weightDevice[1]: 'weight' is required"),
    (_set(("linux", "resources", "blockIO", "weightDevice", 0, "weight"), 65536),
     "linux.resources.blockIO.weightDevice[0].weight: 65536 is greater than the maximum"),
    (_del(("linux", "resources", "blockIO", "throttleWriteIOPSDevice", 0, "rate")),
     "linux.resources.blockIO.throttleWriteIOPSDevice[0]: 'rate' is required"),
    (_del(("linux", "resources", "blockIO", "throttleReadBpsDevice", 0, "major")),
     "linux.resources.blockIO.throttleReadBpsDevice[0]: 'major' is required"),
    (_set(("linux", "resources", "hugepageLimits", 0, "pageSize"), "2M"),
     "linux.resources.hugepageLimits[0].pageSize: '2M' is not a valid page size"),
    (_set(("linux", "resources", "rdma", "mlx4_0"), {}),
     "linux.resources.rdma.mlx4_0: 'hcaHandles' is required"),
    (_set(("linux", "resources", "rdma", "mlx4_0", "hcaObjects"), -2),
     "linux.resources.rdma.mlx4_0.hcaObjects: -2 is less than the minimum of 0"),
    (_set(("linux", "resources", "network", "priorities", 0, "priority"), "high"),
     "linux.resources.network.priorities[0].priority: 'high' is not of type integer"),
    (_set(("linux", "resources", "unified", "io.max"), 5),
     "linux.resources.unified[\"io.max\"]: 5 is not of type string"),
    (_set(("linux", "rootfsPropagation"), "recursive"),
     "linux.rootfsPropagation: 'recursive' is not one of shared, slave, private, unbindable"),
    (_del(("linux", "seccomp", "defaultAction")), "linux.seccomp: 'defaultAction' is required"),
    (_set(("linux", "seccomp", "defaultAction"), "SCMP_ACT_DENY"),
     "linux.seccomp.defaultAction: 'SCMP_ACT_DENY' is not one of SCMP_ACT_KILL, "),
    (_set(("linux", "seccomp", "architectures", 1), "SCMP_ARCH_I386"),
     "linux.seccomp.architectures[1]: 'SCMP_ARCH_I386' is not one of SCMP_ARCH_X86, "),
    (_set(("linux", "seccomp", "flags", 0), "SECCOMP_FILTER_FLAG_FOO"),
     "linux.seccomp.flags[0]: 'SECCOMP_FILTER_FLAG_FOO' is not one of "),
    (_set(("linux", "seccomp", "syscalls", 0, "names"), []),
     "linux.seccomp.syscalls[0].names: [] is too short (minimum 1 item)"),
    (_set(("linux", "seccomp", "syscalls", 1, "args", 1, "op"), "SCMP_CMP_XX"),
     "linux.seccomp.syscalls[1].args[1].op: 'SCMP_CMP_XX' is not one of SCMP_CMP_NE, "),
    (_del(("linux", "seccomp", "syscalls", 1, "args", 0, "value")),
     "linux.seccomp.syscalls[1].args[0]: 'value' is required"),
    (_set(("linux", "seccomp", "defaultErrnoRet"), -1),
     "linux.seccomp.defaultErrnoRet: -1 is less than the minimum of 0"),
    (_set(("linux", "maskedPaths"), "/proc/kcore"),
     "linux.maskedPaths: '/proc/kcore' is not of type array"),
    (_set(("linux", "intelRdt", "memBwSchema"), "L3:0=1"),
     "linux.intelRdt.memBwSchema: 'L3:0=1' is not a valid memBwSchema"),
    (_set(("linux", "intelRdt", "enableCMT"), 1),
     "linux.intelRdt.enableCMT: 1 is not of type boolean"),
    (_set(("linux", "personality", "domain"), "LINUX64"),
     "linux.personality.domain: 'LINUX64' is not one of LINUX, LINUX32"),
    (_del(("linux", "personality", "domain")), "linux.personality: 'domain' is required"),
    (_set(("linux",), []), "linux: [] is not of type object"),
]


@pytest.mark.parametrize("mutate, expected", MUTATIONS,
                         ids=[e.split(":")[0] or "root" for _, e in MUTATIONS])
def test_invalid_mutation_reports_path(mutate, expected):
    cfg = copy.deepcopy(KITCHEN_SINK)
    mutate(cfg)
    err = schema.first_error(cfg)
    assert err is not None, "mutation was accepted"
    assert str(err).startswith(expected), str(err)
    # one line, and every-error mode reports the same first problem
    assert "\n" not in str(err)
    all_errs = schema.errors(cfg)
    assert all_errs and str(all_errs[0]) == str(err)


def test_error_path_tuple_and_rendering():
    cfg = copy.deepcopy(KITCHEN_SINK)
    cfg["linux"]["sysctl"]["net.core.somaxconn"] = 256
    err = schema.first_error(cfg)
    assert err.path == ("linux", "sysctl", "net.core.somaxconn")
    assert err.keyword == "type"
    assert schema.format_path(("a", 0, "b-c", "_d", 3)) == 'a[0]["b-c"]._d[3]'


def test_all_errors_mode_collects_several():
    cfg = copy.deepcopy(KITCHEN_SINK)
    cfg["process"]["user"]["uid"] = -1
    cfg["linux"]["namespaces"][0]["type"] = "bogus"
    cfg["hooks"]["poststop"][0]["timeout"] = 0
    paths = {e.path_str for e in schema.errors(cfg)}
    assert paths == {"process.user.uid", "linux.namespaces[0].type", "hooks.poststop[0].timeout"}


# --------------------------------------------------------------------------------------------
# Differential test against the jsonschema package


def _jsonschema_validator():
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    from referencing.jsonschema import DRAFT4
    registry = referencing.Registry()
    for name in SCHEMA_FILES:
        with open(os.path.join(schema.schema_dir(), name)) as f:
            doc = json.load(f)
        jsonschema.Draft4Validator.check_schema(doc)
        registry = registry.with_resource(doc["$id"],
                                          referencing.Resource(doc, specification=DRAFT4))
    root = "https://pyrunc.dev/schema/config-schema.json"
    return jsonschema.Draft4Validator({"$ref": root}, registry=registry)


_INTERESTING = [
    "", "x", "/abs", "rel/path", "CAP_FOO", "CAP_SYS_ADMIN", "chown", "cap_chown", "RLIMIT_FOO",
    "RLIMIT_NOFILE", "1.0", "1.2.0", "1.0.2-dev", "1.2.0-rc.1+build.5", "1.2.0-01", "0-3,7", "7",
    "0-3 ,7", "p", "c", "a", "rwm", "rw", "rx", "rwmr", "2MB", "64KB", "0MB", "2TB",
    "MB:0=20", "MB:0=20\n", "L3:0=7f0", "SCMP_ACT_ALLOW", "SCMP_ACT_FOO", "SCMP_CMP_EQ",
    "SCMP_ARCH_X86_64", "SECCOMP_FILTER_FLAG_TSYNC", "SCHED_FIFO", "SCHED_FLAG_RECLAIM",
    "IOPRIO_CLASS_BE", "LINUX", "LINUX32", "slave", "rslave", "network", "net", "time",
    "creating", "paused",
]
_NUMBERS = [0, 1, -1, 7, 8, 100, 101, 1000, -1000, -1001, 65535, 65536, 2 ** 31, -2 ** 31 - 1,
            2 ** 32 - 1, 2 ** 32, 2 ** 63 - 1, 2 ** 63, -2 ** 63, -2 ** 63 - 1, 2 ** 64 - 1,
            2 ** 64, 1.0, 0.5, -2.5]
_OTHERS = [True, False, None, [], {}, ["x"], [1], {"k": "v"}, {"type": "pid"}]


def _nodes(value, path=()):
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _nodes(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _nodes(v, path + (i,))


def _mutate(cfg, rng):
    """Apply one random mutation in place; returns a description."""
    nodes = list(_nodes(cfg))
    path, value = rng.choice(nodes[1:])
    parent = cfg
    for seg in path[:-1]:
        parent = parent[seg]
    key = path[-1]
    op = rng.random()
    if op < 0.15 and isinstance(parent, dict):
        del parent[key]
        return "del %r" % (path,)
    if op < 0.25 and isinstance(value, dict):
        value[rng.choice(["x-unknown", "type", "path", "secs", "limit", "realtime", ""])] = \
            rng.choice(_INTERESTING + _NUMBERS + _OTHERS)
        return "add member under %r" % (path,)
    if op < 0.32 and isinstance(value, list):
        if value and rng.random() < 0.5:
            value.append(copy.deepcopy(rng.choice(value)))
        else:
            value.clear()
        return "grow/clear %r" % (path,)
    if isinstance(value, str) or (op < 0.6 and not isinstance(value, (int, float))):
        new = rng.choice(_INTERESTING + _OTHERS)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        new = rng.choice(_NUMBERS + _INTERESTING[:3] + _OTHERS[:3])
    else:
        new = rng.choice(_INTERESTING + _NUMBERS + _OTHERS)
    parent[key] = copy.deepcopy(new)
    return "set %r = %r" % (path, new)


DIFF_MUTATIONS = 400


@needs_clients
def test_differential_against_jsonschema():
    validator = _jsonschema_validator()
    bases = [load(p) for p in CLIENT_CONFIGS] + [copy.deepcopy(KITCHEN_SINK)]
    rng = random.Random(20241128)
    agreed = invalid = 0
    for n in range(DIFF_MUTATIONS):
        cfg = copy.deepcopy(rng.choice(bases))
        what = [_mutate(cfg, rng) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        ours = schema.first_error(cfg)
        theirs = list(validator.iter_errors(cfg))
        assert (ours is None) == (not theirs), (what, ours, [e.message for e in theirs])
        if ours is not None:
            invalid += 1
            # jsonschema reports anyOf/oneOf at the combinator; ours goes deeper into the
            # best branch, so one of its error paths must be a prefix of ours.
            assert any(tuple(ours.path[:len(e.absolute_path)]) == tuple(e.absolute_path)
                       for e in theirs), (what, str(ours), [e.message for e in theirs])
        agreed += 1
    assert agreed == DIFF_MUTATIONS
    assert invalid > DIFF_MUTATIONS // 3          # the mutations do exercise the schema
    print("differential: %d/%d mutations agreed (%d invalid)" % (agreed, DIFF_MUTATIONS,
                                                                 invalid))


def test_state_differential_against_jsonschema():
    jsonschema = pytest.importorskip("jsonschema")
    validator = _jsonschema_validator()
    state_v = jsonschema.Draft4Validator(
        {"$ref": "https://pyrunc.dev/schema/state-schema.json"}, registry=validator._registry)
    base = {"ociVersion": "1.0.2-dev", "id": "c5", "pid": 21828, "status": "running",
            "bundle": "/b", "annotations": {"k": "v"}}
    rng = random.Random(7)
    for _ in range(150):
        st = copy.deepcopy(base)
        _mutate(st, rng)
        assert schema.is_valid(st, "state-schema.json") == state_v.is_valid(st), st


# --------------------------------------------------------------------------------------------
# The validator's keywords on small in-memory schemas


def _first(sch, value):
    errs = schema.compile_schema(sch)(value)
    return str(errs[0]) if errs else None


def test_integer_rejects_bool_and_float():
    sch = {"type": "integer"}
    assert _first(sch, 3) is None and _first(sch, 2 ** 70) is None
    assert _first(sch, True) == "true is not of type integer"
    assert _first(sch, 3.0) == "3.0 is not of type integer"
    assert _first({"type": "number"}, True) == "true is not of type number"
    assert _first({"type": ["string", "null"]}, 1) == "1 is not of type string, null"
    assert _first({"type": ["string", "null"]}, None) is None


def test_enum_const_equality_is_json_equality():
    assert _first({"enum": [1, "a"]}, True) == "true is not one of 1, a"
    assert _first({"enum": [1, "a"]}, 1.0) is None
    assert _first({"enum": [[1, {"a": False}]]}, [1, {"a": False}]) is None
    assert _first({"enum": [[1, {"a": False}]]}, [1, {"a": 0}]) is not None
    assert _first({"const": "x"}, "x") is None
    assert _first({"const": "x"}, "y") == "'y' is not 'x'"
    assert _first({"const": False}, 0) == "0 is not false"


def test_unique_items():
    sch = {"uniqueItems": True}
    assert _first(sch, [1, True, "1", None, [1], {"a": 1}]) is None
    assert _first(sch, [1, 2, 1.0]).startswith("has non-unique elements ([2] repeats [0]")
    assert _first(sch, [{"a": [1]}, {"a": [1]}]) is not None


def test_bounds_and_lengths():
    assert _first({"minimum": 1, "exclusiveMinimum": True}, 1) == \
        "1 is less than or equal to 1"
    assert _first({"maximum": 1, "exclusiveMaximum": True}, 1) == \
        "1 is greater than or equal to 1"
    assert _first({"minimum": 1}, "not a number") is None
    assert _first({"minLength": 2}, "\u00e9") == "'\u00e9' is too short (minimum 2 characters)"
    assert _first({"maxLength": 1}, "ab") == "'ab' is too long (maximum 1 character)"
    assert _first({"maxItems": 1}, [1, 2]) == "[1,2] is too long (maximum 1 item)"
    assert _first({"minProperties": 1}, {}) == "{} is too short (minimum 1 property)"


def test_objects_properties_pattern_additional():
    sch = {"properties": {"a": {"type": "string"}},
           "patternProperties": {"^x-": {"type": "integer"}},
           "additionalProperties": False}
    assert _first(sch, {"a": "s", "x-1": 1}) is None
    assert _first(sch, {"x-1": "s"}) == "[\"x-1\"]: 's' is not of type integer"
    assert _first(sch, {"b": 1}) == "additional property 'b' is not allowed"
    sch2 = {"additionalProperties": {"type": "string"}}
    assert _first(sch2, {"k": 1}) == "k: 1 is not of type string"
    assert _first({"patternProperties": {"[0-9]": {"minimum": 5}}}, {"a1": 1, "b": 1}) == \
        "a1: 1 is less than the minimum of 5"


def test_tuple_items():
    sch = {"items": [{"type": "string"}, {"type": "integer"}], "additionalItems": False}
    assert _first(sch, ["a", 1]) is None
    assert _first(sch, [1]) == "[0]: 1 is not of type string"
    assert _first(sch, ["a", 1, 2]) == "[2]: additional item 2 is not allowed"


def test_combinators():
    one = {"oneOf": [{"type": "integer"}, {"minimum": 0}]}
    assert _first(one, -1) is None
    assert _first(one, 1) == "1 is valid under more than one of the given schemas (#0, #1)"
    assert _first({"not": {"type": "string"}}, "s").startswith("'s' must not be valid under")
    assert _first({"allOf": [{"minimum": 0}, {"maximum": 5}]}, 6) == \
        "6 is greater than the maximum of 5"
    # anyOf: the most relevant branch is reported, not "not valid under any of ..."
    dev = {"properties": {"d": {"anyOf": [
        {"properties": {"type": {"enum": ["p"]}}},
        {"required": ["major", "minor"]}]}}}
    assert _first(dev, {"d": {"type": "c", "major": 1}}) == "d: 'minor' is required"
    nested = {"anyOf": [{"type": "string"},
                        {"properties": {"a": {"properties": {"b": {"type": "integer"}}}}}]}
    assert _first(nested, {"a": {"b": "x"}}) == "a.b: 'x' is not of type integer"


def test_refs_within_and_across_files():
    sch = {"definitions": {"pos": {"minimum": 1}},
           "properties": {"a": {"$ref": "#/definitions/pos"},
                          "b": {"$ref": "defs.json#/definitions/uint32"},
                          "c": {"$ref": "defs-linux.json#/definitions/NamespaceType"}}}
    assert _first(sch, {"a": 1, "b": 1, "c": "pid"}) is None
    assert _first(sch, {"a": 0}) == "a: 0 is less than the minimum of 1"
    assert _first(sch, {"b": -1}) == "b: -1 is less than the minimum of 0"
    assert _first(sch, {"c": "x"}).startswith("c: 'x' is not one of pid, network")


def test_recursive_ref():
    tree = {"type": "object", "properties": {
        "v": {"type": "integer"},
        "kids": {"type": "array", "items": {"$ref": "#"}}}}
    assert _first(tree, {"v": 1, "kids": [{"v": 2, "kids": [{"v": 3}]}]}) is None
    assert _first(tree, {"kids": [{"kids": [{"v": "x"}]}]}) == \
        "kids[0].kids[0].v: 'x' is not of type integer"


def test_schema_errors():
    with pytest.raises(schema.SchemaError, match="unsupported schema keyword 'format'"):
        schema.compile_schema({"format": "uri"})
    with pytest.raises(schema.SchemaError, match="unresolvable"):
        schema.compile_schema({"$ref": "defs.json#/definitions/nope"})
    with pytest.raises(schema.SchemaError, match="cannot load schema"):
        schema.compile_schema({"$ref": "missing.json#"})


def test_every_schema_file_compiles_completely():
    assert set(SCHEMA_FILES) <= set(schema.check_schema_files())


def test_lazy_ref_compilation_still_reports_schema_mistakes():
    sch = {"properties": {"a": {"$ref": "#/definitions/bad"}},
           "definitions": {"bad": {"minimun": 1}}}
    check = schema.compile_schema(sch)          # "bad" is compiled on first use
    assert check({}) is None
    with pytest.raises(schema.SchemaError, match="unsupported schema keyword 'minimun'"):
        check({"a": 1})


def test_compiled_validators_are_cached():
    assert schema.validator() is schema.validator()
    assert schema.validator("state-schema.json") is schema.validator("state-schema.json")
    assert schema.load("defs.json") is schema.load("defs.json")


def test_schema_files_have_ids_and_are_draft4():
    for name in SCHEMA_FILES:
        doc = schema.load(name)
        assert doc["$id"] == "https://pyrunc.dev/schema/" + name
        assert doc["$schema"] == "http://json-schema.org/draft-04/schema#"


def test_schema_dir_prefers_package_copy(tmp_path):
    """schema_dir() uses pyrunc/schema when the package ships a copy, else <repo>/schema."""
    assert os.path.isfile(os.path.join(schema.schema_dir(), "config-schema.json"))
    pkg = tmp_path / "pyrunc"
    (pkg / "spec").mkdir(parents=True)
    for rel in ("errors.py", "jsonio.py", "spec/schema.py", "spec/_schema_base.py"):
        shutil.copy(os.path.join(REPO, "pyrunc", rel), pkg / rel)
    (pkg / "__init__.py").write_text("")
    (pkg / "spec" / "__init__.py").write_text("")
    code = ("import sys; sys.path.insert(0, %r); from pyrunc.spec import schema; "
            "print(schema.schema_dir())" % str(tmp_path))

    def run():
        return subprocess.run([sys.executable, "-B", "-I", "-S", "-c", code],
                              capture_output=True, text=True)
    res = run()
    assert res.returncode != 0 and "schema files not found" in res.stderr
    shutil.copytree(schema.schema_dir(), tmp_path / "schema")
    assert run().stdout.strip() == str(tmp_path / "schema")
    shutil.copytree(schema.schema_dir(), pkg / "schema")
    assert run().stdout.strip() == str(pkg / "schema")


# --------------------------------------------------------------------------------------------
# The built-in regular-expression matcher agrees with re.search


def _schema_patterns():
    out = []
    for name in SCHEMA_FILES:
        for _, node in _nodes(schema.load(name)):
            if isinstance(node, dict) and isinstance(node.get("pattern"), str):
                out.append(node["pattern"])
    return out


EXTRA_PATTERNS = [
    ".{1,}", "a|b|", "^(ab|a)*b$", "(a?){3}c", "^x{2,3}$", "x{,2}y", "[^a-c]+$", "[]a]",
    "[a-]", "[-a]", r"\.\+\*", "^$", "$", "^", "a.c", "(?:ab)+", "((a|b)c)?d", "^[\\n]?x$",
    "[\\]\\-]", "ab*?",  # lazy quantifier: falls back to re
    r"\d+",              # \d: falls back to re
]
ALPHABET = "abcdxy019-.,+*:\n_KMGBAPRCmwr ]\\"


@pytest.mark.parametrize("pattern", _schema_patterns() + EXTRA_PATTERNS)
def test_regex_subset_matches_re(pattern):
    ours = schema._compile_regex(pattern)
    rx = re.compile(pattern)
    rng = random.Random(pattern)
    samples = ["", "\n", "1.0.2-dev", "1.2.0-rc.1+b.5", "CAP_CHOWN", "0-3,7", "MB:0=1\n",
               "rwm", "2MB", "aab", "xxxy", "abcd"]
    for _ in range(400):
        samples.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12))))
    for text in samples:
        assert ours(text) == (rx.search(text) is not None), (pattern, text)


def test_regex_subset_needs_no_re_for_schema_patterns():
    for pattern in _schema_patterns():
        node = schema._RegexParser(pattern).parse()     # raises _Unsupported otherwise
        assert node


# --------------------------------------------------------------------------------------------
# Import cost


def _fresh_python(code):
    """Run ``code`` in an isolated interpreter without site (the pyenv site-packages .pth
    files import re/typing on their own) and with the repo on sys.path."""
    full = "import sys; sys.path.insert(0, %r)\n%s" % (REPO, code)
    res = subprocess.run([sys.executable, "-B", "-I", "-S", "-c", full], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout


HEAVY = ("re", "json", "enum", "typing", "jsonschema", "dataclasses", "collections")


def test_import_does_not_pull_heavy_modules():
    out = _fresh_python(
        "import pyrunc.spec.validate, pyrunc.spec.default\n"
        "print(' '.join(m for m in %r if m in sys.modules))" % (HEAVY,))
    assert out.strip() == ""


@needs_clients
def test_validating_client_configs_does_not_import_re():
    paths = CLIENT_CONFIGS + [os.path.join(CLIENTS, "examples", "runc-state-running.json")]
    out = _fresh_python(
        "from pyrunc.spec import validate\n"
        "from pyrunc import jsonio\n"
        "for p in %r:\n"
        "    d = jsonio.load_file(p)\n"
        "    (validate.validate_state if p.endswith('state-running.json') "
        "else validate.validate_config)(d)\n"
        "print(' '.join(m for m in %r if m in sys.modules))" % (paths, HEAVY))
    assert out.strip() == ""
