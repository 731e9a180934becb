"""The last steps before execve, shared by the container's init and by exec.

``Finalizer`` resolves the executable (inside the container, with its PATH), then applies
the process attributes in runc's order: rlimits, personality, scheduler, I/O priority; the
seccomp filter here if no_new_privs is off (loading it then needs CAP_SYS_ADMIN); the bounding
set; the user switch under PR_SET_KEEPCAPS; cwd (checked to be inside the container,
CVE-2024-21626); the final capability sets; umask; no_new_privs; fd hygiene; signal
dispositions. ``exec`` loads the filter (when no_new_privs is on) and execs.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc.errors import PyruncError
from pyrunc.linux import consts as C
from pyrunc.linux import libc
from pyrunc.process import attrs


class Finalizer:
    def __init__(self, proc, linux, filt=None, preserve_fds=0):
        self.proc = proc
        self.linux = linux or {}
        self.filt = filt
        self.preserve_fds = preserve_fds
        self.nnp = bool(proc.get("noNewPrivileges"))
        self.args = proc.get("args") or []
        self.env = None
        self.path = None

    def resolve(self):
        """Look up the executable with the container's env; call once inside its root."""
        proc = self.proc
        self.env = attrs.exec_env(proc.get("env"), (proc.get("user") or {}).get("uid", 0))
        if self.args:
            self.path = attrs.lookup_executable(self.args[0], self.env,
                                                proc.get("cwd") or "/")

    def apply(self):
        proc = self.proc
        attrs.set_rlimits(proc.get("rlimits"))
        attrs.set_personality(self.linux.get("personality"))
        attrs.set_scheduler(proc.get("scheduler"))
        attrs.set_ioprio(proc.get("ioPriority"))
        if self.filt is not None and not self.nnp:
            # without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it while we have
            # it (runc does the same); the syscalls left before execve must pass the profile
            self.filt.load()
        top = attrs.last_cap()
        caps = proc.get("capabilities")
        attrs.drop_bounding(attrs.cap_mask((caps or {}).get("bounding")), top)
        cwd = proc.get("cwd") or "/"
        # as runc: enter cwd while still root (so a cwd only root may enter, like /root, works
        # for any user), and once more after the user switch if that failed
        try:
            os.chdir(cwd)
            in_cwd = True
        except OSError:
            in_cwd = False
        libc.prctl(C.PR_SET_KEEPCAPS, 1)
        attrs.switch_user(proc.get("user") or {})
        # a uid/gid change resets "dumpable" to fs.suid_dumpable: stay non-dumpable until
        # execve, or the container could open /proc/<us>/exe, the host's Python (CVE-2019-5736)
        libc.prctl(C.PR_SET_DUMPABLE, 0)
        if not in_cwd:
            try:
                os.chdir(cwd)
            except OSError as e:
                raise PyruncError("process.cwd %s: %s" % (cwd, e.strerror)) from None
        attrs.check_cwd_inside()
        libc.prctl(C.PR_SET_KEEPCAPS, 0)
        attrs.apply_caps(caps, top)
        umask = (proc.get("user") or {}).get("umask")
        if umask is not None:
            os.umask(umask)
        if self.nnp:
            libc.prctl(C.PR_SET_NO_NEW_PRIVS, 1)
        apparmor_on_exec(proc.get("apparmorProfile"))
        selinux_on_exec(proc.get("selinuxLabel"))
        fd_hygiene(self.preserve_fds)
        reset_signals()

    def exec(self):
        """Load the late seccomp filter and execve; returns only by raising OSError."""
        if self.filt is not None and self.nnp:
            self.filt.load()  # as late as possible: only execve itself runs under it
        libc.execve(self.path, self.args, self.env)


def fd_hygiene(preserve):
    """Only 0-2 and the preserved fds may cross execve: everything else gets CLOEXEC."""
    for fd in range(3, 3 + preserve):
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass
    libc.close_range(3 + preserve, 0xFFFFFFFF, C.CLOSE_RANGE_CLOEXEC)


def reset_signals():
    # Python ignores SIGPIPE and SIGXFSZ and handles SIGINT; ignored dispositions survive
    # execve, so give the user's program the defaults it expects.
    import _signal
    for sig in (_signal.SIGPIPE, _signal.SIGXFSZ, _signal.SIGINT):
        _signal.signal(sig, _signal.SIG_DFL)


def apparmor_on_exec(profile):
    """Ask AppArmor to confine the process on execve (``exec <profile>``). A profile that
    can't be applied fails, as in runc (config.md: what can't be applied MUST fail)."""
    if not profile:
        return
    from pyrunc import hostcheck
    if not hostcheck.apparmor_enabled():
        raise PyruncError("process.apparmorProfile %s: AppArmor is not enabled on this host "
                          "(remove the profile, or enable AppArmor)" % profile)
    for rel in ("apparmor/exec", "exec"):
        try:
            write_lsm_attr(rel, "exec " + profile)
            return
        except FileNotFoundError:
            continue
        except OSError as e:
            raise PyruncError("process.apparmorProfile %s: %s (is the profile loaded? see "
                              "aa-status)" % (profile, e.strerror)) from None


def selinux_on_exec(label):
    """SELinux exec label; without SELinux this is an error, as in runc."""
    if not label:
        return
    from pyrunc import hostcheck
    if not hostcheck.selinux_enabled():
        raise PyruncError("process.selinuxLabel %s: SELinux is not enabled on this host "
                          "(remove the label, or enable SELinux)" % label)
    try:
        write_lsm_attr("exec", label)
    except OSError as e:
        raise PyruncError("process.selinuxLabel %s: %s" % (label, e.strerror)) from None


def write_lsm_attr(rel, data):
    """Write /proc/thread-self/attr/<rel>, the kernel's file and no other (CVE-2019-16884,
    CVE-2025-52881): from a /proc checked to be a procfs root, crossing no mount and no
    magic link, onto a file checked to be on procfs. Raises OSError (FileNotFoundError if
    this kernel has no such attribute) or PyruncError."""
    from pyrunc.rootfs import paths
    paths.require_procfs("process LSM label")
    procfd = os.open("/proc", C.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fd = libc.openat2(procfd, "thread-self/attr/" + rel, os.O_WRONLY, C.RESOLVE_BENEATH |
                          C.RESOLVE_NO_XDEV | C.RESOLVE_NO_MAGICLINKS)
    finally:
        os.close(procfd)
    try:
        if paths.fs_type(fd) != paths.PROC_SUPER_MAGIC:
            raise PyruncError("/proc/thread-self/attr/%s is not on procfs" % rel)
        os.write(fd, data.encode())
    finally:
        os.close(fd)
