# supafleet: write stdin to a root-only file, atomically: the secrets the master's
# own scripts read (Uptime Kuma's, n8n's).
#   FILE   the file's absolute path

umask 077
install -d -m 0700 "$(dirname "$FILE")"
cat > "$FILE.new"
mv "$FILE.new" "$FILE"
