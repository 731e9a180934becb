import os

import pytest


@pytest.fixture(autouse=True)
def _need_root(request):
    # the attack tests create real containers; a test that does not (in-process fuzzing of
    # validation) says so with ``needs_root = False`` on the function
    if os.geteuid() != 0 and getattr(request.function, "needs_root", True):
        pytest.skip("security tests create real containers: run as root")
