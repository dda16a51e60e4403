# supafleet: make n8n match the model, on the master, as root.
# stdin: the desired state {workflows, credentials, secretsDigest}:
# no secrets in it, only ${secret:NAME} references. The owner account and the
# secret values come from the root-only $N8N_SECRETS:
#   {"owner": {"email", "firstName", "lastName", "password"}, "values": {"NAME": "value"}}
# Everything is keyed by the stable ids in the desired state, so a second run
# changes nothing, and a workflow edited in n8n's editor is put back.
#
# What n8n has is read through its REST API, as the owner, as the editor reads
# it: each CLI start costs seconds of CPU, so a run that changes nothing starts
# none. The CLI imports (it keeps our ids) and writes to the database directly,
# behind the running n8n, which keeps what it activated (triggers, webhooks, a
# trigger's connection made with a credential): so when something changed and
# n8n runs any active workflow, it is restarted. Then the n8n that serves them
# activates the imported workflows (one it cannot activate is an error here, not
# a log line). An n8n with no active workflow (a fresh one) holds nothing old:
# activating is all it needs. Custom credential types (custom/) are
# n8n-install.sh's to put in place; this script only uses them.

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

# A session as the owner. Its cookie stays in this shell and in curl's config
# on its stdin, never in argv or a file.
cookie=$(sj -c '.owner | {emailOrLdapLoginId: .email, password}' \
  | curl -fsS -o /dev/null -D - --max-time 20 -H 'Content-Type: application/json' --data-binary @- "$URL/rest/login" \
  | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: *\(n8n-auth=[^;]*\).*/\1/p') || die "cannot log in to n8n as the owner"
[ -n "$cookie" ] || die "n8n's login set no session cookie"
rest() { # METHOD PATH [BODY]: the response body; fails on an HTTP error, saying n8n's message
  local out body=()
  [ $# -lt 3 ] || body=(--data-binary "$3")
  out=$(printf 'header = "Cookie: %s"\n' "$cookie" | curl -sS -K - --max-time 60 -X "$1" -H 'Content-Type: application/json' \
    "${body[@]}" -w '\n%{http_code}' "$URL$2") || return 1
  [ "${out##*$'\n'}" = 200 ] || { echo "${out%$'\n'*}" >&2; return 1; }
  printf '%s' "${out%$'\n'*}"
}

# Workflows: what n8n has now (ours by id, and which are active), against what it should have.
list=$(rest GET /rest/workflows) || die "cannot list n8n's workflows"
running=$(jq '[.data[] | select(.active == true)] | length' <<<"$list")
{
  jq -r --slurpfile d "$work/desired.json" '.data[] | select(.id as $i | [$d[0].workflows[].id] | index($i)) | .id' <<<"$list" \
    | while read -r id; do rest GET "/rest/workflows/$id" || die "cannot read n8n's workflow $id"; echo; done
} | jq -s '[.[].data]' > "$work/current.json" || die "cannot read n8n's workflows"
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

restarted=false
if [ "$changed" = 1 ] && [ "$running" != 0 ]; then
  restarted=true
  since=$(date +%s)
  docker restart "$CONTAINER" >/dev/null
  wait_ready
  wait_active "$since"
fi

# Import left them inactive: the n8n that serves them activates them, each at the version the import made.
if [ "${#imported[@]}" -gt 0 ]; then
  list=$(rest GET /rest/workflows) || die "cannot list n8n's workflows"
  for id in "${imported[@]}"; do
    v=$(jq -er --arg id "$id" '.data[] | select(.id == $id) | .versionId' <<<"$list") || die "n8n does not list workflow $id"
    rest POST "/rest/workflows/$id/activate" "$(jq -cn --arg v "$v" '{versionId: $v}')" >/dev/null || die "n8n cannot activate workflow $id"
  done
fi
unset cookie
# unchanged: the workflows n8n had as desired, and active.
jq -cn --arg owner "$summary_owner" --arg credentials "$summary_credentials" \
  --argjson restarted "$restarted" --slurpfile d "$work/desired.json" \
  '{owner: $owner, credentials: $credentials, imported: $ARGS.positional, restarted: $restarted,
    unchanged: [$d[0].workflows[].id | select(. as $i | $ARGS.positional | index($i) | not)]}' --args "${imported[@]}"
