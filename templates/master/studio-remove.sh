# supafleet: take a project's Studio off the master: the project left the stack file, or its
# Studio moved back to its worker. The socket goes first, so no request wakes it again; then
# the container and the files. Its saved SQL snippets (volume <project>-studio-snippets) stay.
#   PROJECT   the project

DIR="${SUPAFLEET_STUDIO_DIR:-/opt/supafleet/studio}/$PROJECT"
UNIT="supafleet-studio@$PROJECT"
need docker systemctl

systemctl disable --now "$UNIT.socket" 2>/dev/null || say "no socket $UNIT.socket was enabled"
systemctl stop "$UNIT.service" 2>/dev/null || true
if [ -r "$DIR/compose.yaml" ]; then
  studio_compose --within 120 "$DIR" "$DIR/.env" down --remove-orphans || die "cannot remove the Studio's container; its files stay"
fi
rm -rf "$DIR" "/etc/systemd/system/$UNIT.socket.d"
systemctl daemon-reload
echo "studio-remove($PROJECT): removed; its snippets volume is kept"
