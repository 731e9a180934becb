"""Process attributes from ``process`` in config.json, applied by the init before exec.

Order matters and follows runc: rlimits, personality, scheduler and I/O priority while still
privileged; then the bounding set is dropped, the user switched with PR_SET_KEEPCAPS, and the
final capability sets applied (effective/permitted/inheritable, then ambient); umask and cwd;
no_new_privs last (seccomp follows it, just before execve).
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc.errors import PyruncError
from pyrunc.linux import consts as C
from pyrunc.linux import libc

RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8,
    "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12,
    "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}

PERSONALITY_DOMAINS = {"LINUX": C.PER_LINUX, "LINUX32": C.PER_LINUX32}
PERSONALITY_FLAGS = {
    "UNAME26": 0x0020000, "ADDR_NO_RANDOMIZE": 0x0040000, "FDPIC_FUNCPTRS": 0x0080000,
    "MMAP_PAGE_ZERO": 0x0100000, "ADDR_COMPAT_LAYOUT": 0x0200000,
    "READ_IMPLIES_EXEC": 0x0400000, "ADDR_LIMIT_32BIT": 0x0800000, "SHORT_INODE": 0x1000000,
    "WHOLE_SECONDS": 0x2000000, "STICKY_TIMEOUTS": 0x4000000, "ADDR_LIMIT_3GB": 0x8000000,
}

SCHED_POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
                  "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x1, "SCHED_FLAG_RECLAIM": 0x2,
               "SCHED_FLAG_DL_OVERRUN": 0x4, "SCHED_FLAG_KEEP_POLICY": 0x8,
               "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
               "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}

_RLIM_INF = 0xFFFFFFFFFFFFFFFF


def has_cap(name):
    """Whether the calling process has capability ``name`` in its effective set."""
    from pyrunc.linux.capnames import CAP_NAMES
    return bool(libc.capget()[0] & (1 << CAP_NAMES.index(name)))


def rlimit_problem(r):
    """Why this host would refuse rlimit ``r`` (a process.rlimits entry), or None.

    The probe both `create` (to explain a failure) and `pyrunc check` use."""
    import resource
    num = RLIMITS[r["type"]]
    soft, hard = r["soft"], r["hard"]
    cur_hard = resource.getrlimit(num)[1]
    inf = resource.RLIM_INFINITY
    if soft > hard:
        return "soft %d > hard %d" % (soft, hard)
    if num == RLIMITS["RLIMIT_NOFILE"]:
        try:
            with open("/proc/sys/fs/nr_open") as f:
                nr_open = int(f.read())
        except OSError:
            nr_open = None
        if nr_open is not None and hard > nr_open and hard < _RLIM_INF:
            return ("hard %d > this kernel's fs.nr_open %d (lower it, or raise fs.nr_open)"
                    % (hard, nr_open))
    if cur_hard != inf and hard > cur_hard and not has_cap("CAP_SYS_RESOURCE"):
        return ("hard %s > this host's limit %d and CAP_SYS_RESOURCE is not held (lower it, "
                "e.g. podman's default_ulimits in containers.conf, or run where the hard "
                "limit is higher)" % ("unlimited" if hard >= _RLIM_INF else hard, cur_hard))
    return None


def set_rlimits(rlimits):
    import resource
    for r in rlimits or ():
        num = RLIMITS[r["type"]]
        soft, hard = r["soft"], r["hard"]
        lim = (resource.RLIM_INFINITY if soft >= _RLIM_INF else soft,
               resource.RLIM_INFINITY if hard >= _RLIM_INF else hard)
        try:
            resource.setrlimit(num, lim)
        except (OSError, ValueError) as e:
            why = rlimit_problem(r) or ("setrlimit: %s" % (getattr(e, "strerror", None) or e))
            raise PyruncError("process.rlimits[%s]: %s" % (r["type"], why)) from None


def cap_mask(names):
    from pyrunc.linux.capnames import CAP_NAMES
    mask = 0
    for n in names or ():
        try:
            mask |= 1 << CAP_NAMES.index(n)
        except ValueError:
            pass  # unknown to this pyrunc: ignored (validation warns), as runc does
    return mask


_last_cap = None


def last_cap():
    """The highest capability number of this kernel, read once and cached.

    Call it first while the host's /proc is still ours (the init and exec ``_preload`` do):
    inside the container, /proc/sys/kernel/cap_last_cap could be a file the image or a volume
    provides, and a small number there would leave the bounding set undropped, so that the
    container's root would regain every capability at execve."""
    global _last_cap
    if _last_cap is None:
        try:
            with open("/proc/sys/kernel/cap_last_cap") as f:
                _last_cap = int(f.read())
        except (OSError, ValueError):
            _last_cap = 63
    return _last_cap


