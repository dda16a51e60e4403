# supafleet: after a project's Studio files on the master change (a new release, a rotated
# key), recreate its container if it is awake, so the new settings apply now; a sleeping
# Studio reads them when it next wakes. Installs nothing itself (install-files did).
# A socket still listening where it used to (its slot changed) is restarted on the new address.
#   PROJECT   the project
#   LISTEN    the address its socket must listen on, 127.0.0.1:<port>

DIR="${SUPAFLEET_STUDIO_DIR:-/opt/supafleet/studio}/$PROJECT"
[ -r "$DIR/compose.yaml" ] || die "no Studio is installed: cannot read $DIR/compose.yaml"
need docker systemctl

socket="supafleet-studio@$PROJECT.socket"
if ! systemctl show -P Listen "$socket" | grep -qF "$LISTEN "; then
  systemctl restart "$socket" || die "cannot restart $socket on $LISTEN"
  say "$socket now listens on $LISTEN"
fi

# studio-power's lock: an idle stop cannot fall between "it is awake" and the restart, which would
# start a Studio outside its waker, holding a place of studios.maxRunning with nothing to stop it.
need flock
exec 9>"${SUPAFLEET_STUDIO_LOCK:-/run/supafleet-studio.lock}"
flock 9
if [ -n "$(docker ps -q --filter "label=supafleet.studio=$PROJECT" --filter status=running)" ]; then
  studio_compose --within 180 "$DIR" "$DIR/.env" up -d --wait --wait-timeout 120 || die "the awake Studio did not come back healthy with its new settings"
  echo "studio-refresh($PROJECT): recreated with the new settings"
else
  echo "studio-refresh($PROJECT): asleep; the new settings apply when it wakes"
fi
