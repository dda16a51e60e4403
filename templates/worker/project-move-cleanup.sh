#!/usr/bin/env bash
# supafleet: the last step of moving a project, run on the worker it left once
# the new worker holds it, restored and verified: the stopped project's
# containers, volumes, files and backup settings removed. The repository and
# its credential are the project's own and move with it.
set -euo pipefail

PROJECT="{{project}}"
ROOT="${SUPAFLEET_ROOT:-/opt/supafleet}"
BACKUP_CONFIG="${SUPAFLEET_BACKUP_CONFIG:-/etc/supafleet/backup/$PROJECT.env}"
DIR="$ROOT/projects/$PROJECT"

die() { echo "project-move-cleanup($PROJECT): $*" >&2; exit 1; }
if [ -f "$DIR/releases/current/compose.yaml" ]; then
  command -v docker >/dev/null || die "missing docker"
  docker compose --project-name "$PROJECT" --project-directory "$DIR/releases/current" \
    -f "$DIR/releases/current/compose.yaml" --env-file "$DIR/secrets/.env" down --volumes --remove-orphans || die "cannot remove the project's containers and volumes"
fi
rm -rf "$DIR"
rm -f "$BACKUP_CONFIG"
echo "project-move-cleanup($PROJECT): removed from this worker"
