# supafleet: the first step of moving a project to another worker, run on the
# worker it leaves: a final backup (roles, database, files) tagged "move", read
# back whole, then the project's services stopped and its backup timers off, so
# nothing is written after the snapshot. Prints the database snapshot's id for
# the restore on the new worker. Volumes stay until the move has completed.
#   PROJECT   the project

ROOT="${SUPAFLEET_ROOT:-/opt/supafleet}"
LIB="${SUPAFLEET_LIB:-/usr/local/lib/supafleet}"
BACKUP_CONFIG="${SUPAFLEET_BACKUP_CONFIG:-/etc/supafleet/backup/$PROJECT.env}"
DIR="$ROOT/projects/$PROJECT"

[ -f "$DIR/releases/current/compose.yaml" ] || die "the project is not deployed on this worker; nothing to move"
[ -f "$BACKUP_CONFIG" ] || die "no backup settings at $BACKUP_CONFIG: the move needs a final backup; nothing was changed"
need docker

id=$(bash "$LIB/backup.sh" "$BACKUP_CONFIG" snapshot move --files) || die "the final backup failed; the project keeps running here"
bash "$LIB/backup.sh" "$BACKUP_CONFIG" verify "$id" || die "the final backup ${id:0:8} does not read back whole; the project keeps running here"
project_compose "$DIR/releases/current" "$DIR/secrets/.env" stop || die "cannot stop the project's services"
if command -v systemctl >/dev/null; then
  systemctl disable --now "supafleet-backup@$PROJECT.timer" "supafleet-drill@$PROJECT.timer" > /dev/null 2>&1 || true
fi
echo "project-move-out($PROJECT): stopped after final backup ${id:0:8}" >&2
echo "$id"
