#!/bin/bash
# The whole test suite, as root (integration tests create real containers):
#   1. pytest over tests/ and conformance/ on this host (hybrid cgroups here);
#   2. the cgroup v2 + systemd pass: the cgroup tests again inside a Debian 12 guest under
#      QEMU (tests/vm/), since current distributions run pure cgroup v2 with systemd.
# With arguments, only pytest runs, with those arguments (e.g. scripts/test.sh tests/unit -x).
# PYRUNC_SKIP_VM=1 skips the guest pass.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/setup.sh
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
fi
rc=0
.venv/bin/python -m pytest -q -p no:cacheprovider || rc=$?
if [ "${PYRUNC_SKIP_VM:-0}" != 1 ]; then
  echo "== cgroup v2 + systemd pass (QEMU guest, tests/vm/run-cgroup-tests.sh)"
  tests/vm/run-cgroup-tests.sh || rc=$?
fi
exit $rc
