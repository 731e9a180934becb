"""Reading a bundle: config.json, decoded and validated, and the rootfs path it names."""

import os

from pyrunc import jsonio
from pyrunc.errors import ConfigError


def load_bundle(bundle):
    """(config dict, absolute rootfs path) of the bundle directory, or ConfigError."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ConfigError("config.json: no such file in bundle %s" % bundle) from None
    except OSError as e:
        raise ConfigError("config.json: %s" % e.strerror) from None
    try:
        config = jsonio.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError("config.json: invalid JSON: %s" % e) from None
    if not isinstance(config, dict):
        raise ConfigError("config.json: the top level must be an object")
    if jsonio.too_deep(config):
        raise ConfigError("config.json: nested more than %d levels deep" % jsonio.MAX_DEPTH)
    from pyrunc.spec.validate import validate_config
    validate_config(config)
    root = config["root"]["path"]
    # the bundle directory may be reached through symlinks (runc chdirs into it), but not
    # root.path: a rootfs that is, or goes through, a symlink could be the host's "/" --
    # runc refuses it the same way ("not an absolute path, or a symlink")
    lexical = os.path.normpath(root if os.path.isabs(root) else
                               os.path.join(os.path.realpath(bundle), root))
    rootfs = os.path.realpath(lexical)
    if not os.path.isdir(rootfs):
        raise ConfigError("root.path: %s is not a directory" % rootfs)
    if rootfs != lexical:
        raise ConfigError("root.path: %s is a symlink or goes through one (to %s)" % (
            root, rootfs))
    return config, rootfs
