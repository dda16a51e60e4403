# supafleet: remove one project that has left the stack file, in this order:
#   1. a final backup (roles, database, files), tagged "final", read back whole;
#   2. the project's services stopped;
#   3. only then its containers and volumes removed.
# Its backup repository and credential are not touched here (they are protected
# resources, and `backups.retired` keeps them). If the final backup fails, nothing
# is stopped or removed and the script fails, so `pulumi up` fails visibly.
#   PROJECT   the project

ROOT="${SUPAFLEET_ROOT:-/opt/supafleet}"
LIB="${SUPAFLEET_LIB:-/usr/local/lib/supafleet}"
BACKUP_CONFIG="${SUPAFLEET_BACKUP_CONFIG:-/etc/supafleet/backup/$PROJECT.env}"
DIR="$ROOT/projects/$PROJECT"

if [ ! -f "$DIR/releases/current/compose.yaml" ]; then
  say "nothing deployed; nothing to remove"
  exit 0
fi
need docker
[ -f "$BACKUP_CONFIG" ] || die "no backup settings at $BACKUP_CONFIG: no final backup can be taken, so nothing is removed"

final=$(bash "$LIB/backup.sh" "$BACKUP_CONFIG" snapshot final --files) || die "the final backup failed; the project keeps running and nothing is removed"
bash "$LIB/backup.sh" "$BACKUP_CONFIG" verify "$final" || die "the final backup ${final:0:8} does not read back whole; the project keeps running and nothing is removed"

compose() { project_compose "$DIR/releases/current" "$DIR/secrets/.env" "$@"; }
compose stop || die "cannot stop the project's services; nothing is removed"
compose down --volumes --remove-orphans || die "cannot remove the project's containers and volumes"
rm -rf "$DIR"
echo "project-remove($PROJECT): removed after final backup $final; its repository and credential are kept"
