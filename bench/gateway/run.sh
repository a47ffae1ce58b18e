#!/usr/bin/env bash
# bench/gateway: what a request costs through Skiff's gateway next to Debian's nginx, HAProxy and
# Caddy, in one run, all in front of the same nginx instance that Skiff starts. Each proxy has
# 2 threads or workers and keeps upstream connections alive (HTTP/1.1 to the instance):
#   1. HTTP/1.1 keep-alive, wrk -t2 -c64: req/s, p50, p99 of
#        direct (wrk → instance: the floor), skiff (wrk → gateway, Host: bench.localhost),
#        nginx, haproxy, caddy (wrk → proxy on loopback)
#   2. h2c with prior knowledge, h2load: skiff, nginx, haproxy, caddy; "n/a" for a path that
#      does not speak it
#   3. light load: µs per request on one keep-alive connection, one request at a time, paced
#      (latency.py), and what each proxy adds over direct
#   1a. the CPU each proxy spent per request in those runs (user and system µs, from /proc: a
#      figure that scheduling noise on a shared machine moves less than req/s)
#   4. memory: the RSS that IDLE_CONNECTIONS idle keep-alive client connections cost each proxy
#      (idleconns.py; the skiff server is one process, gateway and control plane)
# plus `skiff deploy` to first 200 and the server's idle RSS. Figures are medians of ROUNDS
# rounds; the contenders' order rotates from round to round so that drift favours none.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
# h2c: 16 connections × 4 streams keep 64 requests in flight, as wrk's 64 connections do, so
# every proxy's upstream keep-alive pool holds them all and the comparison with HTTP/1.1 is of
# the client protocol alone; 16 connections still spread over both threads of each proxy.
# (-c64 -m10, 640 in flight, outgrows the pools: it measured upstream connection churn, and
# nginx and Caddy lost a third and three quarters of their h2c req/s to it in a trial.)
H2_CONNECTIONS=${H2_CONNECTIONS:-16}
H2_STREAMS=${H2_STREAMS:-4}
LATENCY_REQUESTS=${LATENCY_REQUESTS:-2000}
LATENCY_RATE=${LATENCY_RATE:-1000}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
for tool in wrk h2load nginx haproxy caddy curl umoci runc python3; do
    command -v $tool >/dev/null || { echo "bench/gateway needs $tool (make bench installs it)" >&2; exit 1; }
done
# Room for IDLE_CONNECTIONS sockets and some in the client and in each proxy, which inherit
# the soft limit; raising the hard limit needs CAP_SYS_RESOURCE, which a container may lack.
fds=$((IDLE_CONNECTIONS * 2 + 4096))
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] || [ "$hard" -ge $fds ] || ulimit -Hn $fds 2>/dev/null || fds=$hard
ulimit -Sn $fds
if [ $fds -lt $((IDLE_CONNECTIONS + 2048)) ]; then
    echo "bench/gateway: ulimit -n is at most $fds, too low for IDLE_CONNECTIONS=$IDLE_CONNECTIONS" >&2
    exit 1
fi
source bench/lib/server.sh
NGINX=$(free_port) NGINX_H2=$(free_port) HAPROXY=$(free_port) HAPROXY_H2=$(free_port)
CADDY=$(free_port) CADDY_H2=$(free_port)
peer_pids=""
stop_peers() {
    local pid
    for pid in $peer_pids; do kill "$pid" 2>/dev/null || true; done
    for pid in $peer_pids; do wait "$pid" 2>/dev/null || true; done
}
extra_cleanup=stop_peers
results="$work/results"
: >"$results"
progress() { echo "bench/gateway: $*" >&2; }

bench/images/nginx/build.sh "$work/nginx-image" v1 >/dev/null
start_server skbench0 10.251.7.0/24
skiff images load "$work/nginx-image:v1" --tag nginx-bench:v1 >/dev/null

