#!/usr/bin/env bash
# Starts `skiff server` in the background for `make run` and waits until its API answers.
set -euo pipefail
bin=$1 data=$2 http=$3 api=$4
mkdir -p "$data"
chmod 0711 "$data"
if [ -f "$data/server.pid" ] && kill -0 "$(cat "$data/server.pid")" 2>/dev/null; then
    echo "skiff server already running (pid $(cat "$data/server.pid"))"
    exit 0
fi
nohup "$bin" server --data-dir "$data" --http "$http" --api "$api" >>"$data/server.log" 2>&1 </dev/null &
echo $! >"$data/server.pid"
for _ in $(seq 1 200); do
    if curl -fsS "http://$api/v1/health" >/dev/null 2>&1; then
        echo "skiff server running (pid $(cat "$data/server.pid")), API http://$api, gateway http://$http"
        exit 0
    fi
    kill -0 "$(cat "$data/server.pid")" 2>/dev/null || { echo "skiff server exited; see $data/server.log" >&2; tail -20 "$data/server.log" >&2; exit 1; }
    sleep 0.1
done
echo "skiff server did not answer on http://$api within 20s; see $data/server.log" >&2
exit 1
