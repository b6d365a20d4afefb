#!/usr/bin/env bash
# ThreadSanitizer over the client: builds thread-stress with -fsanitize=thread, starts
# virtgrpcd (test:///default) and runs 16 threads x 200 GetDomainInfo calls on one
# client while another thread opens WatchEvents streams that a third cancels.
#   bash client/stress/run-tsan.sh [bazel options such as --output_base=...]
#
# Debian's gRPC is not built with TSan: gRPC hands memory between threads through its
# own (uninstrumented) synchronization, which TSan cannot see, so every hand-off would
# be reported. The suppressions therefore ignore what gRPC's libraries (and their
# dependencies) do, and TSan checks the client's own code and its use of them.
set -euo pipefail
cd "$(dirname "$0")/../.."

startup=()
for arg in "$@"; do startup+=("$arg"); done
bazel "${startup[@]}" build --copt=-fsanitize=thread --linkopt=-fsanitize=thread \
    //client/stress:thread-stress
work=$(mktemp -d)
cp bazel-bin/client/stress/thread-stress "$work/"
bazel "${startup[@]}" build //server:virtgrpcd
cp bazel-bin/server/virtgrpcd "$work/"

"$work/virtgrpcd" --listen=127.0.0.1:0 --port-file="$work/port" --log-level=warn \
    2>"$work/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.1; done

ldd "$work/thread-stress" | awk '{ print $1 }' |
    grep -E 'grpc|gpr|absl|upb|address_sorting|cares|re2|ssl|crypto|stdc\+\+' |
    sed 's/^/called_from_lib:/' >"$work/tsan.supp"
TSAN_OPTIONS="halt_on_error=1 suppressions=$work/tsan.supp" \
    "$work/thread-stress" "127.0.0.1:$(cat "$work/port")" 16 200
