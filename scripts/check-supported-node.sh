#!/usr/bin/env bash
# Proves the README's first set-up command on the Node users are told to run
# (.nvmrc): a fresh copy of the tracked files, `npm ci` with no engine or
# install-script warning, `tsc --noEmit`, and `npm run plan`. CI machines may
# have an older Node, so this fetches the right one into a scratch prefix.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

bash "$repo/scripts/install-node.sh" --prefix "$work/node" >/dev/null
export PATH="$work/node/bin:$PATH"
# A machine's own npm settings are not a user's: start from none.
export NPM_CONFIG_USERCONFIG="$work/npmrc"
: > "$NPM_CONFIG_USERCONFIG"

mkdir "$work/copy"
git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$work/copy"
cd "$work/copy"
echo "check-supported-node: node $(node --version), npm $(npm --version)"

# A line every 30 s, so CI is never silent for a minute while npm and tsc work.
( while sleep 30; do echo "check-supported-node: still working…"; done ) &
heartbeat=$!
trap 'kill "$heartbeat" 2>/dev/null; rm -rf "$work"' EXIT
npm ci --no-audit --no-fund > "$work/npm-ci.log" 2>&1 || { cat "$work/npm-ci.log"; echo "check-supported-node: npm ci failed" >&2; exit 1; }
echo "check-supported-node: npm ci done"
if grep -E "EBADENGINE|install-scripts|npm warn" "$work/npm-ci.log"; then
  echo "check-supported-node: npm ci warned on node $(node --version) (above)" >&2
  exit 1
fi
npx tsc --noEmit -p . && npx tsc --noEmit -p policies
echo "check-supported-node: tsc --noEmit passes"
npm run plan --silent -- --quiet
echo "check-supported-node: npm ci (no warnings), tsc --noEmit and npm run plan pass on node $(node --version)"
