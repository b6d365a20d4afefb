#!/bin/sh
# Bazel test (examples:python-examples-test): generates the Python stubs with Debian's protoc,
# starts the real virtgrpcd ($1) on test:///default and runs both Python examples against it.
# Each example exits non-zero unless it saw what it expects; the reflection client's output
# must also show the test driver's domain, read through descriptors learnt from the server.
set -eu
server=$1
work=${TEST_TMPDIR:-$(mktemp -d)}
python=/usr/bin/python3  # Debian's, which has python3-grpcio / python3-protobuf
. examples/start-server.sh

examples/python/gen-stubs.sh "$work/gen"
start_virtgrpcd "$server"

PYTHONPATH=$work/gen "$python" examples/python/domains_events.py "$ADDR" test

for version in v1alpha v1; do
    VIRTGRPC_PY_GEN=$work/gen "$python" examples/python/reflection_client.py "$ADDR" "$version" \
        virtgrpc.v1.DomainService/ListDomains >"$work/reflection-$version.out"
    cat "$work/reflection-$version.out"
    grep -q "grpc.reflection.$version.ServerReflection" "$work/reflection-$version.out"
    grep -q 'name: "test"' "$work/reflection-$version.out"
done
echo "python examples: OK"
