#!/bin/sh
# Generates the Python messages and gRPC stubs for virtgrpc into OUT (default: ./gen) with
# Debian's protoc and grpc_python_plugin (packages protobuf-compiler, protobuf-compiler-grpc).
#   examples/python/gen-stubs.sh [OUT]
# Only virtgrpc/ and google/rpc/ go on the import path: a generated top-level "grpc" package
# would shadow the grpc library itself, so the reflection protocol's messages (for
# reflection_client.py) go to OUT/reflection/ and are loaded from there by file name.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
proto=$here/../../proto
out=${1:-$here/gen}
mkdir -p "$out/reflection"
cd "$proto"
# shellcheck disable=SC2046 # the .proto file names have no spaces
protoc -I. --python_out="$out" --grpc_out="$out" \
    --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin \
    $(find virtgrpc google -name '*.proto' | sort)
protoc -I. --python_out="$out/reflection" \
    grpc/reflection/v1/reflection.proto grpc/reflection/v1alpha/reflection.proto
