#!/bin/sh
# Creates the compose deployment's secrets (secrets/, git-ignored) that do not exist yet: a random
# password for the database's owner (migrations) and one for the app's role, and (with openssl) a
# self-signed certificate for localhost for the HTTPS edge (docker-compose.tls.yml): put your own
# certificate and key in secrets/tls_certificate and secrets/tls_key instead. Run once before
# `docker compose up`; the files stay, so the database volume and its passwords keep matching.
# They are bind-mounted into the containers, whose users (postgres, node) must be able to read them.
set -eu
cd "$(dirname "$0")/.."
mkdir -p secrets
for name in db_owner_password db_app_password; do
  if [ ! -s "secrets/$name" ]; then
    # 32 hexadecimal characters: no character a URL or a shell would need quoted.
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "secrets/$name"
    chmod 0644 "secrets/$name"
    echo "created secrets/$name"
  fi
done
if [ ! -s secrets/tls_certificate ] && command -v openssl >/dev/null 2>&1; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout secrets/tls_key -out secrets/tls_certificate 2>/dev/null
  # Read by the nginx image's unprivileged user through the bind mount.
  chmod 0644 secrets/tls_key secrets/tls_certificate
  echo "created secrets/tls_certificate and secrets/tls_key (self-signed, for localhost)"
fi
