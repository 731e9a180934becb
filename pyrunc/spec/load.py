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
    from pyrunc.spec.validate import validate_config
    validate_config(config)
    root = config["root"]["path"]
    rootfs = root if os.path.isabs(root) else os.path.join(bundle, root)
    rootfs = os.path.realpath(rootfs)
    if not os.path.isdir(rootfs):
        raise ConfigError("root.path: %s is not a directory" % rootfs)
    return config, rootfs
