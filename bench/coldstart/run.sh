#!/usr/bin/env bash
# bench/coldstart: how long the first request waits when no instance is running, in one run:
#   (a) Skiff from frozen   the service's instance is frozen; the request thaws it
#   (b) Skiff from nothing  no instance at all: create, start, first byte
#   (c) the floor           `runc run` of the same bundle until its port accepts and answers
# TRIES tries each (default 50); p50/p99 and the ratios a/c and b/c.
# Goals: (a) under 2 ms, (b) within 1.5x of (c). The instance is Debian's nginx
# (bench/images/nginx), so the request itself costs little next to what is measured.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in curl umoci runc ip python3 nginx; do command -v $tool >/dev/null || { echo "bench/coldstart needs $tool" >&2; exit 1; }; done
source bench/lib/server.sh
TRIES=${TRIES:-50}

bench/images/nginx/build.sh "$work/image" v1 >/dev/null
start_server skbench1 10.251.8.0/24
skiff images load "$work/image:v1" --tag bench:v1 >/dev/null
extra_cleanup='python3 bench/coldstart/coldstart.py cleanup'
python3 bench/coldstart/coldstart.py run --api "http://127.0.0.1:$API" --http "127.0.0.1:$HTTP" \
    --token "$(cat "$work/data/admin.token")" --skiff "$BIN" --config "$work/config" --data "$work/data" \
    --work "$work" --tries "$TRIES"
