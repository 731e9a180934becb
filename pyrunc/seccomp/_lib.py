"""The libseccomp backend of ``compile_filter``: the system's libseccomp.so.2 through cffi.

Only compilation uses libseccomp (build the rules, export the BPF program); loading is a
plain seccomp(2) call, so nothing here is needed after pivot_root. ``compile_filter`` takes
any object with these methods, which is how the unit tests translate configs with a fake.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc.errors import PyruncError

_SONAME = "libseccomp.so.2"
_state = {}


def _open():
    if "lib" not in _state:
        from pyrunc.seccomp._seccomp_ffi import ffi
        try:
            lib = ffi.dlopen(_SONAME)
        except OSError as e:
            raise PyruncError("linux.seccomp: cannot load %s (install libseccomp2): %s" % (
                _SONAME, e)) from None
        _state.update(ffi=ffi, lib=lib)
    return _state["ffi"], _state["lib"]


class Libseccomp:
    def __init__(self):
        self.ffi, self.lib = _open()
        self.ctx = None
        v = self.lib.seccomp_version()
        self.version = "%d.%d.%d" % (v.major, v.minor, v.micro)

    # -- names -------------------------------------------------------------------------------
    def native_arch(self):
        return self.lib.seccomp_arch_native()

    def resolve_arch(self, name):
        """libseccomp's token for an arch name such as "x86_64", or None."""
        return self.lib.seccomp_arch_resolve_name(name.encode()) or None

    def resolve_syscall(self, name):
        """The syscall's number for the filter (libseccomp's negative pseudo-number when it
        does not exist natively), or None if libseccomp does not know the name at all."""
        nr = self.lib.seccomp_syscall_resolve_name(name.encode())
        return None if nr == -1 else nr

    def resolve_syscall_arch(self, token, name):
        nr = self.lib.seccomp_syscall_resolve_name_arch(token, name.encode())
        return None if nr == -1 else nr

    # -- the filter ----------------------------------------------------------------------------
    def new(self, default_action):
        """Start a filter; returns False if libseccomp rejects the default action."""
        self.release()
        ctx = self.lib.seccomp_init(default_action)
        if ctx == self.ffi.NULL:
            return False
        self.ctx = ctx
        return True

    def add_arch(self, token):
        if self.lib.seccomp_arch_exist(self.ctx, token) == 0:
            return 0
        return self.lib.seccomp_arch_add(self.ctx, token)

    def set_attr(self, attr, value):
        return self.lib.seccomp_attr_set(self.ctx, attr, value)

    def add_rule(self, action, nr, conds):
        """conds: [(index, op, datum_a, datum_b)]; returns 0 or -errno."""
        arr = self.ffi.new("struct scmp_arg_cmp[]", max(len(conds), 1))
        for i, (index, op, a, b) in enumerate(conds):
            arr[i].arg = index
            arr[i].op = op
            arr[i].datum_a = a
            arr[i].datum_b = b
        return self.lib.seccomp_rule_add_array(self.ctx, action, nr, len(conds), arr)

    def export(self):
        """The filter's BPF program (bytes of struct sock_filter, host byte order)."""
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            rc = self.lib.seccomp_export_bpf(self.ctx, fd)
            if rc < 0:
                raise PyruncError("linux.seccomp: generating the filter: %s" % os.strerror(-rc))
            size = os.lseek(fd, 0, os.SEEK_CUR)
            return os.pread(fd, size, 0)
        finally:
            os.close(fd)

    def release(self):
        if self.ctx is not None:
            self.lib.seccomp_release(self.ctx)
            self.ctx = None

    # -- the kernel ----------------------------------------------------------------------------
    def flags_supported(self, flags):
        """Whether the kernel accepts these seccomp(2) filter flags: with a NULL program a
        known flag set fails with EFAULT, an unknown one with EINVAL (libseccomp's probe)."""
        from pyrunc.linux import libc
        lf = libc.ffi
        nr = self.resolve_syscall("seccomp")
        r = libc.lib.syscall(lf.cast("long", nr), lf.cast("long", 1), lf.cast("long", flags),
                             lf.cast("long", 0))
        return r < 0 and lf.errno == 14  # EFAULT
