# supafleet: take the operator console off the master (console.enabled turned off).
# Its audit log stays, under the master's backup, for whoever asks what was done.

need docker
DIR="${CONSOLE_DIR:-/opt/supafleet/master/console}"
if [ -f "$DIR/compose.yaml" ]; then
  docker compose -p supafleet-console -f "$DIR/compose.yaml" down --remove-orphans >/dev/null || die "cannot stop the console"
fi
rm -rf "$DIR/app" "$DIR/compose.yaml" "$DIR/data/keys.json" "$DIR/data/fleet.json"
echo "console-remove: stopped; the audit log stays in $DIR/data/state"
