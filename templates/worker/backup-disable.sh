# supafleet: stop scheduling a job's backups. Its repository and snapshots stay on
# the Storage Box; its settings file is kept for a later restore.
#   PROJECT   the job: a project, or master

systemctl disable --now "supafleet-backup@$PROJECT.timer" "supafleet-drill@$PROJECT.timer" "supafleet-wal@$PROJECT.timer" > /dev/null 2>&1 || true
echo "backup-disable($PROJECT): timers disabled; repository kept"
