#!/bin/bash
# Host side of the cgroup v2 + systemd pass: build the guest if needed (make-guest.sh, ~100 s),
# boot it under QEMU with this checkout shared, install pyrunc there and run the cgroup tests
# (guest-test.sh). Extra arguments go to pytest. Exit status: pytest's, in the guest.
# Env: GUEST_DIR (default /var/tmp/pyrunc-guest), and run-in-guest.sh's GUEST_* variables.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
G=${GUEST_DIR:-/var/tmp/pyrunc-guest}
t0=$(date +%s)
if [ ! -f "$G/rootfs.img" ]; then
  bash "$HERE/make-guest.sh" "$G" || exit 2
  echo "[vm] guest built in $(( $(date +%s) - t0 ))s" >&2
fi
t1=$(date +%s)
GUEST_DIR=$G bash "$HERE/run-in-guest.sh" "$TOP" bash tests/vm/guest-test.sh "$@"
rc=$?
echo "[vm] guest run: $(( $(date +%s) - t1 ))s (boot + install + tests), exit $rc" >&2
exit $rc
