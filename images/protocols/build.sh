#!/usr/bin/env bash
# Builds the test image `protocols` as an OCI image layout, offline, from Debian's own
# python3.11 and its python3-websockets, python3-grpcio and python3-h2 packages: servers
# for WebSockets, gRPC over h2c and HTTP/1.1 streaming, each listening on $PORT.
#
#   images/protocols/build.sh OUT_DIR [TAG]     # default TAG v1; load with
#   skiff images load OUT_DIR:v1 --tag protocols:v1
#
# The image runs the server named by $APP (ws_echo, grpc_ping or stream; default ws_echo),
# or whatever --command/--args give, e.g. `python3 /app/grpc_ping.py`.
set -euo pipefail
out=${1:?usage: build.sh OUT_DIR [TAG]}
tag=${2:-v1}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3.11
stdlib=/usr/lib/python3.11
dist=/usr/lib/python3/dist-packages
command -v umoci >/dev/null || { echo "umoci is needed (apt-get install umoci)" >&2; exit 1; }
[ -x "$python" ] || { echo "$python is needed (apt-get install python3)" >&2; exit 1; }
for package in websockets grpc h2 hpack hyperframe; do
    [ -d "$dist/$package" ] || { echo "$dist/$package is missing: run make deps" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -d "$out" ] || umoci init --layout "$out"
umoci new --image "$out:$tag"
umoci unpack --rootless --image "$out:$tag" "$work/bundle" >/dev/null
root="$work/bundle/rootfs"
mkdir -p "$root"/{usr/bin,etc,tmp,app,proc,sys,dev,"$dist"}
chmod 1777 "$root/tmp"

# The interpreter and the standard library, without what no server here imports: tests,
# the IDE, Tk, pip's bootstrap, 2to3, distutils and the static library for embedding.
cp "$python" "$root/usr/bin/python3.11"
ln -s python3.11 "$root/usr/bin/python3"
tar -C / -cf - \
    --exclude="${stdlib#/}/test" --exclude="${stdlib#/}/idlelib" --exclude="${stdlib#/}/tkinter" \
    --exclude="${stdlib#/}/turtledemo" --exclude="${stdlib#/}/ensurepip" --exclude="${stdlib#/}/lib2to3" \
    --exclude="${stdlib#/}/distutils" --exclude="${stdlib#/}/pydoc_data" --exclude="${stdlib#/}/unittest" \
    --exclude="${stdlib#/}/config-3.11-*" --exclude="${stdlib#/}/site-packages" \
    --exclude="${stdlib#/}/lib-dynload/_test*" --exclude="${stdlib#/}/lib-dynload/xx*" \
    --exclude="${stdlib#/}/lib-dynload/_xx*" --exclude="${stdlib#/}/lib-dynload/_ctypes_test*" \
    --exclude="${stdlib#/}/lib-dynload/_curses*" --exclude="${stdlib#/}/lib-dynload/readline*" \
    --exclude="${stdlib#/}/lib-dynload/_dbm*" --exclude="${stdlib#/}/lib-dynload/nis*" \
    --exclude="${stdlib#/}/lib-dynload/ossaudiodev*" --exclude="${stdlib#/}/lib-dynload/_sqlite3*" \
    "${stdlib#/}" | tar -C "$root" -xf -
# Debian's packages, where Debian's python3 looks for them.
tar -C / -cf - "${dist#/}"/{websockets,grpc,h2,hpack,hyperframe} | tar -C "$root" -xf -

# Every shared library the interpreter and its extension modules link, as ldd resolves them
# (ldd lists the whole closure, so each object is asked once), with the loader itself.
find "$root" -name '*.so' -type f >"$work/objects"
echo "$python" >>"$work/objects"
while read -r object; do
    ldd "$object" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'
done <"$work/objects" | sort -u >"$work/libraries"
while read -r library; do
    mkdir -p "$root$(dirname "$library")"
    cp -L "$library" "$root$library"
done <"$work/libraries"
# Debian is merged-/usr: /lib is /usr/lib, and the loader's path goes through it.
for dir in lib lib64; do
    if [ -d "$root/$dir" ] && [ ! -L "$root/$dir" ]; then
        mkdir -p "$root/usr/$dir"
        cp -a "$root/$dir/." "$root/usr/$dir/"
        rm -rf "${root:?}/$dir"
    fi
    ln -s "usr/$dir" "$root/$dir"
done

cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
for server in "$here"/app/*.py; do
    install -m 0644 "$server" "$root/app/$(basename "$server")"
done
umoci repack --image "$out:$tag" "$work/bundle" >/dev/null
# python3 is PID 1 and runs the chosen server in its own process; each server handles
# SIGTERM and stops cleanly (a PID 1 without a handler ignores it, and every stop would wait
# for the SIGKILL deadline). Config after repack: repack rewrites the config and would drop it.
umoci config --image "$out:$tag" \
    --config.user 65534:65534 \
    --config.workingdir /app \
    --config.env PATH=/usr/bin \
    --config.env LANG=C.UTF-8 \
    --config.env PYTHONDONTWRITEBYTECODE=1 \
    --config.env PYTHONUNBUFFERED=1 \
    --config.env APP=ws_echo \
    --config.entrypoint /usr/bin/python3 \
    --config.cmd /app/serve.py \
    --config.exposedports 8080/tcp
umoci gc --layout "$out"
echo "built $out:$tag"
