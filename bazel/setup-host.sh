#!/usr/bin/env bash
# Installs the Debian packages virtgrpc needs to build, run and test, when they are missing.
# Idempotent: a machine that already has everything is left untouched (no apt-get update).
set -euo pipefail

packages=(
    # Build: Bazel (offline, Debian's bootstrap build) and the compilers' helpers.
    bazel-bootstrap bazel-platforms g++ pkg-config
    # The C client's API reference (client/Doxyfile) and its test-only certificates.
    doxygen openssl
    # Runtime libraries and their headers.
    libvirt-dev libgrpc-dev libprotobuf-c-dev libuv1-dev uuid-dev libxml2-dev libglib2.0-dev
    # The CLI (client/cli/): JSON.
    libjson-c-dev
    # Code generation: protoc, protoc-c, and libprotoc for our own plugin.
    protobuf-compiler protobuf-c-compiler libprotobuf-dev libprotoc-dev
    # Tests: googletest, grpc++ stubs as an independent client.
    libgtest-dev libgmock-dev libgrpc++-dev protobuf-compiler-grpc
    # Tests: decoding screenshots, and the server under valgrind (console-*-qemu-test).
    libpng-dev valgrind
    # Fuzzing (tests/fuzz, --config=fuzz): clang and its libFuzzer + sanitizer runtimes
    # (a Recommends of clang, which --no-install-recommends skips).
    clang libclang-rt-14-dev
    # Tests: certificates for the TLS and role tests (security-test, roles-test).
    openssl
    # A real hypervisor for the QEMU suite.
    libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base
    # The example clients (examples/): Python's gRPC and protobuf, Node.js.
    python3-grpcio python3-protobuf nodejs
    # deploy/'s checks: systemd-analyze and systemd-sysusers (and openssl, above).
    # (They also use kubectl's built-in kustomize: kubectl is on these machines; Debian's
    # own kubernetes-client is 1.20, whose kustomize is too old for the manifests.)
    systemd
)

# npm for examples/node: Debian ships it apart from nodejs, while a Node.js from elsewhere
# (e.g. NodeSource's nodejs package) brings its own npm and conflicts with Debian's.
if ! command -v npm >/dev/null 2>&1; then
    packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-host: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
fi

echo "setup-host: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
