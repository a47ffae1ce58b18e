#!/usr/bin/env bash
# bench/unpack: how fast one gzip layer unpacks, three ways in the same run, one after the other:
#   (a) skiff, diff_id hashing off   LayerUnpacker alone: the unpacker before issue 18's check
#   (b) skiff, diff_id hashing on    LayerUnpacker feeding SHA-256, as the snapshot store does
#   (c) tar -xzf                     GNU tar with gzip, the peer
# over two layers: the nginx image's (bench/images/nginx, as bench/coldstart loads it) and a
# 1 GiB layer of real files from /usr/lib. TRIES tries each (default 5); medians, MiB/s of
# uncompressed tar, and the ratios b/a (the cost of hashing; goal: under 10 %) and b/c.
#
# The unpacker runs inside a release build of the tests (Tests/SkiffOCITests/UnpackBenchmark.swift),
# so build that first, in a scratch path of its own:
#   swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path .build/bench-tests
#   bench/unpack/run.sh                       # SCRATCH=.build/bench-tests TRIES=5 BIG_MIB=1024
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in umoci tar gzip python3 nginx swift; do
    command -v $tool >/dev/null || { echo "bench/unpack needs $tool" >&2; exit 1; }
done
SCRATCH=${SCRATCH:-.build/bench-tests}
TRIES=${TRIES:-5}
BIG_MIB=${BIG_MIB:-1024}
[ -x "$SCRATCH/release/skiffPackageTests.xctest" ] || {
    echo "build first: swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path $SCRATCH" >&2; exit 1; }
# Not /tmp: it may be a small tmpfs, and the unpacked trees should land on a real disk.
work=$(mktemp -d /var/tmp/skiff-bench-unpack-XXXXXX)
trap 'rm -rf "$work"' EXIT
free_mib=$(( $(stat -f -c '%a * %S' "$work") / 1048576 ))
[ "$free_mib" -gt $(( BIG_MIB * 4 )) ] || { echo "bench/unpack needs $(( BIG_MIB * 4 )) MiB free in /var/tmp" >&2; exit 1; }

bench/images/nginx/build.sh "$work/nginx" v1 >/dev/null
nginx_layer=$(python3 - "$work/nginx" <<'PY'
import json, sys
root = sys.argv[1]
def blob(digest): return f"{root}/blobs/{digest.replace(':', '/')}"
index = json.load(open(f"{root}/index.json"))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
layers = manifest["layers"]
# The image's largest layer: the one holding nginx and its libraries.
print(blob(max(layers, key=lambda layer: layer["size"])["digest"]))
PY
)

# Real files, not zeros: shared libraries and data compress about 3:1, as image layers do.
python3 - "$work/big.list" "$BIG_MIB" <<'PY'
import os, sys
out, budget = sys.argv[1], int(sys.argv[2]) << 20
total = 0
with open(out, "w") as listing:
    for directory, _, names in os.walk("/usr/lib"):
        for name in sorted(names):
            path = os.path.join(directory, name)
            if not os.path.isfile(path) or os.path.islink(path) or "\n" in path: continue
            size = os.path.getsize(path)
            if size > 64 << 20 or total + size > budget: continue
            listing.write(path + "\n")
            total += size
        if total > budget - (1 << 20): break
PY
tar -cf - -T "$work/big.list" 2>/dev/null | gzip -6 > "$work/big.tar.gz"
echo "layers: nginx $(du -h "$nginx_layer" | cut -f1) gzip, big $(du -h "$work/big.tar.gz" | cut -f1) gzip; $TRIES tries"

SKIFF_BENCH_UNPACK="nginx=$nginx_layer,${BIG_MIB}MiB=$work/big.tar.gz" SKIFF_BENCH_DIR="$work" TRIES="$TRIES" \
    swift test -c release -Xswiftc -enable-testing --skip-build --scratch-path "$SCRATCH" --filter UnpackBenchmark 2>&1 \
    | grep -E '^(layer |  )' || { echo "the benchmark did not run; see: swift test -c release --skip-build --scratch-path $SCRATCH --filter UnpackBenchmark" >&2; exit 1; }
