#!/bin/sh
# Runs the benchmark given as $1 with the remaining arguments; it exits non-zero when a
# call failed or a libvirt peer connection could not be opened (without a running libvirtd
# the remote peer is skipped, with a message). Timings are printed, not judged.
set -eu
bench=$1
shift
exec "$bench" "$@"
