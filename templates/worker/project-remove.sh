#!/usr/bin/env bash
# supafleet: stop one project's services when it leaves the stack file. Its
# volumes (the database, storage objects) stay until an operator removes them:
#   docker volume ls --filter name={{project}}-
set -euo pipefail

PROJECT="{{project}}"
ROOT="${SUPAFLEET_ROOT:-/opt/supafleet}"
DIR="$ROOT/projects/$PROJECT"

if [ -f "$DIR/releases/current/compose.yaml" ]; then
  command -v docker >/dev/null || { echo "project-remove($PROJECT): missing docker" >&2; exit 1; }
  docker compose --project-name "$PROJECT" --project-directory "$DIR/releases/current" \
    -f "$DIR/releases/current/compose.yaml" --env-file "$DIR/secrets/.env" down --remove-orphans
fi
echo "project-remove($PROJECT): services stopped; volumes kept"
