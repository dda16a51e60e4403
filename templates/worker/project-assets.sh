# supafleet: write one project's non-secret files (database init SQL, edge
# functions) from a JSON payload on stdin: {"files": {"<relative path>": "<content>"}}.
# The directory is replaced whole, so a removed function disappears too.
#   PROJECT   the project

ROOT="${SUPAFLEET_ROOT:-/opt/supafleet}"
DIR="$ROOT/projects/$PROJECT"

need jq

payload=$(cat)
[ -n "$payload" ] || die "empty payload on stdin"
next="$DIR/assets.next"
rm -rf "$next"
install -d -m 0755 "$next"
while IFS= read -r path; do
  case "$path" in
    ""|/*|*..*) die "refusing file path '$path'" ;;
  esac
  install -d -m 0755 "$next/$(dirname "$path")"
  jq -j --arg p "$path" '.files[$p]' <<<"$payload" > "$next/$path"
done < <(jq -r '.files | keys[]' <<<"$payload")
rm -rf "$DIR/assets.old"
[ -d "$DIR/assets" ] && mv "$DIR/assets" "$DIR/assets.old"
mv "$next" "$DIR/assets"
rm -rf "$DIR/assets.old"
echo "project-assets($PROJECT): $(find "$DIR/assets" -type f | wc -l) files"
