# supafleet: set up backups for a job: write its settings (root-only, from stdin),
# initialise its restic repository if it has none, enable its timers.
#   PROJECT   the job: a project, or master
#   DRILL     1 when the job has a database, which its monthly drill restores; else 0

CONF_DIR="${SUPAFLEET_BACKUP_CONF:-/etc/supafleet/backup}"
need restic jq
[ -x /usr/local/lib/supafleet/backup.sh ] || die "backup tools are not installed"

umask 077
install -d -m 0700 "$CONF_DIR"
cat > "$CONF_DIR/$PROJECT.env.new"
[ -s "$CONF_DIR/$PROJECT.env.new" ] || die "empty settings on stdin"
mv "$CONF_DIR/$PROJECT.env.new" "$CONF_DIR/$PROJECT.env"

# Initialise once: an existing repository is never touched.
(
  # The backup tools' own library, installed on the node (templates/worker/backup-lib.sh, checked on its own).
  # shellcheck source=/dev/null
  . /usr/local/lib/supafleet/backup-lib.sh
  load_config "$CONF_DIR/$PROJECT.env"
  sftp_options
  if r cat config > /dev/null 2>&1; then
    echo "backup-enable($PROJECT): repository exists"
  elif [ -n "${RESTIC_PREVIOUS_PASSWORD:-}" ] && RESTIC_PASSWORD="$RESTIC_PREVIOUS_PASSWORD" r cat config > /dev/null 2>&1; then
    # A rotated password (rotate.restic): the repository takes the new key and drops the old.
    bash /usr/local/lib/supafleet/backup.sh "$CONF_DIR/$PROJECT.env" rekey || die "rotating the restic password failed"
  else
    r init > /dev/null || die "restic init failed for $RESTIC_REPOSITORY"
    echo "backup-enable($PROJECT): repository initialised"
  fi
  # The reader's own key: the read-only credential opens the repository without the job's password.
  if [ -n "${READER_KEY:-}" ] && ! RESTIC_PASSWORD="$READER_KEY" r cat config > /dev/null 2>&1; then
    r key add --new-password-file <(printf '%s' "$READER_KEY") > /dev/null || die "adding the reader's key failed"
    echo "backup-enable($PROJECT): reader key added"
  fi
  # The second copy's repository, with the same chunking, so that copies deduplicate.
  if [ -n "${COPY_REPOSITORY:-}" ] && ! RESTIC_PASSWORD="$COPY_PASSWORD" restic -r "$COPY_REPOSITORY" cat config > /dev/null 2>&1; then
    RESTIC_PASSWORD="$COPY_PASSWORD" restic -r "$COPY_REPOSITORY" "${RESTIC_OPTS[@]}" init --copy-chunker-params \
      --from-repo "$RESTIC_REPOSITORY" --from-password-file <(printf '%s' "$RESTIC_PASSWORD") > /dev/null || die "restic init failed for the second copy $COPY_REPOSITORY"
    echo "backup-enable($PROJECT): second copy initialised"
  fi
)
timers=("supafleet-backup@$PROJECT.timer")
[ "$DRILL" = 0 ] || timers+=("supafleet-drill@$PROJECT.timer")
# The WAL archive ships every minute while the settings name a spool; without one its timer goes.
if grep -q '^WAL_SPOOL=' "$CONF_DIR/$PROJECT.env"; then
  timers+=("supafleet-wal@$PROJECT.timer")
else
  systemctl disable --now "supafleet-wal@$PROJECT.timer" > /dev/null 2>&1 || true
fi
systemctl enable --now "${timers[@]}" > /dev/null
echo "backup-enable($PROJECT): timers enabled"
