"""linux.seccomp -> a BPF program: the config's rules, through libseccomp, the runc way.

``compile_filter`` runs in the container's init before pivot_root (libseccomp is dlopen'ed
from the host's filesystem, and a listenerPath is connected while it is reachable). It returns
a ``Filter``: the finished program plus the seccomp(2) flags; ``Filter.load`` is then a single
syscall, made as late as possible by the init.

Semantics follow runc (libcontainer/seccomp + specconv):
  * one rule per name; a rule whose action equals the default action is skipped;
  * a name this libseccomp does not know is skipped (debug log only, like runc);
  * ERRNO/TRACE without errnoRet mean EPERM; SCMP_ACT_KILL is KILL_THREAD;
  * argument conditions on distinct indexes form one rule (ANDed); if two conditions share
    an index, libseccomp cannot AND them, so each condition becomes a rule of its own (ORed);
  * more than 32 rules enable libseccomp's binary-tree optimisation;
  * no ``flags`` at all means SECCOMP_FILTER_FLAG_SPEC_ALLOW when the kernel supports it
    (runc >= 1.2); TSYNC is honoured (runc ignores it: harmless, the init is one thread);
  * the -ENOSYS stub (see enosys.py) is prepended when the default action denies;
  * NOTIFY needs listenerPath, cannot be the default action, and cannot apply to sendmsg:
    the init sends the listener fd with sendmsg right after loading (runc's rule for write).
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc import log
from pyrunc.errors import PyruncError
from pyrunc.seccomp import consts as K

_ALLOWISH = (K.ACT_ALLOW, K.ACT_LOG)  # and TRACE (any code): no -ENOSYS stub for these


def _err(path, msg):
    return PyruncError("%s: %s" % (path, msg))


def action_value(name, errno_ret, path, errno_path):
    """The libseccomp action for an SCMP_ACT_* name (with errnoRet where it applies)."""
    if name not in K.ACTIONS:
        raise _err(path, "%r is not a valid seccomp action (one of %s)" % (
            name, ", ".join(sorted(K.ACTIONS))))
    base, takes_errno = K.ACTIONS[name]
    if not takes_errno:
        if errno_ret is not None:
            raise _err(errno_path, "is not supported by action %s" % name)
        return base
    if errno_ret is None:
        errno_ret = K.EPERM
    if not isinstance(errno_ret, int) or isinstance(errno_ret, bool) or \
            not 0 <= errno_ret <= 0xFFFFFFFF:
        raise _err(errno_path, "%r is not a valid errno" % (errno_ret,))
    return base | (errno_ret & 0xFFFF)


def _u64(v, path):
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 1 << 64:
        raise _err(path, "%r is not an unsigned 64-bit value" % (v,))
    return v


def _conditions(args, path):
    conds = []
    for j, arg in enumerate(args or ()):
        p = "%s.args[%d]" % (path, j)
        if not isinstance(arg, dict):
            raise _err(p, "must be an object")
        index = arg.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= 5:
            raise _err(p + ".index", "%r is out of range 0..5" % (index,))
        op = arg.get("op")
        if op not in K.OPS:
            raise _err(p + ".op", "%r is not a valid seccomp operator (one of %s)" % (
                op, ", ".join(sorted(K.OPS))))
        conds.append((index, K.OPS[op], _u64(arg.get("value", 0), p + ".value"),
                      _u64(arg.get("valueTwo", 0), p + ".valueTwo")))
    return conds


def _arch_name(arch):
    """SCMP_ARCH_X86_64 -> x86_64: libseccomp's own names are the lowercased suffixes."""
    if isinstance(arch, str) and arch.startswith("SCMP_ARCH_") and len(arch) > 10:
        return arch[10:].lower()
    return None


