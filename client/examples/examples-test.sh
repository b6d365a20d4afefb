#!/usr/bin/env bash
# The README's promise, end to end: install the library into a temporary prefix with
# //client:install, build the example programs OUTSIDE Bazel with the system compiler
# and pkg-config, once against the shared and once against the static library, start
# the real virtgrpcd on test:///default and run them, checking what they print.
# Arguments (from BUILD): the install tool, its manifest, virtgrpcd.
set -euo pipefail

install_tool=$1
manifest=$2
virtgrpcd=$3
examples=(list-domains start-domain stop-domain watch-events)
stock_uuid=6695eb01-f6a4-8304-79aa-97f2502e193f

work=${TEST_TMPDIR:-$(mktemp -d)}
prefix=$work/prefix
# A Unix socket path must fit in 108 bytes; Bazel's TEST_TMPDIR may not.
socket_dir=$(mktemp -d /tmp/vg-examples.XXXXXX)
server_pid=
watch_pid=

cleanup() {
    if [ -n "$watch_pid" ]; then kill "$watch_pid" 2>/dev/null || true; fi
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$socket_dir"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$work/server.log" ]; then
        echo "--- server log" >&2
        tail -n 30 "$work/server.log" >&2
    fi
    exit 1
}

# expect NAME PATTERN FILE: FILE has a line matching the extended regex PATTERN.
expect() {
    grep -Eq -- "$2" "$3" || {
        echo "--- $3:" >&2
        cat "$3" >&2
        fail "$1: no line matches '$2'"
    }
}

# wait_for PATTERN FILE SECONDS: until FILE has a line matching PATTERN.
wait_for() {
    local deadline=$((SECONDS + $3))
    until grep -Eq -- "$1" "$2" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || fail "no '$1' in $2 after $3 s"
        sleep 0.05
    done
}

echo "== install into $prefix"
"$install_tool" "$manifest" --prefix="$prefix"
lib=$prefix/lib
export PKG_CONFIG_PATH=$lib/pkgconfig

[ -f "$lib/libvirtgrpc.a" ] || fail "no libvirtgrpc.a"
[ "$(readlink "$lib/libvirtgrpc.so")" = libvirtgrpc.so.0 ] || fail "libvirtgrpc.so link"
readelf -d "$lib/libvirtgrpc.so.0" >"$work/readelf-so"
grep -q 'SONAME.*\[libvirtgrpc\.so\.0\]' "$work/readelf-so" || fail "the soname is not libvirtgrpc.so.0"
[ -f "$prefix/include/virtgrpc-0/virtgrpc/virtgrpc.h" ] || fail "no virtgrpc.h"
[ -f "$prefix/include/virtgrpc-0/virtgrpc/v1/domain.pb-c.h" ] || fail "no domain.pb-c.h"
[ "$(pkg-config --modversion virtgrpc)" = 0.1.0 ] || fail "pkg-config version"

echo "== exported symbols"
# Into a file first: `grep -q` closing a pipe early would fail the pipeline (pipefail).
nm -D --defined-only "$lib/libvirtgrpc.so.0" | awk '{ sub(/@.*/, "", $3); print $3 }' >"$work/symbols"
if grep -Ev '^(vg_|vgc_|virtgrpc__|google__|grpc__|VIRTGRPC_0$)' "$work/symbols" >"$work/foreign"; then
    fail "symbols outside the API are exported: $(head -5 "$work/foreign" | tr '\n' ' ')"
fi
grep -qx vg_client_new "$work/symbols" || fail "vg_client_new is not exported"
grep -qx vgc_domain_service_list_domains "$work/symbols" || fail "generated functions are not exported"
grep -qx virtgrpc__v1__domain__descriptor "$work/symbols" || fail "message descriptors are not exported"
# Two archive members share the name reflection.pb-c.pic.o (v1 and v1alpha): both made it.
for version in v1 v1alpha; do
    grep -qx "grpc__reflection__${version}__server_reflection_request__descriptor" \
        "$work/symbols" || fail "the reflection $version message code is missing"
done
if grep -qx vg_status_set "$work/symbols"; then
    fail "the internal vg_status_set is exported"
