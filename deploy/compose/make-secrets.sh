#!/bin/sh
# Writes the three secret files compose.yaml reads (once; never overwrites).
set -eu
cd "$(dirname "$0")"
mkdir -p secrets
chmod 700 secrets
umask 077
[ -f secrets/vks_secret_key ] || openssl rand -base64 48 | tr -d '\n' > secrets/vks_secret_key
if [ ! -f secrets/postgres_password ]; then
    openssl rand -hex 24 | tr -d '\n' > secrets/postgres_password
fi
[ -f secrets/vks_database_url ] ||
    printf 'postgresql://vks:%s@db:5432/vks' "$(cat secrets/postgres_password)" > secrets/vks_database_url
echo "secrets in $(pwd)/secrets"
