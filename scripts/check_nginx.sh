#!/usr/bin/env bash
# `nginx -t` on the shipped deploy/nginx/vllm-chat.conf with Debian's nginx, as the nginx image
# loads it, with the upstream pointed at loopback (the compose name `app` resolves only inside
# compose) and a throwaway self-signed certificate.
#   scripts/check_nginx.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
nginx="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$nginx" ] || { echo "error: nginx is not installed (apt-get install nginx)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$root/scripts/dev_cert.sh" "$work/certs" >/dev/null
sed -e 's/server app:8080;/server 127.0.0.1:8080;/' \
    -e "s#/etc/nginx/certs/#$work/certs/#" \
    "$root/deploy/nginx/vllm-chat.conf" > "$work/vllm-chat.conf"
cat > "$work/nginx.conf" <<CONF
pid $work/nginx.pid;
error_log stderr;
events {}
http {
    access_log off;
    include $work/vllm-chat.conf;
}
CONF
"$nginx" -t -q -p "$work" -c "$work/nginx.conf"
echo "nginx -t: deploy/nginx/vllm-chat.conf is valid ($("$nginx" -v 2>&1))"
