# Sourced by the bench scripts: builds nothing, starts a throwaway `skiff server` on free
# loopback ports with its own data dir, bridge and subnet, and removes it all on exit.
#   start_server BRIDGE SUBNET     → sets API, HTTP, server_pid; defines skiff()
work=$(mktemp -d /tmp/skiff-bench-XXXXXX)
BIN=${SKIFF_BIN:-.build/release/skiff}
[ -x "$BIN" ] || { echo "build first: swift build -c release --product skiff" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
server_pid=""
extra_cleanup=""
cleanup() {
    if [ -n "$extra_cleanup" ]; then eval "$extra_cleanup" || true; fi
    # SIGINT: the platform stops for good, instances included (SIGTERM would keep them).
    if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
start_server() {
    API=$(free_port) HTTP=$(free_port)
    XDG_CONFIG_HOME="$work/config" "$BIN" server --data-dir "$work/data" --http "127.0.0.1:$HTTP" \
        --api "127.0.0.1:$API" --bridge "$1" --subnet "$2" --log-level warning >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$API/v1/health" >/dev/null && return; sleep 0.1; done
    echo "the server did not start:" >&2; cat "$work/server.log" >&2; exit 1
}
skiff() { XDG_CONFIG_HOME="$work/config" "$BIN" "$@" --server "http://127.0.0.1:$API"; }
