#!/bin/sh
# Makes a private CA, a server certificate and one client certificate per role for
# virtgrpcd's mutual TLS listener, with openssl (Debian's openssl package):
#
#   deploy/make-certs.sh DIR [SERVER_NAME...]
#
# DIR gets ca.crt/ca.key (the CA: keep ca.key offline), server.crt/server.key (for
# /etc/virtgrpc/tls/ or the Kubernetes Secret virtgrpcd-tls) and, for each role of
# [roles] in deploy/config/virtgrpcd.conf, CLIENT.crt/CLIENT.key whose CN is the
# identity mapped there (admin, operator, monitoring). SERVER_NAMEs (DNS names or IP
# addresses) go into the server certificate's subjectAltName; default: localhost,
# 127.0.0.1 and the in-cluster Service name virtgrpcd.virtgrpc.svc. Certificates last
# DAYS days (environment, default 365). EC P-256 keys.
set -eu
dir=$1
shift
[ "$#" -gt 0 ] || set -- localhost 127.0.0.1 virtgrpcd.virtgrpc.svc
days=${DAYS:-365}
mkdir -p "$dir"
cd "$dir"
umask 077

san=""
for name in "$@"; do
    case "$name" in
    *:* | *[0-9].[0-9]*.[0-9]*.[0-9]*) kind=IP ;; # IPv6, or IPv4 (checked below)
    *) kind=DNS ;;
    esac
    case "$name" in *[!0-9.]*) [ "${name#*:}" != "$name" ] || kind=DNS ;; esac
    san="${san:+$san,}$kind:$name"
done

newkey() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
}

# sign NAME CN EXTENSIONS
sign() {
    newkey "$1"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
        -days "$days" -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

newkey ca
openssl req -x509 -new -key ca.key -subj "/CN=virtgrpc CA" -days "$days" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt

sign server "${1}" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san"

for client in admin operator monitoring; do
    sign "$client" "$client.virtgrpc.example" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=DNS:$client.virtgrpc.example"
done
rm -f ca.srl
# Readable by the group the server runs as (systemd: virtgrpc), not by others.
chmod 0640 server.key
chmod 0644 ./*.crt
echo "make-certs: CA, server ($san) and clients admin, operator, monitoring in $dir"
