# supafleet: seed a project, once, from another project's backup.
# stdin, one JSON object: { settings, options, [anonymise] }: restore settings
# that read the source's repository through its read-only credential, the
# options for restore.sh, and the SQL that anonymises a copy from another
# environment. Runs restore.sh --whole, which verifies what it restored.
#   PROJECT   the project seeded

need jq
TOOLS="${SUPAFLEET_TOOLS:-/usr/local/lib/supafleet}"
[ -r "$TOOLS/restore.sh" ] || die "backup tools are not installed"
payload=$(cat)
[ -n "$payload" ] || die "empty payload on stdin"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"
jq -j '.settings' <<<"$payload" > "$work/source.env"
options=()
while IFS= read -r o; do options+=("$o"); done < <(jq -r '.options[]' <<<"$payload")
if jq -e 'has("anonymise")' <<<"$payload" >/dev/null; then
  jq -j '.anonymise' <<<"$payload" > "$work/anonymise.sql"
  options+=(--anonymise "$work/anonymise.sql")
fi
bash "$TOOLS/restore.sh" "$work/source.env" --whole "${options[@]}"
echo "project-seed($PROJECT): seeded"
