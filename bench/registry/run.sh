#!/usr/bin/env bash
# bench/registry: skopeo push and pull of the same images to and from Skiff's registry and
# Debian's docker-registry (distribution 2.8), in one run:
#   big   one image with a 100 MiB layer
#   many  one image with 50 small layers
# Each round makes fresh random images, so no registry already holds a blob. Medians of ROUNDS.
# Every copy starts with both servers idle: Skiff unpacks pushed layers in the background.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${SKIFF_BIN:-.build/release/skiff}
ROUNDS=${ROUNDS:-3}
for tool in skopeo docker-registry curl python3; do command -v $tool >/dev/null || { echo "bench/registry needs $tool (apt install skopeo docker-registry)" >&2; exit 1; }; done
[ -x "$BIN" ] || { echo "build first: swift build -c release --product skiff" >&2; exit 1; }

work=$(mktemp -d /tmp/skiff-bench-registry-XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API=$(free_port) HTTP=$(free_port) PEER=$(free_port)
server_pid="" peer_pid=""
cleanup() {
    [ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null || true
    if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/registry.yml" <<CONF
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $work/peer-data }, delete: { enabled: true } }
http: { addr: 127.0.0.1:$PEER }
CONF
docker-registry serve "$work/registry.yml" >"$work/peer.log" 2>&1 &
peer_pid=$!
XDG_CONFIG_HOME="$work/config" "$BIN" server --data-dir "$work/data" --http "127.0.0.1:$HTTP" --api "127.0.0.1:$API" \
    --bridge skbenchr0 --subnet 10.251.8.0/24 --log-level warning >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$API/v1/health" >/dev/null && curl -fs "http://127.0.0.1:$PEER/v2/" >/dev/null && break; sleep 0.1; done
token=$(cat "$work/data/admin.token")

# Waits until a process stops using CPU (Skiff unpacks pushed layers in the background, and
# a measurement must not share the 2 cores with that); gives up after 60 s.
wait_idle() {
    local pid=$1 before after
    for _ in $(seq 1 120); do
        before=$(awk '{print $14 + $15}' /proc/$pid/stat)
        sleep 0.5
        after=$(awk '{print $14 + $15}' /proc/$pid/stat)
        [ $((after - before)) -le 1 ] && return 0
    done
}

# One timed skopeo copy; prints seconds.
timed() {
    local start end
    start=$(date +%s%N)
    skopeo copy --quiet "$@" >/dev/null
    end=$(date +%s%N)
    python3 -c "print(($end - $start) / 1e9)"
}

results="$work/results"
: >"$results"
for round in $(seq 1 "$ROUNDS"); do
    layout="$work/images-$round"
    python3 bench/registry/make-images.py "$layout" "$round"
    for image in big many; do
        bytes=$(python3 -c "
import json,os
idx=json.load(open('$layout/index.json'))
m=[d for d in idx['manifests'] if d['annotations']['org.opencontainers.image.ref.name']=='$image-$round'][0]
man=json.load(open('$layout/blobs/sha256/'+m['digest'][7:]))
print(sum(x['size'] for x in man['layers'])+man['config']['size']+m['size'])")
        for target in docker-registry skiff; do
            if [ $target = skiff ]; then port=$API; auth=(--dest-creds "skiff:$token"); pauth=(--src-creds "skiff:$token")
            else port=$PEER; auth=(); pauth=(); fi
            ref="docker://127.0.0.1:$port/bench/$image:r$round"
            wait_idle "$server_pid"; wait_idle "$peer_pid"
            push=$(timed --dest-tls-verify=false "${auth[@]}" "oci:$layout:$image-$round" "$ref")
            wait_idle "$server_pid"; wait_idle "$peer_pid"
            pull=$(timed --src-tls-verify=false "${pauth[@]}" "$ref" "oci:$work/pulled-$target-$round:$image")
            echo "$image $target $push $pull $bytes" >>"$results"
        done
    done
    rm -rf "$layout" "$work"/pulled-*
done

python3 - "$results" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    image, target, push, pull, size = line.split()
    rows[(image, target)].append((float(push), float(pull), int(size)))
print(f"{'image':<6} {'registry':<16} {'push s':>8} {'push MB/s':>10} {'pull s':>8} {'pull MB/s':>10}")
med = {}
for (image, target), values in sorted(rows.items()):
    push = statistics.median(v[0] for v in values); pull = statistics.median(v[1] for v in values)
    size = values[0][2] / 1e6
    med[(image, target)] = (push, pull)
    print(f"{image:<6} {target:<16} {push:>8.3f} {size/push:>10.1f} {pull:>8.3f} {size/pull:>10.1f}")
for image in ("big", "many"):
    s, d = med[(image, "skiff")], med[(image, "docker-registry")]
    print(f"ratio skiff/docker-registry speed, {image}: push {d[0]/s[0]:.2f}x, pull {d[1]/s[1]:.2f}x (goal: >= 1 both)")
PY
