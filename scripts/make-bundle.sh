#!/bin/bash
# Build an OCI bundle (rootfs from the host's static busybox + pyrunc's default config.json).
# Usage: scripts/make-bundle.sh DIR [ARGS...]   (ARGS default: sh -c 'echo ...')
set -euo pipefail
DIR=$1; shift || true
BB=$(command -v busybox || echo /bin/busybox)
R=$DIR/rootfs
mkdir -p "$R"/{bin,etc,dev,proc,sys,tmp,root,run}
cp "$BB" "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do
  [ "$a" = busybox ] || ln -sfn busybox "$R/bin/$a"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
echo 'root:x:0:' > "$R/etc/group"
TOP=$(cd "$(dirname "$0")/.." && pwd)
PYTHONPATH=$TOP python3 - "$DIR" "$@" <<'PY'
import json, sys
from pyrunc.spec.default import default_spec
d = sys.argv[1]
c = default_spec()
c["process"]["terminal"] = False
c["process"]["args"] = sys.argv[2:] or ["sh", "-c", "echo hello from $(hostname), pid $$ in its own namespaces; id"]
c["hostname"] = "pyrunc-demo"
json.dump(c, open(d + "/config.json", "w"), indent=2)
PY
echo "$DIR"
