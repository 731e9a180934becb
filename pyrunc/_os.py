"""``os`` for the short commands (start, state, kill, delete), without importing ``os``.

``import os`` costs about 1.3 ms on the test VM (it runs ``_collections_abc``, ...): more than
all of pyrunc's own work in ``pyrunc state``, and ``python -I -S`` does not load it. The
modules on those commands' path do ``from pyrunc import _os as os`` instead: the same
functions and constants from the C module ``posix`` (which ``os`` re-exports, and which the
interpreter has loaded already), plus the few ``os.path`` functions they use, written as
``posixpath`` writes them for str paths. Any other name (``os.walk``, ``os.path.abspath``,
``os.SEEK_SET`` ...) is looked up in the real ``os`` / ``posixpath``, imported on first use,
so code in these modules can use ``os`` as usual; only the common calls are fast.

``environ`` is the environment as the process started with it, read-only: changing it needs
the real ``os.environ`` (which also calls putenv for child processes).
"""

import posix as _posix
import sys as _sys
from posix import *  # noqa: F401,F403  (what os itself re-exports from posix)
from posix import _exit  # noqa: F401

sep = "/"
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2


class _Environ(dict):
    def _readonly(self, *args, **kwargs):
        raise TypeError("pyrunc._os.environ is read-only: import os to change the environment")
    __setitem__ = __delitem__ = pop = popitem = clear = update = setdefault = _readonly


_enc, _errs = _sys.getfilesystemencoding(), _sys.getfilesystemencodeerrors()
environ = _Environ((k.decode(_enc, _errs), v.decode(_enc, _errs))
                   for k, v in _posix.environ.items())


def fsencode(filename):
    """os.fsencode: str to bytes in the filesystem encoding (surrogateescape)."""
    filename = _posix.fspath(filename)
    if isinstance(filename, str):
        return filename.encode(_enc, _errs)
    return filename


def fsdecode(filename):
    """os.fsdecode: bytes to str in the filesystem encoding (surrogateescape)."""
    filename = _posix.fspath(filename)
    if isinstance(filename, bytes):
        return filename.decode(_enc, _errs)
    return filename


class _Path:
    """``os.path`` (posixpath) for str paths: join, isdir, isfile, exists, dirname, basename,
    split, isabs, normpath, abspath;
    anything else, and bytes or path-like arguments, go to the real posixpath."""

    sep = "/"

    @staticmethod
    def join(a, *p):
        if type(a) is not str:
            return _posixpath().join(a, *p)
        path = a
        for b in p:
            if type(b) is not str:
                return _posixpath().join(a, *p)
            if b.startswith("/"):
                path = b
            elif not path or path.endswith("/"):
                path += b
            else:
                path += "/" + b
        return path

    @staticmethod
    def isdir(s):
        return _file_type(s) == 0o040000

    @staticmethod
    def isfile(s):
        return _file_type(s) == 0o100000

    @staticmethod
    def exists(s):
        try:
            _posix.stat(s)
        except (OSError, ValueError):
            return False
        return True

    @staticmethod
    def split(p):
        if type(p) is not str:
            return _posixpath().split(p)
        i = p.rfind("/") + 1
        head, tail = p[:i], p[i:]
        if head and head != "/" * len(head):
            head = head.rstrip("/")
        return head, tail

    @staticmethod
    def dirname(p):
        if type(p) is not str:
            return _posixpath().dirname(p)
        return _Path.split(p)[0]

    @staticmethod
    def basename(p):
        if type(p) is not str:
            return _posixpath().basename(p)
        return p[p.rfind("/") + 1:]

    @staticmethod
    def isabs(s):
        if type(s) is not str:
            return _posixpath().isabs(s)
        return s.startswith("/")

    @staticmethod
    def normpath(p):
        if type(p) is not str or _normpath is None:
            return _posixpath().normpath(p)
        return _normpath(p) or "."

    @staticmethod
    def abspath(p):
        if type(p) is not str or _normpath is None:
            return _posixpath().abspath(p)
        if not p.startswith("/"):
            p = _Path.join(_posix.getcwd(), p)
        return _normpath(p) or "."

    def __getattr__(self, name):
        return getattr(_posixpath(), name)


def _file_type(s):
    """The S_IFMT bits of what ``s`` names (following symlinks), or None if it can't be
    stat'ed (genericpath's isdir/isfile rule)."""
    try:
        return _posix.stat(s).st_mode & 0o170000
    except (OSError, ValueError):
        return None


# the C normpath that posixpath itself uses for str paths (3.11+)
_normpath = getattr(_posix, "_path_normpath", None)


def _posixpath():
    import posixpath
    return posixpath


path = _Path()


def __getattr__(name):  # PEP 562: the rest of os, from os itself
    import os
    return getattr(os, name)
