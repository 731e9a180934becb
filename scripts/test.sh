#!/bin/bash
# Run the whole test suite (as root: the integration tests create real containers).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/setup.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
