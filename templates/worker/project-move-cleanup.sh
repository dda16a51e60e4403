# supafleet: the last step of moving a project, run on the worker it left once
# the new worker holds it, restored and verified: the stopped project's
# containers, volumes, files and backup settings removed. The repository and
# its credential are the project's own and move with it.
#   PROJECT   the project

ROOT="${SUPAFLEET_ROOT:-/opt/supafleet}"
BACKUP_CONFIG="${SUPAFLEET_BACKUP_CONFIG:-/etc/supafleet/backup/$PROJECT.env}"
DIR="$ROOT/projects/$PROJECT"

if [ -f "$DIR/releases/current/compose.yaml" ]; then
  need docker
  project_compose "$DIR/releases/current" "$DIR/secrets/.env" down --volumes --remove-orphans || die "cannot remove the project's containers and volumes"
fi
rm -rf "$DIR"
rm -f "$BACKUP_CONFIG"
echo "project-move-cleanup($PROJECT): removed from this worker"
