# supafleet: deploy one project's edge functions (the router `main`, its verify-jwt.json
# and the project's own functions) from a JSON payload on stdin:
#   {"sha256": "<hash of the files>", "base64": {"<path>": "<content, base64>"}}
# The files are written into a new folder beside the live one and checked against the
# hash; then the link the functions container mounts (projects/<p>/functions) moves to
# it in one rename, so a file taken out of the stack's folder is gone and no reader sees
# half a deploy. Only this project's functions container restarts (the runtime reads its
# router and manifest once), and the script waits until it runs again. Before the
# project's first deploy there is no container: that deploy starts it on these files.
#   PROJECT            the project
#   CONTAINER          its functions container
#   FUNCTIONS_SHA256   the files' hash (src/functions/read.ts, treeHash)

ROOT="${SUPAFLEET_ROOT:-/opt/supafleet}"
DIR="$ROOT/projects/$PROJECT"
STORE="$DIR/functions.d"
WAIT="${SUPAFLEET_FUNCTIONS_WAIT:-60}"
# How long the restarted runtime must stay up: one that cannot start exits within it.
SETTLE="${SUPAFLEET_FUNCTIONS_SETTLE:-3}"

need jq base64 sha256sum find sort xargs docker

# The hash src/functions/read.ts computes: one sha256sum line per file, sorted by path.
tree_sha() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1); }
# state: "<running> <restarting> <started at>" of the container, or nothing when there is none.
state() { docker inspect -f '{{.State.Running}} {{.State.Restarting}} {{.State.StartedAt}}' "$CONTAINER" 2>/dev/null || true; }

umask 022
install -d -m 0755 "$STORE"
payload=$(mktemp)
next=$(mktemp -d "$STORE/.next.XXXXXX")
trap 'rm -rf "$payload" "$next"' EXIT
cat > "$payload"
[ -s "$payload" ] || die "empty payload on stdin"
[ "$(jq -r '.sha256' "$payload")" = "$FUNCTIONS_SHA256" ] || die "the payload is not the one of hash $FUNCTIONS_SHA256"

while IFS= read -r -d '' path && IFS= read -r -d '' data; do
  case "$path" in
    ""|/*|*..*|*[!A-Za-z0-9._@+/-]*) die "refusing file path '$path'" ;;
  esac
  install -d -m 0755 "$next/$(dirname "$path")"
  base64 -d > "$next/$path" <<<"$data" || die "cannot decode $path"
done < <(jq -j '.base64 | to_entries[] | "\(.key)\u0000\(.value)\u0000"' "$payload")

written=$(tree_sha "$next")
[ "$written" = "$FUNCTIONS_SHA256" ] || die "the files written hash to $written, not $FUNCTIONS_SHA256; nothing was changed"
chmod 0755 "$next"
target="$STORE/$FUNCTIONS_SHA256"
# The same files deployed before (a re-run): the folder there is kept, it may be the live one.
if [ -d "$target" ] && [ "$(tree_sha "$target")" = "$FUNCTIONS_SHA256" ]; then
  rm -rf "$next"
else
  rm -rf "$target"
  mv "$next" "$target"
fi
ln -sfn "functions.d/$FUNCTIONS_SHA256" "$DIR/.functions.link"
# A folder in the link's place is Docker's, made empty when a deploy ran before any functions did.
if [ -d "$DIR/functions" ] && [ ! -L "$DIR/functions" ]; then rm -rf "$DIR/functions"; fi
mv -Tf "$DIR/.functions.link" "$DIR/functions"

before=$(state)
if [ -z "$before" ]; then
  say "no $CONTAINER yet: the project's deploy starts it on these functions"
elif [[ "$before" == false\ false\ * ]]; then
  say "$CONTAINER is stopped: left so; it runs these functions when it starts"
else
  docker restart "$CONTAINER" > /dev/null || die "cannot restart $CONTAINER"
  deadline=$((SECONDS + WAIT))
  until now=$(state); [[ "$now" == true\ false\ * ]] && [ "${now##* }" != "${before##* }" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { docker logs --tail 30 "$CONTAINER" >&2 || true; die "$CONTAINER is not running ${WAIT}s after its restart"; }
    sleep 1
  done
  sleep "$SETTLE"
  [ "$(state)" = "$now" ] || { docker logs --tail 30 "$CONTAINER" >&2 || true; die "$CONTAINER stopped or restarted within ${SETTLE}s of its restart"; }
fi
# Earlier deploys' folders: no container mounts them any more.
find "$STORE" -mindepth 1 -maxdepth 1 ! -name "$FUNCTIONS_SHA256" -exec rm -rf {} +
echo "functions-deploy($PROJECT): $(find "$STORE/$FUNCTIONS_SHA256" -type f | wc -l) files, sha256 ${FUNCTIONS_SHA256:0:12}"
