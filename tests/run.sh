#!/usr/bin/env bash
# Runs virtgrpc's test suites from a bare Debian 12 machine: installs what is missing
# (bazel/setup-host.sh), starts what the QEMU suite needs, then `bazel test`.
#
#   tests/run.sh          both suites (what CI runs)
#   tests/run.sh fast     the test-driver suite only (seconds; no libvirtd needed)
#   tests/run.sh qemu     the QEMU suite only (minutes; libvirtd + a tiny real guest)
#
# Extra arguments after the suite go to `bazel test`.
set -euo pipefail

cd "$(dirname "$0")/.."
suite=${1:-all}
shift || true

case "$suite" in
fast) filter=(--test_tag_filters=-qemu) ;;
qemu) filter=(--test_tag_filters=qemu) ;;
all) filter=() ;;
*)
    echo "usage: tests/run.sh [fast|qemu|all] [bazel test options]" >&2
    exit 2
    ;;
esac

bash bazel/setup-host.sh

if [ "$suite" != fast ] && [ -x tests/guest/start-libvirtd.sh ]; then
    bash tests/guest/start-libvirtd.sh
    bash tests/guest/build-guest.sh >/dev/null
fi

exec bazel test "${filter[@]}" "$@" //...