fi

echo "== build the examples outside Bazel"
cflags=$(pkg-config --cflags virtgrpc)
shared_libs=$(pkg-config --libs virtgrpc)
# Static: the archive by file name, then everything it needs.
static_libs=$(pkg-config --static --libs virtgrpc | sed 's/-lvirtgrpc\b/-l:libvirtgrpc.a/')
mkdir -p "$work/shared" "$work/static"
for example in "${examples[@]}"; do
    src=client/examples/$example.c
    # shellcheck disable=SC2086 # pkg-config output is a list of flags
    cc -std=gnu11 -Wall -Wextra -Werror -o "$work/shared/$example" "$src" $cflags \
        $shared_libs -Wl,-rpath,"$lib"
    # shellcheck disable=SC2086
    cc -std=gnu11 -Wall -Wextra -Werror -o "$work/static/$example" "$src" $cflags $static_libs
done
ldd "$work/shared/list-domains" >"$work/ldd-shared"
grep -q "libvirtgrpc.so.0 => $lib/libvirtgrpc.so.0" "$work/ldd-shared" ||
    fail "the shared build does not use $lib/libvirtgrpc.so.0"
readelf -d "$work/static/list-domains" >"$work/readelf-static"
if grep -q 'NEEDED.*libvirtgrpc' "$work/readelf-static"; then
    fail "the static build still needs libvirtgrpc.so"
fi

echo "== start virtgrpcd"
"$virtgrpcd" --listen=127.0.0.1:0 --listen="unix:$socket_dir/virtgrpcd.sock" \
    --port-file="$work/port" >"$work/server.log" 2>&1 &
server_pid=$!
deadline=$((SECONDS + 20))
until [ -s "$work/port" ]; do
    kill -0 "$server_pid" 2>/dev/null || fail "virtgrpcd exited"
    [ "$SECONDS" -lt "$deadline" ] || fail "virtgrpcd did not start in 20 s"
    sleep 0.05
done
tcp=127.0.0.1:$(cat "$work/port")
unix=unix:$socket_dir/virtgrpcd.sock

for build in shared static; do
    bin=$work/$build
    out=$work/$build-out
    mkdir -p "$out"
    echo "== $build: list-domains over TCP and the Unix socket"
    "$bin/list-domains" "$tcp" >"$out/list-tcp"
    expect list-domains "^$stock_uuid +test +DOMAIN_STATE_RUNNING$" "$out/list-tcp"
    "$bin/list-domains" "$unix" >"$out/list-unix"
    cmp -s "$out/list-tcp" "$out/list-unix" || fail "TCP and Unix socket listings differ"

    echo "== $build: watch-events while stopping and starting 'test'"
    "$bin/watch-events" test 2 "$tcp" >"$out/watch" 2>&1 &
    watch_pid=$!
    wait_for '^watching$' "$out/watch" 10
    if [ "$build" = shared ]; then
        "$bin/stop-domain" test "$tcp" >"$out/stop"
    else
        "$bin/stop-domain" --force test "$tcp" >"$out/stop"
    fi
    expect stop-domain "^test \($stock_uuid\) is DOMAIN_STATE_SHUTOFF$" "$out/stop"
    "$bin/start-domain" test "$tcp" >"$out/start"
    expect start-domain "^test \($stock_uuid\) is DOMAIN_STATE_RUNNING$" "$out/start"
    wait_for 'STARTED$' "$out/watch" 10
    wait "$watch_pid" || fail "watch-events failed: $(cat "$out/watch")"
    watch_pid=
    expect watch-events '^event [0-9]+: test LIFECYCLE_EVENT_TYPE_STOPPED$' "$out/watch"
    expect watch-events '^event [0-9]+: test LIFECYCLE_EVENT_TYPE_STARTED$' "$out/watch"

    echo "== $build: a failure names libvirt's error"
    if "$bin/stop-domain" no-such-domain "$tcp" 2>"$out/missing"; then
        fail "stopping a missing domain succeeded"
    fi
    expect stop-domain '\(NOT_FOUND, VIR_ERR_NO_DOMAIN\)$' "$out/missing"
done

echo "PASS"
