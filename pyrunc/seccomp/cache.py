"""Compiled seccomp programs, cached by profile, as crun does.

libseccomp takes ~15 ms to build and export a profile the size of docker's or podman's
default (``add_rule`` for ~400 names, then ``export``): more than a third of a whole create,
and paid again by every ``exec``. An engine starts its containers with the same profile, so
the program is kept under ``<root>/@seccomp-cache/`` (``@`` can't be in a container id, so
``list`` never shows it) by a sha256 of the profile and of what else the program depends on:
the libseccomp library file (its path, inode, size and mtime: an upgrade is a new key) and the
machine. Only profiles without SCMP_ACT_NOTIFY are cached (a listener is made per process).

The cache is as trusted as the state dir beside it (same owner, mode 0700) and an entry is
checked for shape before use; a damaged or unreadable one is compiled again and replaced.
Entries are written atomically; at most MAX_ENTRIES are kept (the oldest go).
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
from pyrunc import jsonio, log
from pyrunc.seccomp import _seccomp_ffi  # noqa: F401  (Filter.load needs it, in the container)

DIRNAME = "@seccomp-cache"
FORMAT = 1
MAX_ENTRIES = 64
_LIB_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib")


def cacheable(sc):
    """A profile whose program can be shared: no NOTIFY rule (whose listener is per process)."""
    if not isinstance(sc, dict):
        return False
    return all(not isinstance(s, dict) or s.get("action") != "SCMP_ACT_NOTIFY"
               for s in sc.get("syscalls") or ())


def _library_identity():
    """Where libseccomp.so.2 is and which file it is, or None (then nothing is cached)."""
    import sys
    multiarch = getattr(sys.implementation, "_multiarch", "")
    dirs = [d + "/" + multiarch for d in _LIB_DIRS if multiarch] + list(_LIB_DIRS)
    for d in dirs:
        path = d + "/libseccomp.so.2"
        try:
            st = os.stat(path)
        except OSError:
            continue
        return "%s:%d:%d:%d" % (path, st.st_ino, st.st_size, st.st_mtime_ns)
    return None


def _key(sc):
    ident = _library_identity()
    if ident is None:
        return None
    try:
        from _sha256 import sha256
    except ImportError:  # (a build without it)
        from hashlib import sha256
    text = "%d\n%s\n%s\n%s" % (FORMAT, os.uname().machine, ident,
                                jsonio.dumps(sc))
    return sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _load(path):
    """(Filter, the debug lines of its compilation) from an entry, or None."""
    from pyrunc.seccomp.compile import Filter
    try:
        with open(path, "rb") as f:
            entry = jsonio.loads(f.read())
        program = bytes.fromhex(entry["program"])
        flags, nr, notes = entry["flags"], entry["seccomp_nr"], entry["notes"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not program or len(program) % 8 or type(flags) is not int or type(nr) is not int \
            or type(notes) is not list or not all(type(n) is str for n in notes):
        return None
    return Filter(program, flags, nr), notes


def _store(d, path, filt, notes):
    from pyrunc import util
    try:
        os.makedirs(os.path.dirname(d), 0o700, exist_ok=True)  # (--root itself, as create)
        os.makedirs(d, 0o700, exist_ok=True)
        util.write_atomic(path, jsonio.dumps({"program": filt.program.hex(),
                                             "flags": filt.flags,
                                             "seccomp_nr": filt.seccomp_nr,
                                             "notes": notes}), 0o600)
        names = [n for n in os.listdir(d) if not n.startswith(".")]
        if len(names) > MAX_ENTRIES:
            by_age = sorted(names, key=lambda n: _mtime(os.path.join(d, n)))
            for n in by_age[:len(names) - MAX_ENTRIES]:
                try:
                    os.unlink(os.path.join(d, n))
                except OSError:
                    pass
    except OSError:
        pass  # a cache: a read-only or full --root only costs the next create a compile


def _mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def compiled(root, sc):
    """The Filter of profile ``sc`` (which ``cacheable`` accepts), from the cache under
    ``root`` or compiled now (and cached); compile errors are raised as compile_filter's."""
    from pyrunc.seccomp.compile import compile_filter
    key = _key(sc)
    if key is None:
        return compile_filter(sc, connect=False)
    d = os.path.join(root, DIRNAME)
    path = os.path.join(d, key)
    found = _load(path)
    if found is None:
        notes = []
        filt = compile_filter(sc, connect=False, notes=notes)
        _store(d, path, filt, notes)
        return filt
    filt, notes = found
    for msg in notes:  # what compiling it said, as if it had just been compiled
        log.debug(msg)
    return filt
