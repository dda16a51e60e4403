# supafleet: stage one project's secrets (.env and kong.yml) from a JSON payload
# on stdin: {"env": "...", "kong": "..."}. They go to secrets/staged/; the deploy
# puts them live together with the images, and puts the previous ones back if
# the new release fails. Root-only files; nothing is printed.
#   PROJECT   the project

ROOT="${SUPAFLEET_ROOT:-/opt/supafleet}"
DIR="$ROOT/projects/$PROJECT"

need jq

payload=$(cat)
[ -n "$payload" ] || die "empty payload on stdin"
umask 077
install -d -m 0700 "$DIR/secrets" "$DIR/secrets/staged"
jq -ej '.env' <<<"$payload" > "$DIR/secrets/staged/.env.new" || die "payload has no env"
jq -ej '.kong' <<<"$payload" > "$DIR/secrets/staged/kong.yml.new" || die "payload has no kong"
mv "$DIR/secrets/staged/.env.new" "$DIR/secrets/staged/.env"
mv "$DIR/secrets/staged/kong.yml.new" "$DIR/secrets/staged/kong.yml"
echo "project-config($PROJECT): secrets staged for the next deploy"
