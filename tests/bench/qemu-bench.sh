#!/usr/bin/env bash
# Runs rpc-bench with the qemu:///system peer: boots a throw-away guest of the
# test image (tests/guest/make-domain.sh) under a name of its own, runs
# rpc-bench --qemu-domain=THAT_GUEST with the arguments given, then destroys and
# undefines the guest (also on failure or Ctrl-C). Needs libvirtd running
# (tests/guest/start-libvirtd.sh) and a built guest (tests/guest/build-guest.sh).
#
# Usage: tests/bench/qemu-bench.sh RPC_BENCH_BINARY [rpc-bench args...]
#   bazel build //tests/bench:rpc-bench &&
#   tests/bench/qemu-bench.sh bazel-bin/tests/bench/rpc-bench --seconds=2 --rounds=3
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly URI=qemu:///system
readonly NAME=vgbench-$$

[ "$#" -ge 1 ] || { echo "usage: qemu-bench.sh RPC_BENCH_BINARY [args...]" >&2; exit 2; }
bench=$1
shift

dir=$(mktemp -d /tmp/vgbench.XXXXXX)
chmod 0755 "$dir"
cleanup() {
    virsh -q -c "$URI" destroy "$NAME" >/dev/null 2>&1 || true
    virsh -q -c "$URI" undefine "$NAME" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

"$SCRIPT_DIR/../guest/make-domain.sh" "$NAME" "$dir" >/dev/null
virsh -q -c "$URI" define "$dir/$NAME.xml" >/dev/null
virsh -q -c "$URI" start "$NAME" >/dev/null
"$bench" --qemu-domain="$NAME" "$@"
