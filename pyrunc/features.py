"""`pyrunc features`: what this build and this host support (runtime-spec features.md).

Generated from the tables the code itself uses: mount options from rootfs/options.py, hooks
from hooks.py, namespaces from linux/consts.py (and /proc/self/ns), capabilities from
linux/capnames.py (up to the kernel's last one), seccomp actions/operators/flags from
seccomp/consts.py with architectures as the installed libseccomp resolves them, and the
kernel asked which seccomp flags it accepts. Nothing here is a hand-kept list of claims.
"""

import os


def _namespaces():
    from pyrunc.linux import consts as C
    return sorted(t for t, (_, name) in C.NAMESPACES.items()
                  if os.path.exists("/proc/self/ns/" + name))


def _capabilities():
    from pyrunc.linux.capnames import CAP_NAMES
    from pyrunc.process.attrs import last_cap
    return list(CAP_NAMES[:last_cap() + 1])


def _cgroup():
    from pyrunc import cgroups
    hier = cgroups.mounted_hierarchies()
    ctrls = set()
    for key in hier:
        ctrls.update(key.split(","))
    if "" in hier:
        try:
            with open(os.path.join(hier[""], "cgroup.controllers")) as f:
                ctrls.update(f.read().split())
        except OSError:
            pass
    return {"v1": any(k for k in hier), "v2": "" in hier, "systemd": False,
            "systemdUser": False, "rdma": "rdma" in ctrls}


def _seccomp_flag_supported(flag):
    """seccomp(SET_MODE_FILTER, flag, NULL): EFAULT means the kernel knows the flag (it got as
    far as reading the program), EINVAL that it does not (runc's probe)."""
    from pyrunc.linux import libc
    from pyrunc.linux._libc_ffi import ffi
    nr = 317 if os.uname().machine == "x86_64" else 277
    r = libc.lib.syscall(ffi.cast("long", nr), ffi.cast("long", 1), ffi.cast("long", flag),
                         ffi.cast("long", 0))
    return r < 0 and ffi.errno == 14


def _seccomp():
    from pyrunc.seccomp import consts as K
    try:
        from pyrunc.seccomp._lib import Libseccomp
        lib = Libseccomp()
    except Exception:
        return {"enabled": False}, None
    from pyrunc.spec.schema import load
    arch_names = load("defs-linux.json")["definitions"]["SeccompArch"]["enum"]
    archs = sorted(a for a in arch_names if lib.resolve_arch(a[len("SCMP_ARCH_"):].lower()))
    return {
        "enabled": True,
        "actions": sorted(K.ACTIONS),
        "operators": sorted(K.OPS),
        "archs": archs,
        "knownFlags": sorted(K.FLAGS),
        # the kernel takes WAIT_KILLABLE_RECV only together with NEW_LISTENER
        "supportedFlags": sorted(n for n, v in K.FLAGS.items() if _seccomp_flag_supported(
            v | (K.FLAG_NEW_LISTENER if v == K.FLAG_WAIT_KILLABLE_RECV else 0))),
    }, lib.version


def features():
    from pyrunc import SPEC_VERSION, __version__, hostcheck
    from pyrunc.hooks import HOOK_KINDS
    from pyrunc.rootfs import options
    seccomp, libseccomp_version = _seccomp()
    rel = os.uname().release.split(".")
    kernel = (int(rel[0]), int("".join(c for c in rel[1] if c.isdigit()) or 0))
    out = {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": list(HOOK_KINDS),
        "mountOptions": sorted(set(options.FLAGS) | set(options.PROPAGATION) |
                               set(options.RECURSIVE) | set(options.EXTENSIONS)),
        "linux": {
            "namespaces": _namespaces(),
            "capabilities": _capabilities(),
            "cgroup": _cgroup(),
            "seccomp": seccomp,
            "apparmor": {"enabled": hostcheck.apparmor_enabled()},
            "selinux": {"enabled": hostcheck.selinux_enabled()},
            "intelRdt": {"enabled": os.path.isdir("/sys/fs/resctrl/info")},
            "mountExtensions": {"idmap": {"enabled": kernel >= (5, 12)}},
            "netDevices": {"enabled": True},
        },
        "annotations": {
            "org.pyrunc.version": __version__,
            "org.opencontainers.runc.checkpoint.enabled": "false",
        },
    }
    if libseccomp_version:
        out["annotations"]["io.github.seccomp.libseccomp.version"] = libseccomp_version
    return out
