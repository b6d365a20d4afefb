#!/bin/sh
# Runs the benchmark given as $1 with the remaining arguments; it exits non-zero when a
# subscriber missed an event or saw a sequence gap. Timings are printed, not judged.
set -eu
bench=$1
shift
exec "$bench" "$@"
