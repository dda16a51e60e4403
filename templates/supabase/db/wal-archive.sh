#!/usr/bin/env bash
# supafleet: PostgreSQL's archive_command, inside the project's database container.
#   wal-archive.sh %p %f
# Copies one finished WAL segment (or timeline history file) into the spool, a
# folder of the worker mounted at /var/lib/supafleet/wal-spool, where wal.sh on the
# worker encrypts and ships it. Only a copy that reached the disk whole counts:
# PostgreSQL recycles the segment once this exits 0. On any failure (a full spool,
# say) it exits non-zero and PostgreSQL keeps the segment and tries again.
set -euo pipefail
SPOOL="${SUPAFLEET_WAL_SPOOL:-/var/lib/supafleet/wal-spool}"
src="${1:?usage: wal-archive.sh %p %f}" name="${2:?usage: wal-archive.sh %p %f}"
die() { echo "wal-archive: $*" >&2; exit 1; }

[[ "$name" =~ ^[0-9A-F]{8}([0-9A-F]{16}(\.partial|\.[0-9A-F]{8}\.backup)?|\.history)$ ]] || die "refusing the file name '$name'"
[ -d "$SPOOL/incoming" ] || die "$SPOOL/incoming does not exist: the worker has not prepared the spool"
dest="$SPOOL/incoming/$name"

# Archived before (a crash between the copy and PostgreSQL's note of it): the
# same bytes are success, different bytes are an error never to be papered over.
if [ -e "$dest" ]; then
  cmp -s "$src" "$dest" && exit 0
  die "$dest exists with different contents"
fi

tmp="$SPOOL/incoming/.$name.tmp"
trap 'rm -f "$tmp"' EXIT
# conv=fsync: the data is on disk before the rename makes the file visible to the shipper. The copy's
# pages would otherwise be charged to this container's memory, beside the database's own (dropped below).
dd if="$src" of="$tmp" bs=1M conv=fsync status=none || die "cannot copy $name into the spool (is it full?)"
mv "$tmp" "$dest"
# Now clean, the pages can be dropped; nocache on the copy above came while they were still dirty.
dd of="$dest" oflag=nocache conv=notrunc,fdatasync count=0 status=none 2>/dev/null || true
sync "$SPOOL/incoming" 2>/dev/null || true
