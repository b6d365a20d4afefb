#!/usr/bin/env bash
# Installs the C client library: `bazel run //client:install -- [--prefix=DIR]
# [--libdir=DIR] [--includedir=DIR] [--destdir=DIR]` (DESTDIR in the environment works
# too). Defaults: --prefix=/usr/local, --libdir=PREFIX/lib, --includedir=PREFIX/include.
#
# Layout (VERSION and MAJOR from the manifest):
#   LIBDIR/libvirtgrpc.so.VERSION, libvirtgrpc.so.MAJOR -> it, libvirtgrpc.so -> .MAJOR
#   LIBDIR/libvirtgrpc.a
#   LIBDIR/pkgconfig/virtgrpc.pc
#   INCLUDEDIR/virtgrpc-MAJOR/virtgrpc/{virtgrpc,vg-client,vg-client-gen}.h
#   INCLUDEDIR/virtgrpc-MAJOR/{virtgrpc,google,grpc}/.../*.pb-c.h  (message types)
# The message headers live in a versioned directory of their own (-I from the .pc
# file) because their import paths (google/protobuf/, grpc/health/) would otherwise
# land beside other packages' headers.
#
# The first argument (given by the BUILD file) is the manifest: `key value` lines
# (version, major, so, a, pc) and `header SRC DEST` lines, paths relative to the
# runfiles directory this runs in.
set -euo pipefail

manifest=$1
shift

prefix=/usr/local
libdir=
includedir=
destdir=${DESTDIR:-}
# `bazel run` starts us in the runfiles: relative paths are the caller's.
caller_dir=${BUILD_WORKING_DIRECTORY:-$PWD}

absolute() {
    case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$caller_dir/$1" ;;
    esac
}

usage() {
    sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
}

for arg in "$@"; do
    case $arg in
    --prefix=*) prefix=$(absolute "${arg#*=}") ;;
    --libdir=*) libdir=$(absolute "${arg#*=}") ;;
    --includedir=*) includedir=$(absolute "${arg#*=}") ;;
    --destdir=*) destdir=$(absolute "${arg#*=}") ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "install: unknown argument '$arg'" >&2
        usage >&2
        exit 2
        ;;
    esac
done
libdir=${libdir:-$prefix/lib}
includedir=${includedir:-$prefix/include}

value() {
    awk -v key="$1" '$1 == key { print $2 }' "$manifest"
}

version=$(value version)
major=$(value major)
so=libvirtgrpc.so.$version

install -d "$destdir$libdir/pkgconfig" "$destdir$includedir/virtgrpc-$major"
install -m 0755 "$(value so)" "$destdir$libdir/$so"
ln -sfn "$so" "$destdir$libdir/libvirtgrpc.so.$major"
ln -sfn "libvirtgrpc.so.$major" "$destdir$libdir/libvirtgrpc.so"
install -m 0644 "$(value a)" "$destdir$libdir/libvirtgrpc.a"
sed -e "s|@prefix@|$prefix|; s|@libdir@|$libdir|; s|@includedir@|$includedir|" \
    -e "s|@version@|$version|; s|@major@|$major|" \
    "$(value pc)" >"$destdir$libdir/pkgconfig/virtgrpc.pc"
chmod 0644 "$destdir$libdir/pkgconfig/virtgrpc.pc"

headers=0
while read -r kind src dest; do
    [ "$kind" = header ] || continue
    install -D -m 0644 "$src" "$destdir$includedir/virtgrpc-$major/$dest"
    headers=$((headers + 1))
done <"$manifest"

echo "installed libvirtgrpc $version into $destdir$libdir and $headers headers into" \
    "$destdir$includedir/virtgrpc-$major"