class Filter:
    """A compiled profile: the program (bytes of struct sock_filter) and how to load it."""

    def __init__(self, program, flags, seccomp_nr, listener=None):
        self.program = program
        self.flags = flags
        self.seccomp_nr = seccomp_nr
        self.listener = listener  # notify.Listener when the profile has NOTIFY rules
        self.loaded = False

    def __len__(self):
        return len(self.program) // 8

    def load(self):
        """Install the filter on this process (and its future children); then, for NOTIFY
        rules, hand the listener fd and the process state to the seccomp agent."""
        from pyrunc.linux import libc
        from pyrunc.seccomp._seccomp_ffi import ffi
        lf = libc.ffi
        payload = self.listener.payload() if self.listener is not None else None
        insns = ffi.from_buffer("struct sock_filter[]", self.program)
        prog = ffi.new("struct sock_fprog *", {"len": len(self), "filter": insns})
        r = libc.lib.syscall(lf.cast("long", self.seccomp_nr),
                             lf.cast("long", K.SECCOMP_SET_MODE_FILTER),
                             lf.cast("long", self.flags),
                             lf.cast("long", int(ffi.cast("uintptr_t", prog))))
        if r < 0:
            e = lf.errno
            if self.listener is not None:
                self.listener.close()
            hint = ""
            if e == 13:  # EACCES
                hint = " (needs no_new_privs or CAP_SYS_ADMIN)"
            raise PyruncError("linux.seccomp: loading the filter: %s%s" % (
                os.strerror(e), hint))
        self.loaded = True
        if self.listener is not None:
            self.listener.send(r, payload)
        elif self.flags & K.FLAG_NEW_LISTENER:
            os.close(r)  # compiled without connecting: nobody to hand it to


def compile_filter(sc, ctx=None, backend=None, connect=True, notes=None):
    """Compile ``linux.seccomp`` into a Filter; PyruncError names the offending field.

    ``ctx`` (the init's or exec's context) gives the container process state a seccomp
    agent receives with NOTIFY rules; ``backend`` is the libseccomp wrapper (a fake in unit
    tests); ``connect=False`` skips connecting to listenerPath (tools that only want the
    program); ``notes``, a list, also gets the debug lines compiling logged (the cache keeps
    them, to log them again when it is used)."""
    if not isinstance(sc, dict):
        raise _err("linux.seccomp", "must be an object")
    if backend is None:
        from pyrunc.seccomp._lib import Libseccomp
        backend = Libseccomp()
    try:
        return _compile(sc, backend, connect, ctx, _Notes(notes))
    finally:
        backend.release()


class _Notes:
    """log.debug, and a copy of each line into ``into`` (a list) if given."""

    def __init__(self, into):
        self.into = into

    def __call__(self, msg):
        log.debug(msg)
        if self.into is not None:
            self.into.append(msg)


