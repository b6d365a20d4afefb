#!/bin/sh
# Runs the benchmark given as $1 with the remaining arguments; it exits non-zero when a
# call failed or a peer could not be reached. Timings are printed, not judged.
set -eu
bench=$1
shift
exec "$bench" "$@"
