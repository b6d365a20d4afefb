#!/usr/bin/env bash
# Makes the files for one test domain of the virtgrpc test guest: a qcow2
# overlay on the cached data disk and the domain XML from
# domain-template.xml. It does not define the domain.
#
# Usage: tests/guest/make-domain.sh NAME DIR [UUID]
#   NAME  domain name: letters, digits, '.', '_', '-'
#   DIR   existing directory for the files; libvirt's QEMU user must be able
#         to search it (mktemp -d makes 0700 directories: chmod 0755 them)
#   UUID  optional; without it the <uuid> line is dropped and libvirt picks one
# Writes DIR/NAME.qcow2 and DIR/NAME.xml (the serial log will be
# DIR/NAME.serial.log) and prints XML=, OVERLAY= and LOGFILE= lines.
# Needs a built guest: run build-guest.sh first (same VG_GUEST_CACHE).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly TEMPLATE=$SCRIPT_DIR/domain-template.xml
readonly CACHE=${VG_GUEST_CACHE:-/var/cache/virtgrpc/guest}

die() {
    echo "make-domain: error: $*" >&2
    exit 1
}

# The values go into the XML unescaped and into sed replacements.
check_chars() {
    local what=$1 value=$2 pattern=$3
    [[ $value =~ $pattern ]] || die "$what '$value' has characters outside $pattern"
}

env_value() {
    local value
    value=$(sed -n "s/^$1=//p" "$CACHE/guest.env")
    [ -n "$value" ] || die "no $1= in $CACHE/guest.env"
    [ -f "$value" ] || die "$1 '$value' from $CACHE/guest.env does not exist; rerun build-guest.sh"
    echo "$value"
}

main() {
    if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
        die "usage: make-domain.sh NAME DIR [UUID]"
    fi
    local name=$1 dir=$2 uuid=${3:-}
    check_chars NAME "$name" '^[A-Za-z0-9._-]+$'
    [ -d "$dir" ] || die "DIR '$dir' is not a directory"
    dir=$(cd "$dir" && pwd)
    check_chars DIR "$dir" '^/[A-Za-z0-9._/+-]*$'
    [ -z "$uuid" ] || check_chars UUID "$uuid" '^[0-9a-fA-F-]{32,36}$'
    [ -f "$CACHE/guest.env" ] || die "no $CACHE/guest.env; run tests/guest/build-guest.sh"

    local kernel initrd disk overlay=$dir/$name.qcow2 xml=$dir/$name.xml
    local logfile=$dir/$name.serial.log
    kernel=$(env_value KERNEL)
    initrd=$(env_value INITRD)
    disk=$(env_value DISK)

    # -F: never let QEMU probe the backing file's format. The overlay starts
    # empty, so every test sees the same disk and none can change the base.
    qemu-img create -q -f qcow2 -b "$disk" -F qcow2 "$overlay" \
        || die "qemu-img create failed for '$overlay'"
    if [ "$(id -u)" -eq 0 ] && id libvirt-qemu >/dev/null 2>&1; then
        runuser -u libvirt-qemu -- test -r "$overlay" \
            || die "'$overlay' is not reachable by user libvirt-qemu: make '$dir' and its parents searchable (chmod o+x)"
    fi

    local uuid_expr='s|@UUID@|'"$uuid"'|'
    [ -n "$uuid" ] || uuid_expr='/@UUID@/d'
    sed -e "s|@NAME@|$name|g" -e "$uuid_expr" \
        -e "s|@KERNEL@|$kernel|g" -e "s|@INITRD@|$initrd|g" \
        -e "s|@OVERLAY@|$overlay|g" -e "s|@LOGFILE@|$logfile|g" \
        "$TEMPLATE" >"$xml.tmp"
    if grep -q '@[A-Z]*@' "$xml.tmp"; then
        die "unreplaced placeholder in $xml.tmp: $(grep -o '@[A-Z]*@' "$xml.tmp" | sort -u | tr '\n' ' ')"
    fi
    mv "$xml.tmp" "$xml"

    echo "XML=$xml"
    echo "OVERLAY=$overlay"
    echo "LOGFILE=$logfile"
}

main "$@"
