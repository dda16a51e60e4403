# supafleet: what every script shares. Sourced, never run.
# Scripts the program sends as commands carry it inline (src/render/script.ts puts
# it after their settings, before their body). The tools installed on servers
# (backup.sh, restore.sh, drill.sh, health-agent.sh, the WireGuard switches)
# source it from beside them: every payload that installs one of them installs
# this file too. Messages name $SCRIPT, and $PROJECT when it is set.
# Each part below is one function with its comment, parts apart by a blank line
# (none inside one): a rendered script carries only the parts it calls.

# die MESSAGE…: the message on stderr, then exit 1.
die() { echo "${SCRIPT:-supafleet}${PROJECT:+($PROJECT)}: $*" >&2; exit 1; }

# say MESSAGE…: a progress message, on stderr (stdout is for what a script reports).
say() { echo "${SCRIPT:-supafleet}${PROJECT:+($PROJECT)}: $*" >&2; }

# need COMMAND…: dies naming the first command that is not installed.
need() {
  local bin
  for bin in "$@"; do command -v "$bin" >/dev/null || die "missing $bin"; done
}

# project_compose [--within SECONDS] RELEASE ENV_FILE ARGS…: Docker Compose on one
# release of $PROJECT (a folder holding its compose.yaml) with that env file. With
# --within, the command is killed if it runs longer.
project_compose() {
  local bounded=()
  if [ "$1" = --within ]; then bounded=(timeout --kill-after=30 "$2"); shift 2; fi
  local release="$1" env="$2"; shift 2
  "${bounded[@]}" docker compose --project-name "$PROJECT" --project-directory "$release" \
    -f "$release/compose.yaml" --env-file "$env" "$@"
}

# studio_compose [--within SECONDS] DIR ENV_FILE ARGS…: project_compose on $PROJECT's Studio on the
# master, whose Compose project is <project>-studio.
studio_compose() { PROJECT="$PROJECT-studio" project_compose "$@"; }
