#!/usr/bin/env bash
# Packs Debian's nginx (with the shared libraries it links) into an OCI image layout: the
# fast backend for bench/gateway, so the proxy, not the backend, is what gets measured.
#
#   bench/images/nginx/build.sh OUT_DIR [TAG]    # default TAG v1
set -euo pipefail
out=${1:?usage: build.sh OUT_DIR [TAG]}
tag=${2:-v1}
nginx=/usr/sbin/nginx
[ -x "$nginx" ] || { echo "nginx is needed (apt-get install nginx-light)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -d "$out" ] || umoci init --layout "$out"
umoci new --image "$out:$tag"
umoci unpack --rootless --image "$out:$tag" "$work/bundle" >/dev/null
root="$work/bundle/rootfs"
mkdir -p "$root"/{bin,etc/nginx,tmp,proc,sys,dev,var/log/nginx,var/lib/nginx}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in sh sed cat; do ln -sf busybox "$root/bin/$applet"; done
install -D "$nginx" "$root/usr/sbin/nginx"
for lib in $(ldd "$nginx" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
    install -D "$lib" "$root$lib"
done
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
echo "nogroup:x:65534:" > "$root/etc/group"
cat > "$root/etc/nginx/nginx.conf.in" <<'CONF'
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path /tmp/body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    keepalive_requests 1000000;
    server {
        listen @PORT@ reuseport;
        location / { default_type text/plain; return 200 "hello from nginx\n"; }
    }
}
CONF
cat > "$root/bin/start-nginx" <<'START'
#!/bin/sh
sed "s/@PORT@/${PORT:-8080}/" /etc/nginx/nginx.conf.in > /tmp/nginx.conf
exec /usr/sbin/nginx -c /tmp/nginx.conf -g 'daemon off;'
START
chmod 0755 "$root/bin/start-nginx"
umoci repack --image "$out:$tag" "$work/bundle" >/dev/null
umoci config --image "$out:$tag" --config.user 65534:65534 --config.env PATH=/bin:/usr/sbin \
    --config.entrypoint /bin/start-nginx --config.exposedports 8080/tcp
umoci gc --layout "$out"
echo "built $out:$tag"
