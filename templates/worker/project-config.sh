#!/usr/bin/env bash
# supafleet: write one project's secrets (.env and kong.yml) from a JSON payload
# on stdin: {"env": "...", "kong": "..."}. Root-only files; nothing is printed.
set -euo pipefail

PROJECT="{{project}}"
ROOT="${SUPAFLEET_ROOT:-/opt/supafleet}"
DIR="$ROOT/projects/$PROJECT"

die() { echo "project-config($PROJECT): $*" >&2; exit 1; }
command -v jq >/dev/null || die "missing jq"

payload=$(cat)
[ -n "$payload" ] || die "empty payload on stdin"
umask 077
install -d -m 0700 "$DIR/secrets"
jq -er '.env' <<<"$payload" > "$DIR/secrets/.env.new" || die "payload has no env"
jq -er '.kong' <<<"$payload" > "$DIR/secrets/kong.yml.new" || die "payload has no kong"
mv "$DIR/secrets/.env.new" "$DIR/secrets/.env"
mv "$DIR/secrets/kong.yml.new" "$DIR/secrets/kong.yml"
echo "project-config($PROJECT): secrets written"
