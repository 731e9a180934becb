from tests.conftest import (rootfs_template, make_bundle, bundle, pyrunc, runc)  # noqa: F401
