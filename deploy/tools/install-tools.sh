#!/bin/sh
# Installs the Node packages deploy/'s checks use (deploy/tools/package.json, pinned by
# package-lock.json) into DIR/node_modules: `npm ci` from npm's cache when it has them,
# else from the npm registry (a bare CI machine's first run downloads them, ~60 MB).
#
#   deploy/tools/install-tools.sh DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
mkdir -p "$dir"
cp "$here/package.json" "$here/package-lock.json" "$dir/"
# Bazel points HOME at a scratch directory: keep the user's npm cache so reruns stay offline.
cache=$(getent passwd "$(id -u)" | cut -d: -f6)/.npm
if ! (cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --cache="$cache" >npm.log 2>&1); then
    cat "$dir/npm.log" >&2
    exit 1
fi
