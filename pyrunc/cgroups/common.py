"""What the v1 and v2 resource writers share: writing a cgroup file with an error that names
the config field, and reading values back."""

import errno
from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)

from pyrunc.errors import PyruncError


class ResourceError(PyruncError):
    """A resource the host can't apply; the message starts with the config field."""


class Writer:
    """Writes cgroup files for one resources object; ``prefix`` names it in errors
    ("linux.resources" for create, "update" for pyrunc update)."""

    def __init__(self, prefix="linux.resources"):
        self.prefix = prefix
        self.field = ""

    def name(self, field):
        return "%s.%s" % (self.prefix, field) if field else self.prefix

    def fail(self, field, msg):
        raise ResourceError("%s: %s" % (self.name(field), msg))

    def write(self, field, directory, fname, value):
        """One write(2) of value to directory/fname (no O_CREAT: a missing file is ENOENT)."""
        path = os.path.join(directory, fname)
        data = str(value).encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        except FileNotFoundError:
            self.fail(field, "not supported on this host: %s does not exist" % path)
        except OSError as e:
            self.fail(field, "open %s: %s" % (path, e.strerror))
        try:
            os.write(fd, data)
        except OSError as e:
            self.fail(field, "writing %r to %s: %s" % (str(value), path, e.strerror))
        finally:
            os.close(fd)

    def require(self, field, directory, controller):
        if not directory:
            self.fail(field, "the %s cgroup controller is not available on this host"
                      % controller)
        return directory


def read(directory, fname, default=None):
    try:
        with open(os.path.join(directory, fname)) as f:
            return f.read().strip()
    except OSError as e:
        if default is not None and e.errno in (errno.ENOENT, errno.ENODEV, errno.EOPNOTSUPP):
            return default
        raise


def read_int(directory, fname, default=None):
    v = read(directory, fname, None if default is None else "")
    if v == "" and default is not None:
        return default
    if v == "max":
        return 2 ** 64 - 1
    return int(v)


def exists(directory, fname):
    return bool(directory) and os.path.exists(os.path.join(directory, fname))


def set_(v):
    """A numeric field that is present and not 0 (0 means "unset"/"leave unchanged")."""
    return v is not None and v != 0
