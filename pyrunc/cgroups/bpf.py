"""bpf(2) for the cgroup v2 device filter: load a BPF_PROG_TYPE_CGROUP_DEVICE program and
attach it to a cgroup directory (BPF_F_ALLOW_MULTI), replacing the filters attached before.

``union bpf_attr`` is packed by hand (struct) into a zeroed buffer from the libc binding's
ffi; no C declarations are needed beyond ``syscall``.
"""

import os
import platform
import struct

from pyrunc.linux.libc import ffi, lib

_NR_BPF = {"x86_64": 321, "aarch64": 280, "ppc64le": 361, "s390x": 351, "riscv64": 280}
BPF_PROG_LOAD, BPF_PROG_ATTACH, BPF_PROG_DETACH, BPF_PROG_QUERY = 5, 8, 9, 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
_ATTR_SIZE = 128


def _bpf(cmd, attr):
    buf = ffi.new("char[]", _ATTR_SIZE)
    ffi.memmove(buf, attr, len(attr))
    nr = _NR_BPF.get(platform.machine())
    if nr is None:
        raise OSError(38, "bpf: unsupported architecture %s" % platform.machine())
    r = lib.syscall(ffi.cast("long", nr), ffi.cast("long", cmd), buf,
                    ffi.cast("long", _ATTR_SIZE))
    if r < 0:
        e = ffi.errno
        raise OSError(e, os.strerror(e))
    return r, bytes(ffi.buffer(buf))


def load_program(insns, license=b"Apache"):
    """Load the device program; returns its fd. A verifier failure carries the log."""
    code = ffi.new("char[]", insns)
    lic = ffi.new("char[]", license)
    logbuf = ffi.new("char[]", 65536)
    addr = lambda p: int(ffi.cast("uintptr_t", p))  # noqa: E731
    attr = struct.pack("<IIQQIIQII16s", BPF_PROG_TYPE_CGROUP_DEVICE, len(insns) // 8,
                       addr(code), addr(lic), 1, 65536, addr(logbuf), 0, 0, b"pyrunc_dev")
    try:
        fd, _ = _bpf(BPF_PROG_LOAD, attr)
    except OSError as e:
        log = ffi.string(logbuf).decode(errors="replace").strip()
        if log:
            raise OSError(e.errno, "%s (verifier: %s)" % (e.strerror, log[-300:])) from None
        raise
    os.set_inheritable(fd, False)
    return fd


def attached_programs(cgfd):
    """Ids of the device programs attached to the cgroup."""
    ids = ffi.new("uint32_t[]", 64)
    attr = struct.pack("<IIIIQI", cgfd, BPF_CGROUP_DEVICE, 0, 0,
                       int(ffi.cast("uintptr_t", ids)), 64)
    _, out = _bpf(BPF_PROG_QUERY, attr)
    count = struct.unpack_from("<I", out, 24)[0]
    return [ids[i] for i in range(min(count, 64))]


def _prog_fd_by_id(pid):
    BPF_PROG_GET_FD_BY_ID = 13
    fd, _ = _bpf(BPF_PROG_GET_FD_BY_ID, struct.pack("<I", pid))
    return fd


def attach_device_filter(cgroup_dir, insns):
    """Attach the program to cgroup_dir and detach the device programs that were there."""
    import resource
    try:  # older kernels charge BPF memory to RLIMIT_MEMLOCK
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY,) * 2)
    except (ValueError, OSError):
        pass
    cgfd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            old = attached_programs(cgfd)
        except OSError:
            old = []
        pfd = load_program(insns)
        try:
            _bpf(BPF_PROG_ATTACH, struct.pack("<IIII", cgfd, pfd, BPF_CGROUP_DEVICE,
                                              BPF_F_ALLOW_MULTI))
        finally:
            os.close(pfd)
        for pid in old:
            try:
                ofd = _prog_fd_by_id(pid)
            except OSError:
                continue
            try:
                _bpf(BPF_PROG_DETACH, struct.pack("<IIII", cgfd, ofd, BPF_CGROUP_DEVICE, 0))
            except OSError:
                pass
            finally:
                os.close(ofd)
    finally:
        os.close(cgfd)
