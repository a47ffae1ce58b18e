#!/usr/bin/env bash
# bench/gateway: requests/s and latency of one nginx instance reached three ways, in one run:
#   direct   wrk → instance address (the floor)
#   nginx    wrk → nginx on loopback, keep-alive reverse proxy → instance (the peer)
#   skiff    wrk → Skiff gateway (Host: bench.localhost) → instance
# plus `skiff deploy` to first 200 and the server's idle RSS. Medians of ROUNDS runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
for tool in wrk nginx curl umoci runc; do command -v $tool >/dev/null || { echo "bench/gateway needs $tool" >&2; exit 1; }; done
source bench/lib/server.sh
PEER=$(free_port)
nginx_pid=""
extra_cleanup='[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null'

bench/images/nginx/build.sh "$work/nginx-image" v1 >/dev/null
start_server skbench0 10.251.7.0/24
skiff images load "$work/nginx-image:v1" --tag nginx-bench:v1 >/dev/null

start_ms=$(date +%s%3N)
# Traffic that bypasses the gateway (direct, nginx) is invisible to the autoscaler and the
# freezer: keep the instance up and never frozen.
skiff deploy bench --image nginx-bench:v1 --min-instances 1 --freeze-after 0 --no-wait >/dev/null
until [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: bench.localhost' "http://127.0.0.1:$HTTP/")" = 200 ]; do sleep 0.005; done
deploy_ms=$(( $(date +%s%3N) - start_ms ))

address=$(skiff instances bench -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream backend { server $address; keepalive 128; }
    server {
        listen 127.0.0.1:$PEER;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
CONF
nginx -c "$work/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PEER/" >/dev/null && break; sleep 0.05; done

sleep 1
rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$server_pid/status)

# One wrk run: prints "requests_per_s p50_ms p99_ms errors".
measure() {
    local url=$1 host=$2
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Host: $host" "$url" | python3 -c '
import re, sys
text = sys.stdin.read()
def ms(label):
    m = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors += int(non2xx.group(1)) if non2xx else 0
p50, p99 = ms("50%"), ms("99%")
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {errors}")'
}

declare -A results
for round in $(seq 1 "$ROUNDS"); do
    results[direct]+="$(measure "http://$address/" bench.localhost)"$'\n'
    results[nginx]+="$(measure "http://127.0.0.1:$PEER/" bench.localhost)"$'\n'
    results[skiff]+="$(measure "http://127.0.0.1:$HTTP/" bench.localhost)"$'\n'
done

python3 - "$deploy_ms" "$rss_kb" "${results[direct]}" "${results[nginx]}" "${results[skiff]}" <<'PY'
import statistics, sys
deploy_ms, rss_kb = int(sys.argv[1]), int(sys.argv[2])
names = ["direct", "nginx", "skiff"]
med = {}
for name, block in zip(names, sys.argv[3:6]):
    rows = [list(map(float, l.split())) for l in block.strip().splitlines()]
    med[name] = [statistics.median(col) for col in zip(*rows)]
print(f"{'path':<8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
for name in names:
    rps, p50, p99, err = med[name]
    print(f"{name:<8} {rps:>10.0f} {p50:>8.3f} {p99:>8.3f} {err:>7.0f}")
s, n = med["skiff"], med["nginx"]
print(f"ratio skiff/nginx: throughput {s[0]/n[0]:.2f}x, p50 {s[1]/n[1]:.2f}x, p99 {s[2]/n[2]:.2f}x (goal: throughput >= 1, p99 <= 1)")
print(f"ratio skiff/direct: throughput {s[0]/med['direct'][0]:.2f}x")
print(f"deploy to first 200: {deploy_ms} ms")
print(f"server idle RSS: {rss_kb/1024:.1f} MiB")
PY
