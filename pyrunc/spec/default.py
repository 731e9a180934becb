"""The default config.json written by ``pyrunc spec`` (the same as ``runc spec``).

Mirrors runc 1.1.5 ``libcontainer/specconv.Example()`` and, for ``--rootless``,
``ToRootless()``; member order follows the Go structs so the JSON output matches runc's byte
for byte apart from ``ociVersion`` (runc 1.1.5 says "1.0.2-dev", pyrunc implements 1.2.0).
"""

import os

OCI_VERSION = "1.2.0"

_CAPS = ("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE")

_MASKED_PATHS = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
)

_READONLY_PATHS = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)


def _mounts():
    return [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]


def _rootless_mounts(mounts):
    """runc ToRootless: /sys becomes a read-only rbind of the host's /sys (a user namespace
    cannot mount sysfs without its own network namespace), and uid=/gid= options go (only one
    id is mapped)."""
    out = []
    for m in mounts:
        if os.path.normpath(m["destination"]) == "/sys":
            out.append({"destination": "/sys", "type": "none", "source": "/sys",
                        "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
            continue
        if "options" in m:
            opts = [o for o in m["options"] if not o.startswith(("gid=", "uid="))]
            m = dict(m)
            if opts:
                m["options"] = opts
            else:
                del m["options"]
        out.append(m)
    return out


def default_spec(rootless=False):
    """A fresh default config.json as a dict (new objects on every call).

    With ``rootless``: no network namespace, a user namespace mapping container root to the
    caller's effective uid/gid, no cgroup resources, and the mount changes above.
    """
    spec = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": list(_CAPS),
                "effective": list(_CAPS),
                "permitted": list(_CAPS),
                "ambient": list(_CAPS),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": _mounts(),
    }
    if not rootless:
        spec["linux"] = {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": list(_MASKED_PATHS),
            "readonlyPaths": list(_READONLY_PATHS),
        }
        return spec

    spec["mounts"] = _rootless_mounts(spec["mounts"])
    spec["linux"] = {
        "uidMappings": [{"containerID": 0, "hostID": os.geteuid(), "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": os.getegid(), "size": 1}],
        "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "user")],
        "maskedPaths": list(_MASKED_PATHS),
        "readonlyPaths": list(_READONLY_PATHS),
    }
    return spec
