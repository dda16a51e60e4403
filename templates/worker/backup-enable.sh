#!/usr/bin/env bash
# supafleet: set up backups for {{name}}: write its settings (root-only, from
# stdin), initialise its restic repository if it has none, enable its timers.
set -euo pipefail

NAME="{{name}}"
CONF_DIR="${SUPAFLEET_BACKUP_CONF:-/etc/supafleet/backup}"
die() { echo "backup-enable($NAME): $*" >&2; exit 1; }
for bin in restic jq; do command -v "$bin" >/dev/null || die "missing $bin"; done
[ -x /usr/local/lib/supafleet/backup.sh ] || die "backup tools are not installed"

umask 077
install -d -m 0700 "$CONF_DIR"
cat > "$CONF_DIR/$NAME.env.new"
[ -s "$CONF_DIR/$NAME.env.new" ] || die "empty settings on stdin"
mv "$CONF_DIR/$NAME.env.new" "$CONF_DIR/$NAME.env"

# Initialise once: an existing repository is never touched.
(
  . /usr/local/lib/supafleet/backup-lib.sh
  SCRIPT=backup-enable
  load_config "$CONF_DIR/$NAME.env"
  sftp_options
  if r cat config > /dev/null 2>&1; then
    echo "backup-enable($NAME): repository exists"
  elif [ -n "${RESTIC_PREVIOUS_PASSWORD:-}" ] && RESTIC_PASSWORD="$RESTIC_PREVIOUS_PASSWORD" r cat config > /dev/null 2>&1; then
    # A rotated password (rotate.restic): the repository takes the new key and drops the old.
    bash /usr/local/lib/supafleet/backup.sh "$CONF_DIR/$NAME.env" rekey || die "rotating the restic password failed"
  else
    r init > /dev/null || die "restic init failed for $RESTIC_REPOSITORY"
    echo "backup-enable($NAME): repository initialised"
  fi
  # The reader's own key: the read-only credential opens the repository without the job's password.
  if [ -n "${READER_KEY:-}" ] && ! RESTIC_PASSWORD="$READER_KEY" r cat config > /dev/null 2>&1; then
    r key add --new-password-file <(printf '%s' "$READER_KEY") > /dev/null || die "adding the reader's key failed"
    echo "backup-enable($NAME): reader key added"
  fi
  # The second copy's repository, with the same chunking, so that copies deduplicate.
  if [ -n "${COPY_REPOSITORY:-}" ] && ! RESTIC_PASSWORD="$COPY_PASSWORD" restic -r "$COPY_REPOSITORY" cat config > /dev/null 2>&1; then
    RESTIC_PASSWORD="$COPY_PASSWORD" restic -r "$COPY_REPOSITORY" "${RESTIC_OPTS[@]}" init --copy-chunker-params \
      --from-repo "$RESTIC_REPOSITORY" --from-password-file <(printf '%s' "$RESTIC_PASSWORD") > /dev/null || die "restic init failed for the second copy $COPY_REPOSITORY"
    echo "backup-enable($NAME): second copy initialised"
  fi
)
systemctl enable --now "supafleet-backup@$NAME.timer" {{drillTimer}} > /dev/null
echo "backup-enable($NAME): timers enabled"
