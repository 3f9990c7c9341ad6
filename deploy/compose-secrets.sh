#!/bin/sh
# Creates the compose deployment's secrets (secrets/, git-ignored) that do not exist yet: a random
# password for the database's owner (migrations) and one for the app's role. Run once before
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
