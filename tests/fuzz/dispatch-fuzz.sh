#!/usr/bin/env bash
# Runs dispatch-fuzz over a fresh seed corpus (one well-formed request per method,
# written by the binary itself so it always matches the method table), the committed
# regression inputs and the corpus grown so far.
#
#   dispatch-fuzz.sh BINARY REGRESSIONS_DIR [libFuzzer options...]
#
# Corpus and crash inputs go to $TEST_TMPDIR under `bazel test` (crash inputs are also
# copied to the test's undeclared outputs), to $VG_FUZZ_CORPUS (default
# /tmp/virtgrpc-fuzz) under `bazel run`.
set -euo pipefail

binary=$(realpath "$1")
inputs=()
if [ -d "$2" ]; then
    inputs+=("$(realpath "$2")")
fi
shift 2

work=${TEST_TMPDIR:-${VG_FUZZ_CORPUS:-/tmp/virtgrpc-fuzz}}
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
VG_FUZZ_WRITE_SEEDS="$work/seeds" "$binary"

# libFuzzer's leak check runs per input: keep its own reports, not the ones of the
# sanitized test process around it.
status=0
"$binary" -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@" \
    "$work/corpus" "$work/seeds" "${inputs[@]}" || status=$?

if [ "$status" -ne 0 ] && [ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]; then
    cp -r "$work/artifacts" "$TEST_UNDECLARED_OUTPUTS_DIR/" || true
fi
exit "$status"
