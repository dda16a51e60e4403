# supafleet: make n8n match the model, on the master, as root.
# stdin: the desired state {workflows, credentials, secretsDigest}:
# no secrets in it, only ${secret:NAME} references. The owner account and the
# secret values come from the root-only $N8N_SECRETS:
#   {"owner": {"email", "firstName", "lastName", "password"}, "values": {"NAME": "value"}}
# Everything is keyed by the stable ids in the desired state, so a second run
# changes nothing, and a workflow edited in n8n's editor is put back.
#
# The n8n CLI writes to the database directly: a running n8n only picks up
# imported workflows and their activation when it restarts, so it is restarted
# when (and only when) something changed. Custom credential types (custom/)
# are n8n-install.sh's to put in place; this script only uses them.

need docker jq curl sha256sum
SECRETS="${N8N_SECRETS:-/etc/supafleet/automation/secrets.json}"
CONTAINER="${N8N_CONTAINER:-supafleet-n8n}"
DATA="${N8N_DATA:-/opt/supafleet/master/n8n/data}" # n8n's folder on the host, /home/node/.n8n inside
URL="${N8N_URL:-http://127.0.0.1:5678}"        # n8n listens on loopback only
[ -r "$SECRETS" ] || die "cannot read $SECRETS (the automation secrets file)"
[ -d "$DATA" ] || die "$DATA does not exist (n8n's data folder)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/desired.json"
jq -e 'type == "object" and (.workflows | type == "array") and (.credentials | type == "array")' "$work/desired.json" >/dev/null \
  || die "the desired state on stdin must be a JSON object with workflows and credentials arrays"
# The secrets stay in this shell's memory and in pipes: never in argv, never in a file of ours.
secrets=$(cat "$SECRETS")
sj() { printf '%s' "$secrets" | jq "$@"; }
sj -e '(.owner.email | type == "string") and (.owner.password | type == "string") and (.values | type == "object")' >/dev/null \
  || die "$SECRETS must hold owner.email, owner.password and a values object"

# The n8n CLI inside the container, quiet but for errors. Data goes in and out
# through --input=/dev/stdin and --output=/dev/stdout: docker exec's pipes.
n8n() { docker exec -i -e N8N_LOG_LEVEL=error "$CONTAINER" n8n "$@"; }

# Ready is when the REST API answers: /healthz does long before, while migrations still run.
wait_ready() {
  for _ in $(seq 1 180); do
    curl -fsS --max-time 2 "$URL/rest/settings" 2>/dev/null | jq -e '.data.userManagement' >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "n8n did not become ready at $URL within 90 s"
}

changed=0
summary_owner=kept summary_credentials=unchanged
imported=()

wait_ready

# Owner account. n8n 1.123 has no way to create it before it serves (no CLI, no
# environment variable): a fresh n8n offers POST /rest/owner/setup to whoever
# asks first. It listens on loopback only and its public hostname is behind
# Cloudflare Access, so this claims it right after the first start.
if [ ! -e "$DATA/.supafleet-owner" ]; then
  setup=$(curl -fsS --max-time 10 "$URL/rest/settings" | jq -r '.data.userManagement.showSetupOnFirstLoad') || die "cannot read $URL/rest/settings"
  if [ "$setup" = true ]; then
    sj -c '.owner | {email, firstName: (.firstName // "supafleet"), lastName: (.lastName // "operator"), password}' \
      | curl -fsS -o /dev/null --max-time 20 -H 'Content-Type: application/json' --data-binary @- "$URL/rest/owner/setup" \
      || die "n8n refused the owner account (the password needs 8-64 characters, a digit and a capital letter)"
    summary_owner=created
  else
    # Set up already, with no marker: it is ours only if our password logs in.
    sj -c '.owner | {emailOrLdapLoginId: .email, password}' \
      | curl -fsS -o /dev/null --max-time 20 -H 'Content-Type: application/json' --data-binary @- "$URL/rest/login" \
      || die "n8n's owner account was set up by someone else; check who, then run: docker exec $CONTAINER n8n user-management:reset && docker restart $CONTAINER"
    summary_owner=adopted
  fi
  sj -r '.owner.email' > "$DATA/.supafleet-owner"
fi

