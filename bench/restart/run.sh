#!/usr/bin/env bash
# bench/restart: what a restart of `skiff server` costs the services it runs, in one run:
#   (a) recovery: SERVICES services × PER instances (default 25 × 4 = 100) of Debian's nginx;
#       the server is killed (SIGKILL) or replaced (a new server started beside it takes the
#       gateway's socket over), and the time until every service answers and every
#       instance is back in the routing table is measured. The reference, in the same run,
#       is what a restart cost before adoption: the same services started from nothing.
#   (b) requests lost: wrk (4 connections) on one service across ROUNDS (default 10)
#       takeovers, then across ROUNDS SIGKILL restarts; non-2xx answers and socket errors.
# Goals: (a) under 1 s with 100 instances; (b) 0 for takeovers, and for SIGKILL only the
# connections open at the moment of the kill (plus connects refused while nothing listened).
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in curl umoci runc python3 nginx wrk; do command -v $tool >/dev/null || { echo "bench/restart needs $tool" >&2; exit 1; }; done
BIN=${SKIFF_BIN:-.build/release/skiff}
[ -x "$BIN" ] || { echo "build first: swift build -c release --product skiff" >&2; exit 1; }
work=$(mktemp -d /tmp/skiff-bench-restart-XXXXXX)
trap 'python3 bench/restart/restart.py cleanup --work "$work" --skiff "$BIN"; rm -rf "$work"' EXIT
bench/images/nginx/build.sh "$work/image" v1 >/dev/null
python3 bench/restart/restart.py run --work "$work" --skiff "$BIN" --bridge skbench4 --subnet 10.251.12.0/23 \
    --services "${SERVICES:-25}" --per "${PER:-4}" --rounds "${ROUNDS:-10}"
