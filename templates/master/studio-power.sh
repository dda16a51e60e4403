#!/usr/bin/env bash
# supafleet: starts and stops one project's Studio on the master. Its socket unit's service
# (supafleet-studio@<project>.service) runs `wake` before it proxies and `sleep` after it
# has been idle; an operator may run either by hand.
#   studio-power wake <project>    start the Studio and wait until it is healthy, unless it runs;
#                                   refused (exit 1) when max-running Studios already run
#   studio-power sleep <project>   stop it
# Installed as /usr/local/lib/supafleet/studio-power. Tests point it elsewhere with
# SUPAFLEET_STUDIO_DIR, SUPAFLEET_STUDIO_MAX_FILE, SUPAFLEET_STUDIO_LOCK and SUPAFLEET_STUDIO_WAKE_TIMEOUT.
set -euo pipefail
SCRIPT='studio-power'
# die, say, need and studio_compose: the prelude every supafleet script shares (templates/lib/prelude.sh),
# installed beside this script; run from a checkout (as the tests do), it is in ../lib.
prelude_dir=$(dirname "$0")
[ -r "$prelude_dir/prelude.sh" ] || prelude_dir="$prelude_dir/../lib"
# shellcheck source=prelude.sh
. "$prelude_dir/prelude.sh"

STUDIO_DIR="${SUPAFLEET_STUDIO_DIR:-/opt/supafleet/studio}"
MAX_FILE="${SUPAFLEET_STUDIO_MAX_FILE:-/etc/supafleet/studio/max-running}"
LOCK="${SUPAFLEET_STUDIO_LOCK:-/run/supafleet-studio.lock}"
# Bounds the wait for healthy. With the bounds on starting and stopping (30 s each, and timeout's
# 30 s grace on each), a wake ends within the service's TimeoutStartSec, so it reports why it gave up.
WAKE_TIMEOUT="${SUPAFLEET_STUDIO_WAKE_TIMEOUT:-90}"
# The label every Studio's compose file sets, with the project as its value.
LABEL='supafleet.studio'

usage() { echo "usage: $SCRIPT wake|sleep <project>" >&2; exit 2; }
[ $# -eq 2 ] || usage
action="$1"
PROJECT="$2"
[[ "$PROJECT" =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "not a project name: $PROJECT"
dir="$STUDIO_DIR/$PROJECT"
[ -r "$dir/compose.yaml" ] || die "no Studio is installed: cannot read $dir/compose.yaml"
need docker timeout flock

# The running Studios, one project a line: containers named *-studio that carry the label, of projects
# installed under $STUDIO_DIR (on the master, every Studio; a Studio of another tree is not ours to count).
running_studios() {
  local name project
  docker ps --filter "label=$LABEL" --filter status=running --format "{{.Names}} {{.Label \"$LABEL\"}}" |
    while read -r name project; do
      if [[ "$name" == *-studio && -n "$project" && -r "$STUDIO_DIR/$project/compose.yaml" ]]; then echo "$project"; fi
    done | sort
}

wake() {
  local max running
  [ -r "$MAX_FILE" ] || die "cannot read the limit of running Studios, $MAX_FILE"
  max=$(tr -d '[:space:]' < "$MAX_FILE")
  [[ "$max" =~ ^[1-9][0-9]*$ ]] || die "$MAX_FILE must hold a whole number above 0, not '$max'"
  # Counting and starting under one lock: two wakes at once cannot both take the last place.
  exec 9>"$LOCK"
  flock 9
  running=$(running_studios) || die "cannot list the running Studios (is Docker up?)"
  if ! grep -qxF "$PROJECT" <<< "$running"; then
    local count
    count=$(grep -c . <<< "$running" || true)
    if [ "$count" -ge "$max" ]; then
      die "refused: the limit of $max running Studios ($MAX_FILE) is reached by $(paste -sd, <<< "$running" | sed 's/,/, /g')"
    fi
    say "starting (${count} of at most $max running)"
    studio_compose --within 30 "$dir" "$dir/.env" up -d || die "cannot start the Studio"
  fi
  # It counts as running from here: the wait for healthy does not hold up another project's wake,
  # and a Studio that already runs is not recreated under its user.
  flock -u 9
  if ! studio_compose --within "$WAKE_TIMEOUT" "$dir" "$dir/.env" up -d --no-recreate --wait; then
    # One that never became healthy is stopped, so it does not hold a place.
    studio_compose --within 30 "$dir" "$dir/.env" stop >&2 || true
    die "the Studio did not become healthy within ${WAKE_TIMEOUT}s; stopped it"
  fi
  say "awake"
}

case "$action" in
  wake) wake ;;
  sleep)
    # Under the lock a refresh takes too, so a refresh never restarts a Studio this is stopping.
    exec 9>"$LOCK"
    flock 9
    studio_compose --within 30 "$dir" "$dir/.env" stop || die "cannot stop the Studio"
    say "asleep"
    ;;
  *) usage ;;
esac
