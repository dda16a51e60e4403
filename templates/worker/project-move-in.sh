# supafleet: the second step of moving a project, run on its new worker once
# the project is deployed there and its backups are set up: the whole project
# (roles, database, files, the Vault key) restored from the snapshot the old
# worker took (its id on stdin), and verified by restore.sh.
#   PROJECT   the project

LIB="${SUPAFLEET_LIB:-/usr/local/lib/supafleet}"
BACKUP_CONFIG="${SUPAFLEET_BACKUP_CONFIG:-/etc/supafleet/backup/$PROJECT.env}"

id=$(tail -n 1)
[[ "$id" =~ ^[0-9a-f]{64}$ ]] || die "expected the move's snapshot id on stdin, got '$id'"
[ -f "$BACKUP_CONFIG" ] || die "no backup settings at $BACKUP_CONFIG: the backup step must run on this worker first"
bash "$LIB/restore.sh" "$BACKUP_CONFIG" --whole --snapshot "$id" || die "the restore of snapshot ${id:0:8} failed; the old worker still holds the project, stopped, with its volumes"
echo "project-move-in($PROJECT): restored from snapshot ${id:0:8}"
