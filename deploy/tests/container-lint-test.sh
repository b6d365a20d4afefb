#!/bin/sh
# Bazel test (//deploy:container-lint-test): lints deploy/container/Dockerfile with
# dockerfile-utils and checks virtgrpcd's rules on its dockerfile-ast parse
# (dockerfile-lint.js); no Docker engine needed. Node packages: deploy/tools (npm).
#
#   container-lint-test.sh DOCKERFILE    (run from the workspace root = build context)
set -eu
work=${TEST_TMPDIR:-$(mktemp -d)}
deploy=$(cd "$(dirname "$1")/.." && pwd)
here=$deploy/tests
sh "$deploy/tools/install-tools.sh" "$work/tools"
export NODE_PATH="$work/tools/node_modules"
status=0
node "$here/dockerfile-lint.js" "$1" . || status=1
node "$here/dockerfile-lint.js" --self-test "$1" . || status=1
exit "$status"
