#!/bin/bash
# Runs INSIDE the guest (cgroup v2 only, systemd PID 1): installs pyrunc from the shared
# checkout (the host dir that run-in-guest.sh shares, our cwd) onto the guest's own disk and
# runs the cgroup tests there. Extra arguments go to pytest (default: the cgroup tests).
# Host side:  tests/vm/run-in-guest.sh "$PWD" bash tests/vm/guest-test.sh [-k pattern]
set -uo pipefail
SRC=$PWD
DST=/root/pyrunc


echo "== guest: $(uname -r); cgroup fs: $(stat -fc %T /sys/fs/cgroup); controllers: $(cat /sys/fs/cgroup/cgroup.controllers); python $(python3 -V 2>&1 | cut -d' ' -f2); $(runc --version | head -1)"
rm -rf "$DST"; mkdir -p "$DST"
tar -C "$SRC" --exclude=./.venv --exclude=./.git --exclude='__pycache__' --exclude=./demo \
    --exclude=./bench -cf - . | tar -C "$DST" -xf -
python3 -m pip install -q --break-system-packages --no-deps --no-build-isolation \
    --no-index "$DST" 2>&1 | grep -v -i 'warning\|root user' || true
command -v pyrunc >/dev/null || { echo "pyrunc did not install"; exit 1; }
echo "== installed $(pyrunc --version | head -1) at $(command -v pyrunc)"
cd "$DST"
if [ $# -eq 0 ]; then
  set -- tests/unit/test_cgroups_unit.py tests/integration/test_cgroups.py \
         tests/integration/test_cgroups_v2.py tests/integration/test_cgroups_systemd.py
fi
start=$(date +%s)
python3 -m pytest -p no:cacheprovider -q -o addopts= -rs --durations=5 "$@"
rc=$?
echo "== pytest exit $rc in $(( $(date +%s) - start ))s"
exit $rc
