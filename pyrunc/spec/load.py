"""Reading a bundle: config.json, decoded and validated, and the rootfs path it names."""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
from pyrunc import jsonio
from pyrunc.errors import ConfigError


MAX_CONFIG_SIZE = 64 << 20


def _read_regular(path):
    """The bytes of a regular file; a FIFO (which would block the open), a device
    (/dev/zero: endless) or a huge file is refused before reading."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        fmt = st.st_mode & 0o170000  # S_IFMT (no `import stat`)
        if fmt == 0o040000:  # S_IFDIR
            raise ConfigError("config.json: Is a directory")
        if fmt != 0o100000:  # S_IFREG
            raise ConfigError("config.json: not a regular file")
        if st.st_size > MAX_CONFIG_SIZE:
            raise ConfigError("config.json: larger than %d MiB" % (MAX_CONFIG_SIZE >> 20))
        # sized reads: a 1 MiB buffer per read costs more (an mmap) than reading the file
        size = min(st.st_size + 1, 1 << 20)
        chunks = []
        while True:
            b = os.read(fd, size)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _realpath(path):
    """os.path.realpath of an existing path, as the kernel resolves it (an O_PATH open, then
    its /proc/self/fd link), without importing os and posixpath (~0.9 ms); anything else
    (missing, unreadable) goes to posixpath's own."""
    try:
        fd = os.open(path, 0o10000000 | os.O_CLOEXEC)  # O_PATH
    except (OSError, ValueError):
        return os.path.realpath(path)
    try:
        real = os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        real = ""
    finally:
        os.close(fd)
    if not real.startswith("/") or real.endswith(" (deleted)"):
        return os.path.realpath(path)
    return real


def load_bundle(bundle):
    """(config dict, absolute rootfs path) of the bundle directory, or ConfigError."""
    path = os.path.join(bundle, "config.json")
    try:
        raw = _read_regular(path)
    except FileNotFoundError:
        raise ConfigError("config.json: no such file in bundle %s" % bundle) from None
    except OSError as e:
        raise ConfigError("config.json: %s" % e.strerror) from None
    try:
        config, problem = jsonio.loads_checked(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError("config.json: invalid JSON: %s" % e) from None
    if not isinstance(config, dict):
        raise ConfigError("config.json: the top level must be an object")
    if problem:
        raise ConfigError("config.json: " + problem)
    from pyrunc.spec.validate import validate_config
    validate_config(config)
    root = config["root"]["path"]
    if "\0" in root:
        raise ConfigError("root.path: %s contains a NUL byte" % ascii(root))
    # the bundle directory may be reached through symlinks (runc chdirs into it), but not
    # root.path: a rootfs that is, or goes through, a symlink could be the host's "/" --
    # runc refuses it the same way ("not an absolute path, or a symlink")
    lexical = os.path.normpath(root if os.path.isabs(root) else
                               os.path.join(_realpath(bundle), root))
    rootfs = _realpath(lexical)
    if not os.path.isdir(rootfs):
        raise ConfigError("root.path: %s is not a directory" % rootfs)
    if rootfs != lexical:
        raise ConfigError("root.path: %s is a symlink or goes through one (to %s)" % (
            root, rootfs))
    return config, rootfs