def drop_bounding(bounding, top):
    for c in range(top + 1):
        if not bounding & (1 << c):
            try:
                libc.prctl(C.PR_CAPBSET_DROP, c)
            except OSError as e:
                if e.errno != 22:
                    raise


def apply_caps(caps, top):
    if caps is None:
        caps = {}
    eff, perm, inh = (cap_mask(caps.get(k)) for k in ("effective", "permitted", "inheritable"))
    limit = (1 << (top + 1)) - 1
    # capabilities this runtime does not hold itself can't be granted: config.md says to log
    # and go on, and runc skips them with a warning
    held = libc.capget()[1]
    missing = (eff | perm | inh) & limit & ~held
    if missing:
        from pyrunc import log
        log.warning("process.capabilities: ignoring %s, not available to the runtime on this "
                    "host" % ", ".join(_cap_name(c) for c in range(top + 1)
                                       if missing & (1 << c)))
        limit &= held
    libc.capset(eff & limit, perm & limit, inh & limit)
    libc.prctl(C.PR_CAP_AMBIENT, C.PR_CAP_AMBIENT_CLEAR_ALL)
    amb = cap_mask(caps.get("ambient")) & limit
    c = 0
    while amb >> c:
        if amb & (1 << c):
            try:
                libc.prctl(C.PR_CAP_AMBIENT, C.PR_CAP_AMBIENT_RAISE, c)
            except OSError as e:
                # a cap that is not also permitted and inheritable can't be ambient; runc
                # skips it silently (its default spec asks for such caps), and so do we
                if e.errno not in (1, 22):
                    raise PyruncError("process.capabilities.ambient: cannot raise %s: %s"
                                      % (_cap_name(c), e.strerror)) from None
        c += 1


def _cap_name(c):  # noqa: E302
    from pyrunc.linux.capnames import CAP_NAMES
    return CAP_NAMES[c] if c < len(CAP_NAMES) else str(c)


def setgroups_allowed(pid="self"):
    """Whether setgroups(2) is allowed in the user namespace of ``pid`` (rootless maps deny
    it). Exec reads this for the container's init from the host's /proc, before joining:
    the container's own /proc is the container's to fake."""
    try:
        with open("/proc/%s/setgroups" % pid) as f:
            return f.read().strip() != "deny"
    except OSError:
        return True


_SETGROUPS = {"known": None}


def switch_user(user):
    uid, gid = user.get("uid", 0), user.get("gid", 0)
    groups = list(dict.fromkeys(user.get("additionalGids") or []))  # runc drops duplicates
    allowed = _SETGROUPS["known"]
    if allowed is None:
        allowed = setgroups_allowed()
    if allowed:
        try:
            libc.setgroups(groups)
        except OSError as e:
            raise PyruncError("process.user.additionalGids: setgroups: %s" % e.strerror) from None
    try:
        libc.setresgid(gid, gid, gid)
    except OSError as e:
        raise PyruncError("process.user.gid %d: %s (is it mapped in the user namespace?)"
                          % (gid, e.strerror)) from None
    try:
        libc.setresuid(uid, uid, uid)
    except OSError as e:
        raise PyruncError("process.user.uid %d: %s (is it mapped in the user namespace?)"
                          % (uid, e.strerror)) from None


def set_personality(p):
    if not p:
        return
    val = PERSONALITY_DOMAINS[p.get("domain", "LINUX")]
    for f in p.get("flags") or ():
        val |= PERSONALITY_FLAGS[f]
    libc.personality(val)


