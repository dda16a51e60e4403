# supafleet: the probe's backup check (src/probe/checks/backup.ts): a fresh
# backup of one project, then the drill restoring it into a scratch database
# (docs/backups.md). The drill's last line is the verdict.
#   PROJECT      the project
#   SCRATCH_DB   the drill's scratch database

LIB="${SUPAFLEET_LIB:-/usr/local/lib/supafleet}"
config="/etc/supafleet/backup/$PROJECT.env"
RESTIC_CACHE_DIR=/var/cache/supafleet/restic "$LIB/backup.sh" "$config" run
"$LIB/drill.sh" "$config" "$SCRATCH_DB"
