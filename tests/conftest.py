import os
import shutil

import pytest

from tests import helpers


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="integration tests need root (real containers)")
        for item in items:
            if "integration" in str(item.fspath) or "conformance" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory):
    d = tmp_path_factory.mktemp("rootfs-template") / "rootfs"
    helpers.build_rootfs(str(d))
    return str(d)


@pytest.fixture
def make_bundle(tmp_path, rootfs_template):
    """make_bundle(args...) -> Bundle with its own copy of the busybox rootfs."""
    n = [0]

    def make(*args, name=None):
        n[0] += 1
        path = tmp_path / (name or "bundle%d" % n[0])
        path.mkdir()
        shutil.copytree(rootfs_template, str(path / "rootfs"), symlinks=True)
        return helpers.Bundle(str(path), helpers.default_config(args or ("true",))).write()
    return make


@pytest.fixture
def bundle(make_bundle):
    return make_bundle("true")


@pytest.fixture
def pyrunc(tmp_path):
    rt = helpers.Runtime(helpers.pyrunc_argv(), str(tmp_path / "pyrunc-root"))
    yield rt
    rt.cleanup()


@pytest.fixture
def runc(tmp_path):
    exe = shutil.which("runc")
    if exe is None:
        pytest.fail("runc is not installed (scripts/setup.sh installs it)")
    rt = helpers.Runtime([exe], str(tmp_path / "runc-root"), name="runc")
    yield rt
    rt.cleanup()
