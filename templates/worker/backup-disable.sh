#!/usr/bin/env bash
# supafleet: stop scheduling backups of {{name}}. Its repository and snapshots
# stay on the Storage Box; its settings file is kept for a later restore.
set -euo pipefail
systemctl disable --now "supafleet-backup@{{name}}.timer" "supafleet-drill@{{name}}.timer" > /dev/null 2>&1 || true
echo "backup-disable({{name}}): timers disabled; repository kept"
