#!/usr/bin/env bash
# Test-only TLS material for the client's TLS tests (never for deployment): a CA, a
# server certificate for localhost / 127.0.0.1 and a client certificate it signed,
# plus an unrelated CA. Usage: make-certs.sh OUTDIR
set -euo pipefail
mkdir -p "$1"
out=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }

ca() { # NAME CN
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 -out "$1.pem"
}

leaf() { # NAME CN EXTENSIONS
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}

ca ca "virtgrpc test CA"
ca other-ca "unrelated test CA"
leaf server localhost "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf client virtgrpc-test-client "extendedKeyUsage=clientAuth"

cp ca.pem other-ca.pem server.pem server.key client.pem client.key "$out/"
