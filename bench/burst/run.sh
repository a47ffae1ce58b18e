#!/usr/bin/env bash
# bench/burst: 0 → CLIENTS concurrent clients (default 200) on a service scaled to zero: time
# until all are served, errors (goal 0), and the instance count over time. The same burst on
# the service once warm, in the same run, is the reference the ratio is taken against.
# The service is Debian's nginx with --concurrency CONCURRENCY (default 10).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in curl umoci runc python3 nginx; do command -v $tool >/dev/null || { echo "bench/burst needs $tool" >&2; exit 1; }; done
source bench/lib/server.sh
CLIENTS=${CLIENTS:-200}
CONCURRENCY=${CONCURRENCY:-10}
ROUNDS=${ROUNDS:-3}

bench/images/nginx/build.sh "$work/image" v1 >/dev/null
start_server skbench2 10.251.10.0/24
skiff images load "$work/image:v1" --tag bench:v1 >/dev/null
python3 bench/burst/burst.py --api "http://127.0.0.1:$API" --http "127.0.0.1:$HTTP" \
    --token "$(cat "$work/data/admin.token")" --skiff "$BIN" --config "$work/config" \
    --clients "$CLIENTS" --concurrency "$CONCURRENCY" --rounds "$ROUNDS"