# Credentials, with the secrets filled in: n8n's import:credentials encrypts a
# plain `data` object with its encryption key. The digest of what was imported
# (a hash of secrets, never the secrets) tells whether anything changed.
# shellcheck disable=SC2016 # a jq program: $v and $ARGS are jq's, not the shell's
fill='def fill($v): walk(if type == "string" then gsub("\\$\\{secret:(?<n>[A-Za-z0-9_]+)\\}"; (if ($v[.n] | type) == "string" then $v[.n] else error("no value for secret \(.n)") end)) else . end);'
creds=$( { printf '%s\n' "$secrets"; cat "$work/desired.json"; } | jq -cs "$fill"' .[0].values as $v | [.[1].credentials[] | {id, name, type, data: (.data | fill($v))}]') \
  || die "cannot fill the credentials' secrets from $SECRETS (see jq's message above)"
digest=$(printf '%s' "$creds" | sha256sum | cut -d' ' -f1)
if [ "$digest" != "$(cat "$DATA/.supafleet-credentials" 2>/dev/null || true)" ]; then
  printf '%s' "$creds" | n8n import:credentials --input=/dev/stdin >/dev/null || die "n8n import:credentials failed"
  echo "$digest" > "$DATA/.supafleet-credentials"
  summary_credentials=imported changed=1
fi
unset creds

# Workflows: what n8n has now, against what it should have. No workflows at all is an error to export:workflow.
# A failed export must not pass for "no workflows": that would re-import everything and restart n8n.
export_current() {
  local tries=0 out
  while :; do
    if out=$(n8n export:workflow --all --output=/dev/stdout 2>"$work/export.err") && jq -e 'type == "array"' <<<"$out" >/dev/null 2>&1; then
      printf '%s' "$out" > "$work/current.json"
      return 0
    fi
    # n8n reports an empty instance as an error, on stdout or stderr depending on its logger.
    if grep -q "No workflows found" "$work/export.err" || grep -q "No workflows found" <<<"${out:-}"; then
      echo '[]' > "$work/current.json"
      return 0
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 3 ] || die "cannot export n8n's workflows: $(tail -n 3 "$work/export.err") $(tail -c 300 <<<"${out:-}")"
    sleep 2
  done
}
export_current
mapfile -t stale < <(jq -rn --slurpfile d "$work/desired.json" --slurpfile c "$work/current.json" '
  def shape: {name, nodes, connections, settings};
  $d[0].workflows[] as $w
  | ([$c[0][] | select(.id == $w.id)] | first) as $have
  | select($have == null or ($have | shape) != ($w | shape) or $have.active != true)
  | $w.id')
if [ "${#stale[@]}" -gt 0 ]; then
  jq -c --args '[.workflows[] | select(.id as $i | $ARGS.positional | index($i))]' "${stale[@]}" < "$work/desired.json" \
    | n8n import:workflow --input=/dev/stdin >/dev/null || die "n8n import:workflow failed"
  # Import leaves every workflow inactive; the id is what makes this the same workflow as before.
  # Each CLI call takes seconds, so when no other workflow is inactive, one call activates them all.
  others=$(jq -n --slurpfile d "$work/desired.json" --slurpfile c "$work/current.json" \
    '[$c[0][] | select(.active != true or .activeVersionId == null) | .id] - [$d[0].workflows[].id] | length')
  if [ "$others" = 0 ]; then
    n8n update:workflow --all --active=true >/dev/null || die "cannot activate the workflows"
  else
    for id in "${stale[@]}"; do
      n8n update:workflow --id="$id" --active=true >/dev/null || die "cannot activate workflow $id"
    done
  fi
  imported=("${stale[@]}") changed=1
fi

# n8n answers its REST API before it has activated the workflows: until then
# their webhooks are 404. It prints "Editor is now accessible via" once they are.
wait_active() {
  local since=$1
  for _ in $(seq 1 180); do
    docker logs --since "$since" "$CONTAINER" 2>&1 | grep -q "Editor is now accessible via" && return 0
    sleep 0.5
  done
  die "n8n did not activate its workflows within 90 s of its restart; see: docker logs $CONTAINER"
}

if [ "$changed" = 1 ]; then
  since=$(date +%s)
  docker restart "$CONTAINER" >/dev/null
  wait_ready
  wait_active "$since"
fi
jq -cn --arg owner "$summary_owner" --arg credentials "$summary_credentials" \
  --argjson restarted "$([ "$changed" = 1 ] && echo true || echo false)" \
  '{owner: $owner, credentials: $credentials, imported: $ARGS.positional, restarted: $restarted}' --args "${imported[@]}"
