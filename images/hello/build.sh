#!/usr/bin/env bash
# Builds the sample image `hello` as an OCI image layout, offline, from Debian's
# busybox-static: an HTTP server on $PORT with a static page and CGI endpoints.
#
#   images/hello/build.sh OUT_DIR [TAG]     # default TAG v1; load with
#   skiff images load OUT_DIR:v1 --tag hello:v1
set -euo pipefail
out=${1:?usage: build.sh OUT_DIR [TAG]}
tag=${2:-v1}
here=$(cd "$(dirname "$0")" && pwd)
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q "statically linked" || busybox=/bin/busybox
[ -x "$busybox" ] || { echo "busybox-static is needed (apt-get install busybox-static)" >&2; exit 1; }
command -v umoci >/dev/null || { echo "umoci is needed (apt-get install umoci)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -d "$out" ] || umoci init --layout "$out"
umoci new --image "$out:$tag"
umoci unpack --rootless --image "$out:$tag" "$work/bundle" >/dev/null
root="$work/bundle/rootfs"
mkdir -p "$root"/{bin,etc,tmp,www/cgi-bin,proc,sys,dev}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in sh httpd cat env ls sleep echo id hostname wget nc ps kill uname mkdir rm grep test; do
    ln -sf busybox "$root/bin/$applet"
done
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
cp "$here/www/index.html" "$root/www/index.html"
for script in "$here"/www/cgi-bin/*; do
    install -m 0755 "$script" "$root/www/cgi-bin/$(basename "$script")"
done
umoci repack --image "$out:$tag" "$work/bundle" >/dev/null
# The shell stays PID 1 and forwards SIGTERM: a PID 1 without a handler ignores it, and
# every stop would then wait for the SIGKILL deadline.
start='echo "hello: serving /www on port ${PORT:-8080}"; httpd -f -v -p "${PORT:-8080}" -h /www & pid=$!; trap "kill -TERM \$pid; wait \$pid; exit 0" TERM; wait $pid'
# Config after repack: repack rewrites the config and would drop it.
umoci config --image "$out:$tag" \
    --config.user 65534:65534 \
    --config.workingdir /www \
    --config.env PATH=/bin \
    --config.env GREETING=hello \
    --config.entrypoint /bin/sh \
    --config.cmd -c --config.cmd "$start" \
    --config.exposedports 8080/tcp
umoci gc --layout "$out"
echo "built $out:$tag"
