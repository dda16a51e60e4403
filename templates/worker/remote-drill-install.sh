# supafleet: install the monthly drill of another stack's backups on this worker.
# stdin, one JSON object: { stack, jobs: { "<stack>-<job>": settings }, unit, timer }.
# Each job gets its settings (root-only; they hold its read-only credential) and
# a timer; jobs the other stack no longer has lose both.

need jq systemctl
payload=$(cat)
[ -n "$payload" ] || die "empty payload on stdin"
stack=$(jq -er '.stack' <<<"$payload") || die "payload names no stack"
[[ "$stack" =~ ^[a-z][a-z0-9-]*$ ]] || die "bad stack name '$stack'"
CONF="${SUPAFLEET_DRILL_CONF:-/etc/supafleet/drill}"

umask 077
install -d -m 0700 "$CONF"
jq -j '.unit' <<<"$payload" > /etc/systemd/system/supafleet-remote-drill@.service
jq -j '.timer' <<<"$payload" > /etc/systemd/system/supafleet-remote-drill@.timer
systemctl daemon-reload

wanted=()
while IFS= read -r name; do
  [[ "$name" =~ ^[a-z][a-z0-9-]*$ ]] || die "bad job name '$name'"
  jq -j --arg n "$name" '.jobs[$n]' <<<"$payload" > "$CONF/$name.env.new"
  mv "$CONF/$name.env.new" "$CONF/$name.env"
  systemctl enable --now "supafleet-remote-drill@$name.timer" > /dev/null
  wanted+=("$name")
done < <(jq -r '.jobs | keys[]' <<<"$payload")

for f in "$CONF/$stack"-*.env; do
  [ -e "$f" ] || continue
  name=$(basename "$f" .env)
  if [[ " ${wanted[*]} " != *" $name "* ]]; then
    systemctl disable --now "supafleet-remote-drill@$name.timer" > /dev/null 2>&1 || true
    rm -f "$f"
    echo "remote-drill-install: $name is gone from $stack; its drill is removed"
  fi
done
echo "remote-drill-install: ${#wanted[@]} drills of $stack installed"
