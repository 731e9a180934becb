#!/bin/bash
# Set up pyrunc on a fresh Debian 12 machine (as root): system packages, a venv with pyrunc,
# and the demo bundle. Idempotent. Usage: scripts/setup.sh [--no-apt]
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
if [ "${1:-}" != "--no-apt" ]; then
  export DEBIAN_FRONTEND=noninteractive
  need=()
  # second line: the real clients of tests/e2e (podman, containerd + ctr, docker)
  for p in busybox-static runc crun libseccomp2 iproute2 strace uidmap python3-cffi-backend util-linux golang-github-containers-common \
           podman conmon netavark aardvark-dns catatonit containerd docker.io iptables; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    # policy-rc.d (exit 101) keeps the packages from starting containerd/dockerd services
    made_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
      made_policy=1
    fi
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
    [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
  fi
fi
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# pip's output without its "WARNING: Location" noise; a failed install fails the setup
if ! out=$(.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1); then
  printf '%s\n' "$out" >&2
  echo "setup.sh: pip install failed" >&2
  exit 1
fi
printf '%s\n' "$out" | grep -v -e "^WARNING: Location" -e '^$' || true
.venv/bin/python scripts/make-launcher.py .venv "$TOP" >/dev/null
ln -sfn "$TOP/.venv/bin/pyrunc" /usr/local/bin/pyrunc
scripts/make-bundle.sh "$TOP/demo/bundle" >/dev/null
echo "pyrunc installed: $(command -v pyrunc)"
