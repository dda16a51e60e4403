#!/usr/bin/env bash
# Installs Node.js of the LTS line named in .nvmrc, with npm, into a prefix.
# Debian 12's own nodejs is 18, too old for Pulumi's SDK (it needs 22 or
# newer). Node comes from the npm registry's node-linux-<arch> package, the
# official binary, and npm from its own package: npm checks each download
# against the registry's integrity hash, and no other host is needed.
#
#   bash scripts/install-node.sh [--prefix DIR]     # default /usr/local
set -euo pipefail

prefix=/usr/local
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    *) echo "install-node: unknown argument '$1' (usage: install-node.sh [--prefix DIR])" >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "$0")/.." && pwd)"
major="$(tr -d ' \n' < "$here/.nvmrc")"
[[ "$major" =~ ^[0-9]+$ ]] || { echo "install-node: .nvmrc must hold a major version, found '$major'" >&2; exit 1; }

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "install-node: no Node package for $(uname -m)" >&2; exit 1 ;;
esac

# npm fetches the packages; any npm will do, so a fresh Debian bootstraps with its own.
if ! command -v npm >/dev/null; then
  command -v apt-get >/dev/null || { echo "install-node: needs npm, or apt-get to install Debian's" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends nodejs npm
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "node-linux-$arch@$major" "npm@11" >/dev/null)
mkdir -p "$work/node" "$work/npm" "$prefix/bin" "$prefix/lib/node_modules"
tar -xzf "$work"/node-linux-"$arch"-*.tgz -C "$work/node" --strip-components=1
tar -xzf "$work"/npm-*.tgz -C "$work/npm" --strip-components=1

install -m 0755 "$work/node/bin/node" "$prefix/bin/node"
rm -rf "$prefix/lib/node_modules/npm"
mv "$work/npm" "$prefix/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$prefix/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$prefix/bin/npx"

version="$("$prefix/bin/node" --version)"
[[ "$version" == "v$major."* ]] || { echo "install-node: installed $version, expected v$major.x" >&2; exit 1; }
echo "install-node: node $version and npm $(PATH="$prefix/bin:$PATH" npm --version) in $prefix/bin"
