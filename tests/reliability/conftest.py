import os

import pytest

from tests import helpers
from tests.reliability import common


@pytest.fixture(autouse=True)
def _need_root():
    if os.geteuid() != 0:
        pytest.skip("reliability tests create real containers: run as root")


@pytest.fixture(scope="session")
def cgroup_parent():
    """One cgroup parent for the session's containers; at the end it must be empty."""
    parent = "/" + common.unique("pyrunc-rel")
    common.make_cgroup_parent(parent)
    yield parent
    left = common.remove_cgroup_parent(parent)
    assert not left, "cgroups leaked: %s" % left


@pytest.fixture
def world(tmp_path, rootfs_template, cgroup_parent):
    rt = helpers.Runtime(helpers.pyrunc_argv(), str(tmp_path / "root"))
    w = common.World(rt, tmp_path, rootfs_template, cgroup_parent)
    yield w
    rt.cleanup()
