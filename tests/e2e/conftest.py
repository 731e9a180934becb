"""End-to-end fixtures: real podman, containerd (ctr) and docker running containers on pyrunc.

Every test runs twice: on pyrunc, and on real runc as the control (``stack`` is a
package-scoped fixture parametrized by runtime), so a failure that happens on pyrunc only is
ours. The clients of one runtime share one ``clients.Stack`` (private containerd, dockerd on
it, podman config); pytest groups the tests by runtime, so one stack is up at a time, and
tears it down (every container, daemon and mount) when its tests are done, even when they
failed. A stack left by a run that was killed is torn down by the next run.

``PYRUNC_E2E_RUNTIMES=pyrunc`` (comma-separated) runs only some runtimes.
A test is skipped, with the reason, only when a client binary is not installed
(``scripts/setup.sh`` installs them all) or when not running as root.
"""

import os

import pytest

from tests import helpers
from tests.e2e import clients

ALL_RUNTIMES = ("pyrunc", "runc")


def _selected():
    sel = os.environ.get("PYRUNC_E2E_RUNTIMES", "").strip()
    if not sel:
        return list(ALL_RUNTIMES)
    names = [s.strip() for s in sel.split(",") if s.strip()]
    bad = [n for n in names if n not in ALL_RUNTIMES]
    if bad:
        raise pytest.UsageError("PYRUNC_E2E_RUNTIMES: unknown runtime(s) %s" % bad)
    return names


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "e2e: end-to-end test through a real client (podman, containerd, docker)")


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.fspath).startswith(here + os.sep):
            item.add_marker(pytest.mark.e2e)


def _runtime_path(name):
    if name == "pyrunc":
        exe = os.path.join(helpers.REPO, ".venv", "bin", "pyrunc")
        if not os.access(exe, os.X_OK):
            pytest.fail("pyrunc launcher %s is missing (run scripts/setup.sh)" % exe)
        return exe
    exe = clients.which("runc")
    if exe is None:
        pytest.skip("runc (the control runtime) is not installed; scripts/setup.sh installs it")
    return os.path.realpath(exe)


@pytest.fixture(scope="session")
def e2e_image(e2e_rootfs):
    """A busybox image as a docker-archive (built here; no registry)."""
    return clients.write_docker_archive(e2e_rootfs, os.path.join(
        os.path.dirname(e2e_rootfs), "busybox-docker.tar"))


@pytest.fixture(scope="session")
def e2e_rootfs(tmp_path_factory):
    """The image's busybox rootfs (read-only use: a config's root.path)."""
    if os.geteuid() != 0:
        pytest.skip("end-to-end tests need root (real daemons and containers)")
    rootfs = tmp_path_factory.mktemp("e2e-image") / "rootfs"
    helpers.build_rootfs(str(rootfs))
    return str(rootfs)


@pytest.fixture(scope="package", params=_selected())
def stack(request, e2e_image):
    """All clients of one runtime (started lazily); torn down at the end of the session."""
    clients.reap_stale()
    s = clients.Stack(request.param, _runtime_path(request.param), e2e_image)
    try:
        yield s
    finally:
        errs = s.close()
        if errs:
            raise AssertionError("e2e teardown (%s) had errors:\n%s" % (
                request.param, "\n".join(errs)))


def _need(*names):
    miss = clients.missing(*names)
    if miss:
        pytest.skip("client binary not installed: %s (scripts/setup.sh installs it)"
                    % ", ".join(miss))


@pytest.fixture(scope="package")
def containerd_session(stack):
    _need("containerd", "ctr", "containerd-shim-runc-v2")
    return stack.containerd()


@pytest.fixture(scope="package")
def dockerd_session(stack):
    _need("containerd", "ctr", "containerd-shim-runc-v2", "dockerd", "docker")
    return stack.dockerd()


@pytest.fixture(scope="package")
def podman_session(stack):
    _need("podman", "conmon", "netavark")
    return stack.podman()


@pytest.fixture
def ctr(containerd_session):
    """The private containerd (``.ctr(...)``); the test's tasks and containers are removed."""
    yield containerd_session
    containerd_session.reset()


@pytest.fixture
def docker(dockerd_session):
    yield dockerd_session
    dockerd_session.reset()


@pytest.fixture
def podman(podman_session):
    yield podman_session
    podman_session.reset()


@pytest.fixture
def name():
    """name() -> a fresh container name."""
    return lambda prefix="e2e": helpers.new_id(prefix)


@pytest.fixture
def scratch(tmp_path):
    """A directory for host-side files of a test (volumes, profiles, configs)."""
    d = tmp_path / "scratch"
    d.mkdir()
    return d


def pytest_report_header(config):
    have = [n for n in ("podman", "conmon", "containerd", "ctr", "dockerd", "docker", "runc")
            if clients.which(n)]
    return "e2e clients installed: %s; runtimes: %s" % (" ".join(have) or "none",
                                                       ",".join(_selected()))

