#!/usr/bin/env bash
# Bazel test (//deploy:config-e2e-test): the real virtgrpcd started with the example
# config (deploy/config/virtgrpcd.conf) does what deploy/README.md says, checked by
# deploy_client.py over Debian's python3-grpcio (mTLS roles, health port, read-only
# socket). The test changes only what must differ on a test machine: certificates from
# make-certs.sh, the sockets' directory and group, free loopback ports instead of
# 0.0.0.0:50051/50052, and libvirt's test driver. It also checks that virtgrpcd listens
# on the configured addresses and on nothing else.
#
#   config-e2e-test.sh VIRTGRPCD CONFIG MAKE_CERTS GEN_STUBS CLIENT_PY
set -euo pipefail

binary=$1
config=$2
make_certs=$3
gen_stubs=$4
client=$5
work=${TEST_TMPDIR:-$(mktemp -d)}
# Unix socket paths may have at most 107 characters: Bazel's TEST_TMPDIR is longer.
run=$(mktemp -d /tmp/vg-e2e.XXXXXX)

sh "$make_certs" "$work/tls" >/dev/null
sh "$make_certs" "$work/other-ca" >/dev/null
cp "$work/other-ca/admin.crt" "$work/tls/stranger.crt"
cp "$work/other-ca/admin.key" "$work/tls/stranger.key"
sh "$gen_stubs" "$work/gen" >/dev/null

read -r tls_port health_port < <(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
sed -e "s|/etc/virtgrpc/tls/|$work/tls/|" \
    -e "s|unix:/run/virtgrpc/|unix:$run/|" \
    -e "s|^address=0.0.0.0:50051\$|address=127.0.0.1:$tls_port|" \
    -e "s|^address=0.0.0.0:50052\$|address=127.0.0.1:$health_port|" \
    -e "s|^connect=.*|connect=test:///default|" \
    -e "s|^group=virtgrpc\$|group=$(id -gn)|" \
    "$config" >"$work/virtgrpcd.conf"

if out=$("$binary" --config "$work/virtgrpcd.conf" --check-config 2>&1); then
    :
elif [[ "$out" =~ unknown\ group\ \[(listener\ .*|roles|audit)\] ]]; then
    # The listeners of issue #8 are not in this virtgrpcd yet (check-config-test says
    # the same); nothing to run against.
    echo "NOT RUN: $out"
    exit 0
else
    echo "FAIL: $out"
    exit 1
fi

"$binary" --config "$work/virtgrpcd.conf" >"$work/virtgrpcd.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; rm -rf "$run"' EXIT
for _ in $(seq 100); do
    grep -q "listening on 127.0.0.1:$health_port" "$work/virtgrpcd.log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q "listening on 127.0.0.1:$health_port" "$work/virtgrpcd.log"; then
    echo "FAIL: virtgrpcd did not start with the example config:"
    cat "$work/virtgrpcd.log"
    exit 1
fi

status=0
configured=$(sed -n 's/^address *= *//p' "$work/virtgrpcd.conf")
echo "== listeners"
while read -r address; do
    if grep -qxF "$address" <<<"$configured"; then
        echo "ok: $address"
    else
        echo "FAIL: virtgrpcd also listens on $address, which the config does not name"
        status=1
    fi
done < <(sed -n 's/.*listening on \([^ ]*\) .*/\1/p' "$work/virtgrpcd.log")

echo "== clients"
/usr/bin/python3 "$client" "$work/gen" "$work/tls" "127.0.0.1:$tls_port" \
    "127.0.0.1:$health_port" "$run/virtgrpcd-ro.sock" || status=1
exit "$status"