def set_ioprio(p):
    if not p:
        return
    try:
        libc.ioprio_set(C.IOPRIO_CLASS[p["class"]], p.get("priority", 0))
    except OSError as e:
        raise PyruncError("process.ioPriority: %s" % e.strerror) from None


def set_scheduler(s):
    if not s:
        return
    from pyrunc.linux._libc_ffi import ffi
    attr = ffi.new("struct sched_attr *")
    attr.size = ffi.sizeof("struct sched_attr")
    attr.sched_policy = SCHED_POLICIES[s["policy"]]
    fl = 0
    for f in s.get("flags") or ():
        fl |= SCHED_FLAGS[f]
    attr.sched_flags = fl
    attr.sched_nice = s.get("nice", 0)
    attr.sched_priority = s.get("priority", 0)
    attr.sched_runtime = s.get("runtime", 0)
    attr.sched_deadline = s.get("deadline", 0)
    attr.sched_period = s.get("period", 0)
    try:
        libc.syscall("sched_setattr", 0, attr, 0)
    except OSError as e:
        raise PyruncError("process.scheduler: sched_setattr(%s): %s" % (
            s["policy"], e.strerror)) from None


def set_oom_score_adj(value):
    if value is None:
        return
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))
    except OSError as e:
        raise PyruncError("process.oomScoreAdj %d: %s%s" % (
            value, e.strerror, " (lowering it needs CAP_SYS_RESOURCE)"
            if e.errno == 13 else "")) from None


def exec_env(env, uid):
    """process.env as runc passes it to execve: a repeated NAME keeps its first position and
    takes its last value, and a missing or empty HOME is set from the container's /etc/passwd
    entry for ``uid`` ("/" without one). Call after the pivot (reads the container's file)."""
    out = {}
    for e in env or ():
        name, _, value = e.partition("=")
        out[name] = value
    if not out.get("HOME"):
        out["HOME"] = _passwd_home(uid)
    return ["%s=%s" % kv for kv in out.items()]


def _passwd_home(uid):
    try:
        with open("/etc/passwd", errors="replace") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 6 and fields[2].strip().isdigit() and int(fields[2]) == uid:
                    return fields[5]
    except OSError:
        pass
    return "/"


def lookup_executable(arg0, env, cwd="/"):
    """The path execve will run, resolved like Go's exec.LookPath with the container's PATH.

    As runc, which looks it up once in ``cwd`` (process.cwd): a relative ``args[0]`` with a
    slash is taken from there, and a match through a relative PATH entry ("", ".", "bin")
    is refused (Go's ErrDot: what the current directory holds is not to be run by a PATH
    search). We run before the chdir, so relative paths are checked as ``cwd``-joined.

    The wording of the errors is runc's: podman maps "executable file not found" and "no
    such file or directory" to exit status 127."""
    def at(p):
        return p if p.startswith("/") else os.path.join(cwd, p)

    def ok(p):
        try:
            st = os.stat(at(p))
        except OSError:
            return False
        return not (st.st_mode & 0o170000 == 0o040000) and st.st_mode & 0o111
    if "/" in arg0:
        if ok(arg0):
            return arg0
        if not os.path.exists(at(arg0)):
            raise PyruncError('exec: "%s": stat %s: no such file or directory' % (arg0, arg0))
        raise PyruncError('exec: "%s": permission denied' % arg0)
    path = ""
    for e in env or ():
        if e.startswith("PATH="):
            path = e[5:]
    for d in path.split(":"):
        cand = os.path.join(d or ".", arg0)
        if ok(cand):
            if not cand.startswith("/"):
                raise PyruncError('exec: "%s": cannot run executable found relative to '
                                  'current directory' % arg0)
            return cand
    raise PyruncError('exec: "%s": executable file not found in $PATH' % arg0)


def check_cwd_inside():
    """CVE-2024-21626: a cwd reached through a leaked host fd is outside the container's root;
    the kernel then reports it as "(unreachable)/...", never as an absolute path."""
    try:
        cwd = os.getcwd()  # glibc turns the kernel's "(unreachable)/..." into ENOENT
    except OSError:
        cwd = ""
    if not cwd.startswith("/"):
        raise PyruncError("process.cwd: the working directory is outside the container")