start_ms=$(date +%s%3N)
# Traffic that bypasses the gateway (direct and the peers) is invisible to the autoscaler and
# the freezer: keep the instance up and never frozen.
skiff deploy bench --image nginx-bench:v1 --min-instances 1 --freeze-after 0 --no-wait >/dev/null
until [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: bench.localhost' "http://127.0.0.1:$HTTP/")" = 200 ]; do
    sleep 0.005
done
echo "meta deploy_ms $(($(date +%s%3N) - start_ms))" >>"$results"
address=$(skiff instances bench -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')

# The peers: 2 workers or threads, no access log, keep-alive to the instance (up to 128 idle
# connections, as the gateway's 64 per event loop on 2 loops), the client's Host passed on.
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
worker_rlimit_nofile $fds;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections $((IDLE_CONNECTIONS + 2048)); }
http {
    access_log off;
    client_body_temp_path $work/nginx-temp/body;
    proxy_temp_path $work/nginx-temp/proxy;
    fastcgi_temp_path $work/nginx-temp/fastcgi;
    uwsgi_temp_path $work/nginx-temp/uwsgi;
    scgi_temp_path $work/nginx-temp/scgi;
    keepalive_requests 1000000;
    upstream backend { server $address; keepalive 128; keepalive_requests 1000000; }
    server {
        listen 127.0.0.1:$NGINX;
        listen 127.0.0.1:$NGINX_H2 http2;
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
cat >"$work/haproxy.cfg" <<CONF
global
    nbthread 2
    maxconn $((IDLE_CONNECTIONS + 2048))
    # HAProxy asks for two descriptors per connection of maxconn; idle clients need one.
    ulimit-n $fds
    no strict-limits
defaults
    mode http
    maxconn $((IDLE_CONNECTIONS + 2048))
    option http-keep-alive
    option forwardfor
    http-reuse always
    timeout connect 5s
    timeout client 5m
    timeout server 5m
frontend bench
    bind 127.0.0.1:$HAPROXY
    bind 127.0.0.1:$HAPROXY_H2 proto h2
    default_backend instance
backend instance
    server instance $address
CONF
cat >"$work/Caddyfile" <<CONF
{
    admin off
    auto_https off
    servers 127.0.0.1:$CADDY_H2 {
        protocols h1 h2c
    }
}
http://:$CADDY, http://:$CADDY_H2 {
    bind 127.0.0.1
    reverse_proxy $address {
        transport http {
            keepalive 5m
            keepalive_idle_conns 128
            keepalive_idle_conns_per_host 128
        }
    }
}
CONF
mkdir -p "$work/nginx-temp" "$work/caddy"
nginx -c "$work/nginx.conf" -g 'daemon off;' 2>>"$work/nginx-error.log" &
nginx_pid=$!
peer_pids+=" $nginx_pid"
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
peer_pids+=" $haproxy_pid"
GOMAXPROCS=2 XDG_DATA_HOME="$work/caddy" XDG_CONFIG_HOME="$work/caddy" HOME="$work/caddy" \
    caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
caddy_pid=$!
peer_pids+=" $caddy_pid"

declare -A h1_url=(
    [direct]="http://$address/" [skiff]="http://127.0.0.1:$HTTP/" [nginx]="http://127.0.0.1:$NGINX/"
    [haproxy]="http://127.0.0.1:$HAPROXY/" [caddy]="http://127.0.0.1:$CADDY/"
)
declare -A h2_url=(
    [skiff]="http://127.0.0.1:$HTTP/" [nginx]="http://127.0.0.1:$NGINX_H2/"
    [haproxy]="http://127.0.0.1:$HAPROXY_H2/" [caddy]="http://127.0.0.1:$CADDY_H2/"
)
declare -A pid_of=([skiff]=$server_pid [nginx]=$nginx_pid [haproxy]=$haproxy_pid [caddy]=$caddy_pid)
proxies=(skiff nginx haproxy caddy)
h1_paths=(direct "${proxies[@]}")

# Ready when GET / answers 200, over HTTP/1.1 (and over h2c for the peers' h2c ports).
for name in "${h1_paths[@]}"; do
    for _ in $(seq 1 100); do
        curl -fs -H 'Host: bench.localhost' "${h1_url[$name]}" >/dev/null && break
        sleep 0.05
    done
    curl -fs -H 'Host: bench.localhost' "${h1_url[$name]}" >/dev/null || {
        echo "bench/gateway: $name does not answer on ${h1_url[$name]}" >&2
        cat "$work"/nginx-error.log "$work"/haproxy.log "$work"/caddy.log >&2
        exit 1
    }
done
# "2 200" when GET / answers over h2c with prior knowledge: the peers must; the gateway's
# h2c line is n/a until it does.
h2c_status() {
    curl -s --http2-prior-knowledge -o /dev/null -w '%{http_version} %{http_code}' -H 'Host: bench.localhost' "$1" ||
        true
}
for name in nginx haproxy caddy; do
    [ "$(h2c_status "${h2_url[$name]}")" = "2 200" ] || { echo "bench/gateway: $name does not answer h2c" >&2; exit 1; }
done
skiff_h2c=yes
[ "$(h2c_status "${h2_url[skiff]}")" = "2 200" ] || skiff_h2c=no

sleep 1
echo "meta idle_rss_kib $(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")" >>"$results"

# The names in $2... rotated left by $1 places.
rotated() {
    local shift=$1
    shift
    local items=("$@") i
    for i in $(seq 0 $(($# - 1))); do echo "${items[$(((i + shift) % $#))]}"; done
}

# One wrk run: prints "requests_per_s p50_ms p99_ms errors requests".
measure_h1() {
    local url=$1 duration=$2
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency -H "Host: bench.localhost" "$url" | python3 -c '
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
requests = int(re.search(r"(\d+) requests in", text).group(1))
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {errors} {requests}")'
}

# CPU clock ticks "user system" spent so far by a proxy: its process, and for nginx its
# workers too (the skiff server's children would be instances, not the gateway).
cpu_ticks() {
    local user=0 system=0 pid fields children=""
    [ "$2" = nginx ] && children=$(pgrep -P "$1" || true)
    for pid in "$1" $children; do
        read -r -a fields < <(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
        user=$((user + fields[11])) system=$((system + fields[12]))
    done
    echo "$user $system"
}
clock_ticks=$(getconf CLK_TCK)

# One h2load run: prints "requests_per_s mean_ms errors", or "n/a WHY" if no request succeeded.
measure_h2() {
    local url=$1 duration=$2
    h2load -t"$THREADS" -c"$H2_CONNECTIONS" -m"$H2_STREAMS" -D"$duration" -H ':authority: bench.localhost' "$url" 2>&1 |
        python3 -c '
import re, sys
text = sys.stdin.read()
done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, "
                 r"(\d+) timeout", text)
codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
if not done or not codes or int(codes.group(1)) == 0:
    print("n/a h2load: no request succeeded")
    sys.exit()
rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text).group(1))
m = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\s", text)
v, u = float(m.group(1)), m.group(2)
mean = v / 1000 if u == "us" else v * 1000 if u == "s" else v
errors = sum(int(x) for x in done.groups()[1:]) + sum(int(x) for x in codes.groups()[1:])
print(f"{rps:.0f} {mean:.3f} {errors}")'
}

{
    echo "meta rounds $ROUNDS"
    echo "meta h1_tool wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
    echo "meta h2_tool h2load -t$THREADS -c$H2_CONNECTIONS -m$H2_STREAMS -D$DURATION"
    echo "meta lat_tool latency.py, $LATENCY_REQUESTS requests per path per round, $LATENCY_RATE/s over all paths"
    echo "meta idle_connections $IDLE_CONNECTIONS"
    echo "meta load_start $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$results"

progress "warming up each path for $WARMUP"
for name in "${h1_paths[@]}"; do measure_h1 "${h1_url[$name]}" "$WARMUP" >/dev/null; done
for name in "${proxies[@]}"; do
    [ "$name" = skiff ] && [ $skiff_h2c = no ] && continue
    measure_h2 "${h2_url[$name]}" "$WARMUP" >/dev/null
done

for round in $(seq 1 "$ROUNDS"); do
    for name in $(rotated $((round - 1)) "${h1_paths[@]}"); do
        pid=${pid_of[$name]:-}
        [ -z "$pid" ] || before=$(cpu_ticks "$pid" "$name")
        read -r rps p50 p99 errors requests < <(measure_h1 "${h1_url[$name]}" "$DURATION")
        figures="$rps $p50 $p99 $errors"
        progress "round $round/$ROUNDS: HTTP/1.1 $name: $figures (req/s, p50 ms, p99 ms, errors)"
        echo "h1 $name $round $figures" >>"$results"
        if [ -n "$pid" ]; then
            read -r user system < <(echo "$before $(cpu_ticks "$pid" "$name")" |
                awk -v n="$requests" -v hz="$clock_ticks" '{ printf "%.2f %.2f\n", ($3 - $1) * 1e6 / hz / n, ($4 - $2) * 1e6 / hz / n }')
            progress "round $round/$ROUNDS: CPU per request $name: $user $system (user µs, system µs)"
            echo "cpu $name $round $user $system" >>"$results"
        fi
    done
    for name in $(rotated $((round - 1)) "${proxies[@]}"); do
        if [ "$name" = skiff ] && [ $skiff_h2c = no ]; then
            figures="n/a gateway has no h2c"
        else
            figures=$(measure_h2 "${h2_url[$name]}" "$DURATION")
        fi
        progress "round $round/$ROUNDS: h2c $name: $figures (req/s, mean ms, errors)"
        echo "h2 $name $round $figures" >>"$results"
    done
    targets=()
    for name in $(rotated $((round - 1)) "${h1_paths[@]}"); do targets+=("$name=${h1_url[$name]#http://}"); done
    python3 bench/gateway/latency.py --requests "$LATENCY_REQUESTS" --rate "$LATENCY_RATE" "${targets[@]%/}" |
        while read -r name figures; do
            progress "round $round/$ROUNDS: light load $name: $figures (p50, p90, p99 µs, requests)"
            echo "lat $name $round $figures" >>"$results"
        done
done

for name in "${proxies[@]}"; do
    tree=()
    [ "$name" = nginx ] && tree=(--tree)
    url=${h1_url[$name]#http://}
    figures=$(python3 bench/gateway/idleconns.py --connections "$IDLE_CONNECTIONS" "${tree[@]}" "${url%/}" \
        "${pid_of[$name]}")
    progress "memory: $IDLE_CONNECTIONS idle connections to $name: $figures (RSS KiB before, held, after; open)"
    echo "mem $name $figures" >>"$results"
done

echo "meta load_end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$results"
python3 bench/gateway/report.py "$results"