def _compile(sc, lib, connect, ctx, note):
    default_name = sc.get("defaultAction")
    if default_name == "SCMP_ACT_NOTIFY":
        raise _err("linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be the default action")
    default = action_value(default_name, sc.get("defaultErrnoRet"),
                           "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet")

    # architectures: libseccomp always includes the native one
    native = lib.native_arch()
    arches = {}  # token -> index in architectures
    for i, arch in enumerate(sc.get("architectures") or ()):
        name = _arch_name(arch)
        token = lib.resolve_arch(name) if name else None
        if token is None:
            raise _err("linux.seccomp.architectures[%d]" % i,
                       "%r is not an architecture libseccomp %s knows" % (arch, lib.version))
        arches.setdefault(token, i)

    # syscalls: validate everything first, one (path, name, action, conds) per name
    rules = []
    has_notify = False
    for i, call in enumerate(sc.get("syscalls") or ()):
        path = "linux.seccomp.syscalls[%d]" % i
        if not isinstance(call, dict):
            raise _err(path, "must be an object")
        names = call.get("names")
        if not isinstance(names, list) or not names:
            raise _err(path + ".names", "must list at least one syscall")
        act = action_value(call.get("action"), call.get("errnoRet"), path + ".action",
                           path + ".errnoRet")
        conds = _conditions(call.get("args"), path)
        for j, name in enumerate(names):
            if not isinstance(name, str) or not name:
                raise _err("%s.names[%d]" % (path, j), "%r is not a valid syscall name" % (
                    name,))
            if act == K.ACT_NOTIFY and name == "sendmsg":
                raise _err(path + ".action", "SCMP_ACT_NOTIFY cannot be used for sendmsg "
                           "(pyrunc sends the listener fd to the agent with it)")
            rules.append((path, name, act, conds))
        if act == K.ACT_NOTIFY:
            has_notify = True
    listener_path = sc.get("listenerPath")
    if has_notify and not listener_path:
        raise _err("linux.seccomp.listenerPath",
                   "must be set when a rule uses SCMP_ACT_NOTIFY")

    # flags
    flags = 0
    if sc.get("flags") is None:
        if lib.flags_supported(K.FLAG_SPEC_ALLOW):
            flags = K.FLAG_SPEC_ALLOW
    else:
        for i, flag in enumerate(sc["flags"]):
            bit = K.FLAGS.get(flag)
            if bit is None:
                raise _err("linux.seccomp.flags[%d]" % i, "%r is not a known seccomp flag" % (
                    flag,))
            probe = bit | (K.FLAG_NEW_LISTENER if bit == K.FLAG_WAIT_KILLABLE_RECV else 0)
            if not lib.flags_supported(probe):
                raise _err("linux.seccomp.flags[%d]" % i, "%s is not supported by this "
                           "kernel" % flag)
            flags |= bit
    if has_notify:
        flags |= K.FLAG_NEW_LISTENER
        if flags & K.FLAG_TSYNC:
            flags |= K.FLAG_TSYNC_ESRCH  # TSYNC and a listener are exclusive without it
    elif flags & K.FLAG_WAIT_KILLABLE_RECV:
        note("seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no "
                  "SCMP_ACT_NOTIFY rule")
        flags &= ~K.FLAG_WAIT_KILLABLE_RECV

    # build
    if not lib.new(default):
        raise _err("linux.seccomp.defaultAction", "libseccomp %s rejects %s" % (
            lib.version, default_name))
    for token, i in arches.items():
        rc = lib.add_arch(token)
        if rc < 0:  # e.g. EDOM: libseccomp cannot mix big- and little-endian arches
            raise _err("linux.seccomp.architectures[%d]" % i, "cannot add %s to the filter: %s"
                       % (sc["architectures"][i], os.strerror(-rc)))
    if len(rules) > 32:
        rc = lib.set_attr(K.ATTR_CTL_OPTIMIZE, 2)
        if rc < 0:
            note("seccomp: binary tree optimization not available: %s" % os.strerror(-rc))
    for path, name, act, conds in rules:
        if act == default:
            continue  # redundant (and libseccomp refuses it)
        nr = lib.resolve_syscall(name)
        if nr is None:
            note("seccomp: unknown syscall %r ignored (%s)" % (name, path))
            continue
        if not conds:
            groups = [[]]
        elif len({c[0] for c in conds}) < len(conds):
            groups = [[c] for c in conds]  # same index twice: libseccomp can't AND them
        else:
            groups = [conds]
        for group in groups:
            rc = lib.add_rule(act, nr, group)
            if rc < 0:
                raise _err(path, "adding the rule for %s: %s" % (name, os.strerror(-rc)))
    from pyrunc.seccomp import bpf
    program = bpf.decode(lib.export())

    # -ENOSYS for syscalls newer than the profile
    if default not in _ALLOWISH and default & 0xFFFF0000 != K.act_trace(0) \
            and default != K.act_errno(K.ENOSYS):
        from pyrunc.seccomp import enosys
        tokens = [native] + [t for t in arches if t != native]
        names = list(dict.fromkeys(r[1] for r in rules))
        last = enosys.last_syscalls(names, tokens, lib.resolve_syscall_arch)
        if last:
            program = enosys.stub(last) + program
    if len(program) > K.BPF_MAXINSNS:
        raise _err("linux.seccomp", "the compiled filter has %d instructions, more than the "
                   "kernel's limit of %d" % (len(program), K.BPF_MAXINSNS))

    seccomp_nr = lib.resolve_syscall("seccomp")
    listener = None
    if has_notify and connect:
        from pyrunc.seccomp import notify
        listener = notify.Listener(listener_path, sc.get("listenerMetadata") or "", ctx)
    return Filter(bpf.encode(program), flags, seccomp_nr, listener)
