#!/bin/sh
# Bazel test (examples:node-example-test): installs the Node packages exactly as
# package-lock.json pins them (`npm ci`, from npm's cache when it has them, else the npm
# registry: a bare CI machine's first run downloads them), starts the real virtgrpcd ($1) on
# test:///default and runs the Node example, which exits non-zero unless it saw the listing,
# the domain destroyed and started again, both lifecycle events and the ErrorInfo.
set -eu
server=$1
work=${TEST_TMPDIR:-$(mktemp -d)}
. examples/start-server.sh

# A copy outside the runfiles tree, so that require() finds this node_modules and nothing else.
mkdir -p "$work/node"
cp examples/node/package.json examples/node/package-lock.json examples/node/domains-events.js "$work/node/"
# Bazel points HOME at a temporary directory; keep npm's usual cache so reruns stay offline.
npm_cache=$(getent passwd "$(id -u)" | cut -d: -f6)/.npm
(cd "$work/node" && npm ci --prefer-offline --no-audit --no-fund --cache="$npm_cache" >npm.log 2>&1) || {
    cat "$work/node/npm.log" >&2
    exit 1
}

start_virtgrpcd "$server"
VIRTGRPC_PROTO_DIR=$PWD/proto node "$work/node/domains-events.js" "$ADDR" test
echo "node example: OK"
