#!/usr/bin/env bash
# supafleet: the worker's health agent, run every minute by a systemd timer
# (not a daemon). It checks every deployed project's containers (state, Docker
# health, restarts since the last run), disk and memory headroom, and the age
# of the WireGuard handshake with the hub, then pushes up or down with a short
# reason to its Uptime Kuma push monitor. Silence means the worker is dead.
# With REPORT_URL set (the operator console's /api/reports), it also POSTs the whole
# report as JSON, each project's problems apart; a failed POST is said, never fatal.
#   health-agent.sh [settings file]     default /etc/supafleet/health-agent.env
set -euo pipefail
SCRIPT='health-agent'
# die, say and need: the prelude every supafleet script shares (templates/lib/prelude.sh),
# installed beside this script; run from a checkout (as the tests do), it is in ../lib.
prelude_dir=$(dirname "$0")
[ -r "$prelude_dir/prelude.sh" ] || prelude_dir="$prelude_dir/../lib"
# shellcheck source=prelude.sh
. "$prelude_dir/prelude.sh"

CONF="${1:-/etc/supafleet/health-agent.env}"
[ -r "$CONF" ] || die "cannot read $CONF"
set -a
# shellcheck disable=SC1090 # the agent's settings file, given or the default
. "$CONF"
set +a
: "${PUSH_URL:?$CONF sets no PUSH_URL}"
PROJECTS_DIR="${PROJECTS_DIR:-/opt/supafleet/projects}"
STATE_DIR="${STATE_DIR:-/var/lib/supafleet/health-agent}"
DISK_PATH="${DISK_PATH:-/var/lib/docker}"
DISK_MAX_USED_PCT="${DISK_MAX_USED_PCT:-90}"
MEM_MIN_AVAILABLE_PCT="${MEM_MIN_AVAILABLE_PCT:-10}"
MEMINFO="${MEMINFO:-/proc/meminfo}"
# WireGuard re-handshakes every two minutes while packets flow, and the hub's keepalive keeps them flowing.
HANDSHAKE_MAX_AGE="${HANDSHAKE_MAX_AGE:-300}"
REPORT_URL="${REPORT_URL:-}"
REPORT_INTERVAL="${REPORT_INTERVAL:-60}"
need docker curl df wg awk
if [ -n "$REPORT_URL" ]; then
  : "${WORKER:?$CONF sets REPORT_URL but no WORKER}"
  need jq
fi
install -d -m 0700 "$STATE_DIR"

problems=()
declare -A project_problems=()
project_problem() { # <project> <message>: one of the worker's problems, and of that project's
  problems+=("$2")
  project_problems[$1]+="$2"$'\n'
}
projects=0 containers=0
restarts_now="$STATE_DIR/restarts.new"
: > "$restarts_now"
for dir in "$PROJECTS_DIR"/*/; do
  [ -e "$dir/releases/current" ] || continue
  project=$(basename "$dir")
  projects=$((projects + 1))
  project_problems[$project]=""
  names=$(docker ps -a --filter "label=com.docker.compose.project=$project" --format '{{.Names}}')
  if [ -z "$names" ]; then
    project_problem "$project" "$project has no containers"
    continue
  fi
  while IFS= read -r c; do
    # A container listed a moment ago can be gone by now (a deploy replaces its containers): not an error.
    info=$(docker container inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.RestartCount}}' "$c" 2>/dev/null) || continue
    read -r state health count <<<"$info"
    containers=$((containers + 1))
    echo "$c $count" >> "$restarts_now"
    before=$(awk -v c="$c" '$1 == c { print $2 }' "$STATE_DIR/restarts" 2>/dev/null || true)
    if [ "$state" != running ]; then
      project_problem "$project" "$c $state"
    elif [ "$health" = unhealthy ]; then
      project_problem "$project" "$c unhealthy"
    fi
    if [ -n "$before" ] && [ "$count" -gt "$before" ]; then
      project_problem "$project" "$c restarted $((count - before))x in the last run"
    fi
  done <<<"$names"
done
mv "$restarts_now" "$STATE_DIR/restarts"

disk=$(df -P "$DISK_PATH" | awk 'NR == 2 { sub("%", "", $5); print $5 }')
[[ "$disk" =~ ^[0-9]+$ ]] || die "cannot read disk use of $DISK_PATH"
[ "$disk" -le "$DISK_MAX_USED_PCT" ] || problems+=("disk ${disk}% used ($DISK_PATH)")

mem=$(awk '$1 == "MemTotal:" { t = $2 } $1 == "MemAvailable:" { a = $2 } END { if (t > 0) printf "%d", a * 100 / t }' "$MEMINFO")
[[ "$mem" =~ ^[0-9]+$ ]] || die "cannot read memory from $MEMINFO"
[ "$mem" -ge "$MEM_MIN_AVAILABLE_PCT" ] || problems+=("memory ${mem}% available")

# No wg0 at all is the worst case, not a reason to die without a word: the push says so if it can get through.
if ! handshakes=$(wg show wg0 latest-handshakes 2>/dev/null); then
  problems+=("WireGuard interface wg0 is down")
  wgage="down"
else
  latest=$(awk '{ print $2 }' <<<"$handshakes" | sort -n | tail -n 1)
  if [ -z "$latest" ] || [ "$latest" = 0 ]; then
    problems+=("no WireGuard handshake with the hub")
    wgage="never"
  else
    age=$(( $(date +%s) - latest ))
    wgage="${age}s"
    [ "$age" -le "$HANDSHAKE_MAX_AGE" ] || problems+=("WireGuard handshake ${age}s old")
  fi
fi

if [ "${#problems[@]}" -gt 0 ]; then
  status=down
  msg=$(IFS=';'; echo "${problems[*]}")
  msg=${msg//;/; }
else
  status=up
  msg="ok: $projects projects, $containers containers; disk ${disk}%, memory ${mem}% free, handshake $wgage"
fi

# The console's report: the worker's state as JSON, each project's problems apart. It goes first, as a
# failed push ends the run. The URL holds no secret: the console knows a worker by its address.
if [ -n "$REPORT_URL" ]; then
  by_project='{}'
  for project in "${!project_problems[@]}"; do
    by_project=$(jq -c --arg p "$project" --arg found "${project_problems[$project]}" \
      '. + {($p): {ok: ($found == ""), problems: ($found | split("\n") | map(select(. != "")))}}' <<<"$by_project")
  done
  jq -n -c --arg worker "$WORKER" --argjson at "$(date +%s)" --argjson interval "$REPORT_INTERVAL" --argjson projects "$by_project" \
    --argjson disk "$disk" --argjson mem "$mem" '{worker: $worker, at: $at, interval: $interval, ok: ($ARGS.positional | length == 0),
      problems: $ARGS.positional, projects: $projects, disk: {usedPct: $disk}, memory: {availablePct: $mem}}' --args "${problems[@]}" |
    curl -fsS -m 10 --retry 2 -o /dev/null -H 'Content-Type: application/json' --data-binary @- "$REPORT_URL" \
    || say "could not send the report to $REPORT_URL"
fi

# The push URL holds the monitor's token: it goes to curl as a config on stdin, never in argv.
printf 'url = "%s"\n' "$PUSH_URL" | curl -fsS -m 10 --retry 2 -o /dev/null -G \
  --data-urlencode "status=$status" --data-urlencode "msg=${msg:0:250}" --data-urlencode "ping=" -K - \
  || die "could not reach Uptime Kuma to report: $status: $msg"
echo "health-agent: $status: $msg"
