#!/usr/bin/env bash
# A self-signed certificate for trying the nginx front end (deploy/nginx/vllm-chat.conf) on a
# development machine: browsers warn about it; use a real one (Let's Encrypt, your CA) in
# production, under the same two names.
#   scripts/dev_cert.sh [DIR] [HOSTNAME]   (default: deploy/certs, localhost)
set -euo pipefail
dir="${1:-$(dirname "$0")/../deploy/certs}"
name="${2:-localhost}"
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey rsa:2048 -sha256 -days 30 -nodes \
  -keyout "$dir/privkey.pem" -out "$dir/fullchain.pem" \
  -subj "/CN=$name" -addext "subjectAltName=DNS:$name,DNS:localhost,IP:127.0.0.1" 2>/dev/null
chmod 644 "$dir/fullchain.pem"
echo "wrote $dir/fullchain.pem and $dir/privkey.pem (self-signed for $name, 30 days)"
