# supafleet: write one project's Auth settings (GoTrue's env file, on stdin)
# into its auth.d folder, which its auth container reads with --config-dir and
# watches: GoTrue loads the new file about 10 s after it lands, without a
# restart (docs/configuration.md). The file holds the project's OAuth and SMS
# secrets, so it is readable only by GoTrue's own user in the image; it is
# replaced whole by a rename, so GoTrue never reads half of one. Nothing is printed of it.
#   PROJECT    the project
#   AUTH_FILE  the file's name in auth.d (GoTrue reads *.env there)
#   AUTH_UID   the user GoTrue runs as in its image

ROOT="${SUPAFLEET_ROOT:-/opt/supafleet}"
DIR="$ROOT/projects/$PROJECT/auth.d"

case "$AUTH_FILE" in
  *.env) ;;
  *) die "AUTH_FILE '$AUTH_FILE' must end in .env, or GoTrue would not read it" ;;
esac
case "$AUTH_UID" in
  ''|*[!0-9]*) die "AUTH_UID '$AUTH_UID' must be a numeric user id" ;;
esac

umask 077
install -d -m 0700 "$DIR"
tmp="$DIR/.$AUTH_FILE.new"
cat > "$tmp"
[ -s "$tmp" ] || { rm -f "$tmp"; die "empty settings on stdin"; }
grep -q '^GOTRUE_SITE_URL=' "$tmp" || { rm -f "$tmp"; die "the settings on stdin have no GOTRUE_SITE_URL"; }
chown "$AUTH_UID:$AUTH_UID" "$DIR" "$tmp"
chmod 0600 "$tmp"
mv -f "$tmp" "$DIR/$AUTH_FILE"
echo "auth-config($PROJECT): $(grep -c '^GOTRUE_' "$DIR/$AUTH_FILE") settings written; GoTrue reloads them within about 10 s"
