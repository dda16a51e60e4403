#!/usr/bin/env bash
# supafleet: reads a fetched WAL archive through before a point-in-time restore
# touches anything (restore-pitr.sh).
#   wal-readthrough.sh IMAGE DIR FIRST [TARGET]
# DIR holds the fetched segments; FIRST is the base backup's first segment; with
# TARGET (UTC, "2026-12-06 14:31:00.000000"), the restore stops there, otherwise it
# replays all of it.
# pg_waldump of the database's own image follows FIRST's timeline to the last
# archived segment. Ending anywhere before it means a segment is missing or corrupt,
# and a replay would stop there. Prints one line on stdout and exits 0 when the
# restore can go on: "ok", or "replay-all" when nothing was committed after the
# target (PostgreSQL, which stops at the first commit after it, would find none and
# refuse, while all of the archive is the state at the target). Exits 1 with the
# reason as its last line otherwise.
set -euo pipefail
SCRIPT='wal-readthrough'
IMAGE="${1:?usage: wal-readthrough.sh IMAGE DIR FIRST [TARGET]}" DIR="${2:?}" FIRST="${3:?}" TARGET="${4:-}"
say() { echo "$SCRIPT: $*" >&2; }
refuse() { echo "$*"; exit 1; }
[[ "$FIRST" =~ ^[0-9A-F]{24}$ ]] || refuse "the base backup names no first segment"
TIMELINE="${FIRST:0:8}"

last=$(find "$DIR" -maxdepth 1 -type f -name "$TIMELINE????????????????" -printf '%f\n' | sort | tail -n 1)
if [ -z "$last" ] || [[ "$last" < "$FIRST" ]]; then refuse "the WAL archive holds no segment of timeline $TIMELINE from $FIRST on, where the base backup starts"; fi

# Without pg_waldump (an image that lacks it), the names alone: no segment missing from FIRST to the last.
by_names() {
  local n prev="" prior="" name
  while read -r name; do
    if [ -z "$prior" ] && [ "$name" != "$FIRST" ]; then echo "segment $FIRST, where the base backup starts, is missing from the WAL archive"; return; fi
    n=$(( 16#${name:8:8} * 256 + 16#${name:16:8} ))
    if [ -n "$prev" ] && [ "$n" -ne $((prev + 1)) ]; then echo "a segment is missing from the WAL archive after $prior, which goes on to $last"; return; fi
    prev=$n prior=$name
  done < <(find "$DIR" -maxdepth 1 -type f -name "$TIMELINE????????????????" -printf '%f\n' | sort | awk -v first="$FIRST" '$0 >= first')
}

# The error pg_waldump ended with, then every commit time, one per line.
dump=$(docker run --rm -e TZ=UTC -v "$DIR:/wal:ro" --entrypoint bash "$IMAGE" -c '
  w=$(command -v pg_waldump || ls /usr/lib/postgresql/*/bin/pg_waldump /usr/lib/postgresql/bin/pg_waldump 2>/dev/null | head -n 1)
  [ -n "$w" ] || exit 3
  { "$w" --path=/wal --timeline="$1" "$2" "$3" 2>&1; echo; } | grep -oE "COMMIT [0-9]{4}-[0-9-]+ [0-9:.]+|pg_waldump: error: .*"; true' \
  wal-readthrough "$((16#$TIMELINE))" "$FIRST" "$last") || {
  rc=$?
  [ "$rc" = 3 ] || refuse "cannot run pg_waldump from $IMAGE (exit $rc)"
  say "no pg_waldump in $IMAGE: checking the archive by its segments' names only"
  damaged=$(by_names)
  if [ -n "$damaged" ] && [ -z "$TARGET" ]; then refuse "$damaged: a replay of all of it would stop early; give --time before the gap"; fi
  [ -z "$damaged" ] || say "$damaged; PostgreSQL refuses if the replay cannot reach the target"
  echo ok
  exit 0
}

damaged=""
ended=$(grep -m1 '^pg_waldump: error' <<<"$dump" || true)
lsn=$( (grep -oE 'at [0-9A-F]+/[0-9A-F]+' <<<"$ended" || true) | head -n 1 | cut -c4-)
missing=$( (grep -oE 'could not find file "[0-9A-F]{24}"' <<<"$ended" || true) | grep -oE '[0-9A-F]{24}' || true)
if [ -n "$missing" ]; then
  damaged="segment $missing is missing from the WAL archive, which goes on to $last"
elif [ -n "$lsn" ]; then
  # 16 MiB segments: the high word is the log, the top byte of the low word the segment in it.
  segment=$(printf '%s%08X%08X' "$TIMELINE" "$((16#${lsn%/*}))" "$(( 16#${lsn#*/} >> 24 ))")
  [[ ! "$segment" < "$last" ]] || damaged="the WAL archive is damaged in segment $segment (${ended#pg_waldump: error: }), though it goes on to $last"
fi
commits=$( (grep '^COMMIT' <<<"$dump" || true) | cut -d' ' -f2-3)
if [ -z "$TARGET" ]; then
  [ -z "$damaged" ] || refuse "$damaged: a replay of all of it would stop early; give --time before the damage"
  echo ok
  exit 0
fi
# Commit times as pg_waldump prints them (microseconds, UTC) sort as text, as TARGET does.
after=$(awk -v t="$TARGET" '$0 > t { print; exit }' <<<"$commits")
if [ -z "$after" ]; then
  [ -z "$damaged" ] || refuse "$damaged, before any transaction after the target"
  say "no transaction after the target in the archive (the last at $(tail -n 1 <<<"$commits")): replaying all of it"
  echo replay-all
  exit 0
fi
echo ok
