#!/usr/bin/env bash
# Builds the virtgrpc test guest: a kernel, a busybox initramfs with
# qemu-guest-agent, and a small qcow2 data disk, from Debian packages only
# (apt-get download + dpkg-deb -x; nothing is installed on the host).
#
# Output goes to a cache outside the source tree:
#     ${VG_GUEST_CACHE:-/var/cache/virtgrpc/guest}/guest.env
# with KERNEL=, KERNEL_BZIMAGE=, INITRD=, DISK= and GUEST_KEY= lines, which are
# also printed on stdout (progress goes to stderr). The build is keyed on the
# exact package versions, the host tools that shape the output, and the
# sha256 of this script and of rootfs/; it reruns only when that key changes
# (VG_GUEST_FORCE=1 forces it). Concurrent runs serialise on a lock.
#
# Usage: tests/guest/build-guest.sh
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
SCRIPT_PATH=$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")
readonly SCRIPT_PATH
# Files copied verbatim over the initramfs tree (/init, inittab, rc scripts).
readonly ROOTFS_SRC=$SCRIPT_DIR/rootfs
readonly CACHE=${VG_GUEST_CACHE:-/var/cache/virtgrpc/guest}
# Generous: a cold build takes 10-20 s, but another run may hold the lock
# while it downloads 33 MB from a slow mirror.
readonly LOCK_TIMEOUT_S=600

# The cloud flavour: LZ4-compressed and with few built-in drivers, it boots
# about 3x faster under TCG than the generic (XZ) amd64 kernel.
readonly KERNEL_META_PACKAGE=linux-image-cloud-amd64
readonly GUEST_PACKAGES=(busybox-static qemu-guest-agent)
# Run from the unpacked packages at build time, not shipped in the guest: lz4
# decompresses the kernel into vmlinux.
readonly TOOL_PACKAGES=(lz4)
# qemu-ga's shared library closure; the build checks that it is complete.
readonly QEMU_GA_LIB_PACKAGES=(
    libc6 libglib2.0-0 libpcre2-8-0 libnuma1 liburing2 libudev1
)
# Drivers for the devices of domain-template.xml. ext4 and PCIe hot-plug are
# built into the cloud kernel; button + evdev feed acpid the power button.
readonly GUEST_MODULES=(
    virtio_pci virtio_console virtio_blk virtio_net virtio_balloon
    virtio_rng button evdev
)
readonly DISK_SIZE=64M
# Fixed so the data disk looks the same to every test (domfsinfo, blkid).
readonly DISK_LABEL=guestdata
readonly DISK_UUID=76676775-6573-4400-8000-000000000001

die() {
    echo "build-guest: error: $*" >&2
    exit 1
}

log() {
    echo "build-guest: $*" >&2
}

# The paths end up unquoted in guest.env and unescaped in domain XML, so keep
# them to characters that need neither quoting nor escaping.
check_cache_path() {
    case $CACHE in
        /*) ;;
        *) die "VG_GUEST_CACHE must be an absolute path, got '$CACHE'" ;;
    esac
    if [[ ! $CACHE =~ ^[A-Za-z0-9._/+-]+$ ]]; then
        die "VG_GUEST_CACHE '$CACHE' may only contain A-Z a-z 0-9 . _ / + -"
    fi
}

# Prints "package=version" for the kernel and every package above, using
# the apt candidate versions, from one apt-cache call (each call costs ~0.8 s
# and this runs on every up-to-date check). The kernel meta-package's
# "Depends: linux-image-6.1.0-NN-cloud-amd64 (= VERSION)" names the real image
# package and its exact version.
# A machine whose packages were installed long ago may have no apt lists (or
# stale ones, without the kernel's current version): refresh them once, as root.
ensure_apt_lists() {
    if apt-cache show --no-all-versions "$KERNEL_META_PACKAGE" >/dev/null 2>&1; then
        return 0
    fi
    [ "$(id -u)" -eq 0 ] \
        || die "apt has no '$KERNEL_META_PACKAGE' and only root can run apt-get update"
    echo "build-guest: apt lists lack '$KERNEL_META_PACKAGE'; running apt-get update" >&2
    apt-get update -q >&2 || die "apt-get update failed"
}

resolve_packages() {
    local names=("$KERNEL_META_PACKAGE" "${GUEST_PACKAGES[@]}" "${TOOL_PACKAGES[@]}"
        "${QEMU_GA_LIB_PACKAGES[@]}")
    local resolved
    # awk reads all its input: under pipefail an early exit would kill
    # apt-cache with SIGPIPE and fail the pipeline.
    resolved=$(apt-cache show --no-all-versions "${names[@]}" \
        | awk -v meta="$KERNEL_META_PACKAGE" '
            /^Package: / { pkg = $2 }
            /^Version: / { ver = $2 }
            /^Depends: / { dep = $0 }
            /^$/ { flush() }
            END { flush() }
            function flush() {
                if (pkg == "") return
                if (pkg != meta) {
                    print pkg "=" ver
                } else if (match(dep, /linux-image-[0-9][^ ,]* \(= [^)]*\)/)) {
                    split(substr(dep, RSTART, RLENGTH), f, /[ ()=]+/)
                    print f[1] "=" f[2]
                }
                pkg = ver = dep = ""
            }' | LC_ALL=C sort) \
        || die "apt-cache show failed for: ${names[*]} (apt-get update?)"
    # apt-cache show fails on unknown names, but a meta-package with an
    # unexpected Depends line would just be missing.
    [ "$(grep -c . <<<"$resolved")" -eq "${#names[@]}" ] \
        || die "resolved only: $(tr '\n' ' ' <<<"$resolved"); wanted: ${names[*]} with '$KERNEL_META_PACKAGE' depending on one exact linux-image version"
    echo "$resolved"
}

# The build key: everything that determines the output bytes.
compute_key() {
    local packages=$1
    {
        echo "$packages"
        # Host tools that write output files.
        mkfs.ext4 -V 2>&1 | sed -n 1p
        qemu-img --version | sed -n 1p
        sha256sum <"$SCRIPT_PATH"
        (cd "$ROOTFS_SRC" && find . -type f -print0 | LC_ALL=C sort -z \
            | xargs -0 sha256sum)
    } | sha256sum | cut -d' ' -f1
}

# Downloads the .debs that are not in $CACHE/debs yet. apt-get writes into
# the current directory; a download directory inside the build dir keeps a
# half-downloaded file out of the cache.
download_debs() {
    local packages=$1 work=$2 missing=() pv pkg ver
    for pv in $packages; do
        pkg=${pv%%=*}
        ver=${pv#*=}
        if ! compgen -G "$CACHE/debs/${pkg}_${ver//:/%3a}_*.deb" >/dev/null; then
            missing+=("$pv")
        fi
    done
    [ "${#missing[@]}" -gt 0 ] || return 0

    local apt_opts=(-q)
    # As root, apt drops to user _apt for downloads, which cannot write here.
    if [ "$(id -u)" -eq 0 ]; then
        apt_opts+=(-o APT::Sandbox::User=root)
    fi
    log "downloading ${missing[*]}"
    mkdir -p "$work/download"
    (cd "$work/download" && apt-get "${apt_opts[@]}" download "${missing[@]}" >&2) \
        || die "apt-get download failed for: ${missing[*]}"
    mv "$work/download"/*.deb "$CACHE/debs/"
}

deb_path() {
    local pkg=${1%%=*} ver=${1#*=} f
    for f in "$CACHE/debs/${pkg}_${ver//:/%3a}_"*.deb; do
        [ -f "$f" ] || die "no .deb for '$1' in $CACHE/debs"
        echo "$f"
        return
    done
}

# Cuts the LZ4 payload out of the bzImage and decompresses it into an ELF
# vmlinux with a PVH entry note, which QEMU boots directly: ~1 s faster than
# the bzImage under TCG, and much faster on every reboot (no in-guest
# decompression). Returns 1 if this kernel cannot be converted.
extract_vmlinux() {
    local bzimage=$1 out=$2 sysroot=$3 setup_sects payload_offset payload_len
    local start magic expected actual
    setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$bzimage" | tr -d ' ')
    payload_offset=$(od -An -tu4 -j $((0x248)) -N4 "$bzimage" | tr -d ' ')
    payload_len=$(od -An -tu4 -j $((0x24c)) -N4 "$bzimage" | tr -d ' ')
    start=$(((setup_sects + 1) * 512 + payload_offset))
    magic=$(od -An -tx1 -j "$start" -N4 "$bzimage" | tr -d ' ')
    if [ "$magic" != 02214c18 ]; then
        log "kernel payload is not LZ4 (magic $magic); using the bzImage only"
        return 1
    fi
    # The payload ends with the 4-byte uncompressed size (little endian),
    # which lz4 would reject as a truncated frame.
    expected=$(od -An -tu4 -j $((start + payload_len - 4)) -N4 "$bzimage" \
        | tr -d ' ')
    dd if="$bzimage" iflag=skip_bytes,count_bytes skip="$start" \
        count=$((payload_len - 4)) status=none \
        | run_sysroot "$sysroot" "$sysroot/usr/bin/lz4" -dc >"$out" \
        || die "lz4 failed to decompress the kernel payload"
    actual=$(stat -c %s "$out")
    [ "$actual" = "$expected" ] \
        || die "vmlinux is $actual bytes, the bzImage says $expected"
    [ "$(head -c 4 "$out" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] \
        || die "decompressed kernel is not an ELF file"
}

# Runs a dynamically linked program from the unpacked packages with their own
# loader and libraries, independent of what the host has installed.
run_sysroot() {
    local sysroot=$1
    shift
    "$sysroot/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
        --library-path "$sysroot/lib/x86_64-linux-gnu:$sysroot/usr/lib/x86_64-linux-gnu" \
        "$@"
}

# Copies qemu-ga and exactly the libraries the loader resolves for it inside
# the sysroot; a library found only on the host (or not at all) is an error,
# since the guest would not have it.
install_qemu_ga() {
    local sysroot=$1 ir=$2 line name path
    install -D -m 0755 "$sysroot/usr/sbin/qemu-ga" "$ir/usr/sbin/qemu-ga"
    install -D -m 0755 "$sysroot/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
        "$ir/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    mkdir -p "$ir/lib64"
    ln -sfn /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
        "$ir/lib64/ld-linux-x86-64.so.2"

    while read -r line; do
        case $line in
            linux-vdso.so.* | /lib64/ld-linux-x86-64.so.2*) continue ;;
            *'=> not found'*)
                die "qemu-ga needs '${line%% *}', which none of the packages provide; add its package to QEMU_GA_LIB_PACKAGES"
                ;;
            *' => '*) ;;
            *) die "unexpected loader output for qemu-ga: '$line'" ;;
        esac
        name=${line%% *}
        path=${line#* => }
        path=${path% (*}
        case $path in
            "$sysroot"/*) ;;
            *) die "qemu-ga's '$name' resolved outside the unpacked packages ('$path'); add its package to QEMU_GA_LIB_PACKAGES" ;;
        esac
        install -D -m 0644 "$path" "$ir/${path#"$sysroot"/}"
    done < <(run_sysroot "$sysroot" --list "$sysroot/usr/sbin/qemu-ga")
}

# Prints the module files (relative to lib/modules/KV) that GUEST_MODULES
# need, dependencies included, and writes the names of the non-built-in
# modules to $4. Uses modules.dep from busybox depmod (no kmod on the host).
module_closure() {
    local sysroot=$1 kv=$2 busybox=$3 names_out=$4
    local moddir=$sysroot/lib/modules/$kv
    "$busybox" depmod -b "$sysroot" "$kv" \
        || die "busybox depmod failed on $moddir"
    awk -v want="${GUEST_MODULES[*]}" -v names_out="$names_out" '
        function norm(p, n) {
            n = p; sub(/.*\//, "", n); sub(/\.ko$/, "", n); gsub(/-/, "_", n)
            return n
        }
        FILENAME ~ /modules\.builtin$/ { builtin[norm($1)] = 1; next }
        {
            sub(/:$/, "", $1); m = norm($1); path[m] = $1; deps[m] = ""
            for (i = 2; i <= NF; i++) deps[m] = deps[m] " " norm($i)
        }
        END {
            n = split(want, queue, " ")
            for (i = 1; i <= n; i++) {
                m = queue[i]
                if (m in builtin) continue
                if (!(m in path)) {
                    print "build-guest: error: kernel has no module \047" m "\047" > "/dev/stderr"
                    exit 1
                }
                print m > names_out
            }
            for (i = 1; i <= n; i++) {
                m = queue[i]
                if (m in builtin || m in seen) continue
                seen[m] = 1; print path[m]
                k = split(deps[m], d, " ")
                for (j = 1; j <= k; j++) queue[++n] = d[j]
            }
        }' "$moddir/modules.builtin" "$moddir/modules.dep"
}

build() {
    local packages=$1 work=$2 out=$3 pv sysroot ir kv busybox
    download_debs "$packages" "$work"

    log "unpacking"
    sysroot=$work/sysroot
    mkdir -p "$sysroot"
    for pv in $packages; do
        dpkg-deb -x "$(deb_path "$pv")" "$sysroot" \
            || die "dpkg-deb -x failed for '$pv'"
    done
    busybox=$sysroot/bin/busybox

    # linux-image-6.1.0-56-cloud-amd64 holds kernel release 6.1.0-56-cloud-amd64.
    kv=$(sed -n 's/^linux-image-\([^=]*\)=.*/\1/p' <<<"$packages")
    [ -f "$sysroot/boot/vmlinuz-$kv" ] || die "no /boot/vmlinuz-$kv in the kernel package"
    mkdir -p "$out"
    install -m 0644 "$sysroot/boot/vmlinuz-$kv" "$out/vmlinuz"
    if grep -qx 'CONFIG_PVH=y' "$sysroot/boot/config-$kv" \
        && extract_vmlinux "$out/vmlinuz" "$out/vmlinux" "$sysroot"; then
        chmod 0644 "$out/vmlinux"
    else
        rm -f "$out/vmlinux"
    fi

    log "assembling the initramfs"
    ir=$work/initramfs
    mkdir -p "$ir"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,root,mnt/data,var/log,etc}
    chmod 1777 "$ir/tmp"
    chmod 0700 "$ir/root"
    ln -s ../run "$ir/var/run"
    install -m 0755 "$busybox" "$ir/bin/busybox"
    # One symlink per applet at its canonical path (sbin/init, bin/sh, ...);
    # all of them live in the directories made above. /init replaces linuxrc.
    local applet
    for applet in $("$busybox" --list-full); do
        case $applet in
            linuxrc | bin/busybox) continue ;;
        esac
        ln -s /bin/busybox "$ir/$applet"
    done
    install_qemu_ga "$sysroot" "$ir"

    local moddir=$sysroot/lib/modules/$kv modfiles modfile
    : >"$ir/etc/modules"
    modfiles=$(module_closure "$sysroot" "$kv" "$busybox" "$ir/etc/modules") \
        || die "cannot resolve the kernel modules ${GUEST_MODULES[*]}"
    for modfile in $modfiles; do
        install -D -m 0644 "$moddir/$modfile" "$ir/lib/modules/$kv/$modfile"
    done
    install -D -m 0644 "$moddir/modules.builtin" \
        "$ir/lib/modules/$kv/modules.builtin"
    "$busybox" depmod -b "$ir" "$kv" || die "busybox depmod failed on the initramfs"

    # Our files last, so they win over applet links (e.g. /init vs linuxrc).
    # Modes are set here because git only tracks the executable bit.
    local f
    (cd "$ROOTFS_SRC" && find . -type f) | while read -r f; do
        f=${f#./}
        rm -f "$ir/$f"
        if [ "$(head -c 2 "$ROOTFS_SRC/$f")" = '#!' ]; then
            install -D -m 0755 "$ROOTFS_SRC/$f" "$ir/$f"
        elif [ "$f" = etc/shadow ]; then
            install -D -m 0600 "$ROOTFS_SRC/$f" "$ir/$f"
        else
            install -D -m 0644 "$ROOTFS_SRC/$f" "$ir/$f"
        fi
    done
    [ -x "$ir/init" ] || die "rootfs/init is missing or not a script"

    # busybox cpio: no cpio package on the host, and -R 0:0 makes every file
    # root-owned in the guest without building as root.
    (cd "$ir" && find . | LC_ALL=C sort \
        | "$busybox" cpio -o -H newc -R 0:0 --renumber-inodes --ignore-devno \
            2>/dev/null) | gzip -n -6 >"$out/initrd.img" \
        || die "packing the initramfs failed"
    chmod 0644 "$out/initrd.img"

    log "making the data disk"
    mkdir -p "$work/disk-root"
    echo "virtgrpc test guest data disk" >"$work/disk-root/virtgrpc-guest-data"
    truncate -s "$DISK_SIZE" "$work/disk.raw"
    mkfs.ext4 -q -F -L "$DISK_LABEL" -U "$DISK_UUID" -d "$work/disk-root" \
        "$work/disk.raw" >&2 || die "mkfs.ext4 failed"
    qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$out/disk.qcow2" \
        || die "qemu-img convert failed"
    chmod 0644 "$out/disk.qcow2"

    echo "$packages" >"$out/packages.txt"
    chmod 0644 "$out/packages.txt"
}

# Prints the guest.env lines for an output directory.
env_lines() {
    local out=$1 key=$2 kernel=$1/vmlinuz
    [ -f "$out/vmlinux" ] && kernel=$out/vmlinux
    echo "KERNEL=$kernel"
    echo "KERNEL_BZIMAGE=$out/vmlinuz"
    echo "INITRD=$out/initrd.img"
    echo "DISK=$out/disk.qcow2"
    echo "GUEST_KEY=$key"
}

# libvirt's QEMU runs as an unprivileged user (qemu.conf 'user', default
# libvirt-qemu). With dynamic_ownership libvirt chowns the files themselves
# while a domain runs, but never the directories: each one on the path must
# be searchable by that user.
check_qemu_access() {
    local dir=$1 user=libvirt-qemu conf=/etc/libvirt/qemu.conf configured
    if [ -r "$conf" ]; then
        configured=$(sed -n 's/^[[:space:]]*user[[:space:]]*=[[:space:]]*"\(.*\)".*/\1/p' "$conf" | tail -n1)
        [ -z "$configured" ] || user=$configured
    fi
    case $user in
        root | +0 | 0) return 0 ;;
    esac
    if [ "$(id -u)" -ne 0 ] || ! id "$user" >/dev/null 2>&1; then
        return 0
    fi
    runuser -u "$user" -- test -x "$dir" \
        || die "libvirt's QEMU user '$user' cannot reach '$dir': make it and every directory above it searchable (o+x), or set VG_GUEST_CACHE"
}

# The temporary build directory; global so the EXIT trap can see it.
build_dir=

main() {
    local start_ns packages key out tool
    start_ns=$(date +%s%N)
    umask 022
    check_cache_path
    for tool in apt-get apt-cache dpkg-deb qemu-img mkfs.ext4 flock gzip sha256sum; do
        command -v "$tool" >/dev/null || die "'$tool' not found on PATH"
    done
    [ -d "$ROOTFS_SRC" ] || die "missing $ROOTFS_SRC"

    mkdir -p "$CACHE/debs" || die "cannot create cache dir '$CACHE' (set VG_GUEST_CACHE)"
    # Checked before building: the outputs go into 0755 directories below it.
    check_qemu_access "$CACHE"
    exec 9>>"$CACHE/.lock"
    flock -w "$LOCK_TIMEOUT_S" 9 \
        || die "another build-guest.sh held $CACHE/.lock for ${LOCK_TIMEOUT_S} s"

    ensure_apt_lists
    packages=$(resolve_packages)
    key=$(compute_key "$packages")
    out=$CACHE/guest-${key:0:16}

    if [ -f "$out/.complete" ] && [ "${VG_GUEST_FORCE:-0}" != 1 ]; then
        log "up to date ($out)"
    else
        # Only the lock holder builds, so any leftover build dir is stale.
        rm -rf "$CACHE"/tmp.*
        build_dir=$(mktemp -d "$CACHE/tmp.XXXXXX")
        trap 'rm -rf "$build_dir"' EXIT
        build "$packages" "$build_dir" "$build_dir/out"
        touch "$build_dir/out/.complete"
        rm -rf "$out"
        mv "$build_dir/out" "$out"
        rm -rf "$build_dir"
        trap - EXIT

        # Drop earlier builds and .debs no longer referenced. A running QEMU
        # keeps its open backing file, but overlays made from an earlier
        # build cannot be started again: tests make a fresh overlay each.
        local d f pv keep=" "
        for d in "$CACHE"/guest-*; do
            [ "$d" = "$out" ] || rm -rf "$d"
        done
        for pv in $packages; do
            keep+="$(deb_path "$pv") "
        done
        for f in "$CACHE"/debs/*.deb; do
            [[ $keep == *" $f "* ]] || rm -f "$f"
        done
        log "built $out in $((($(date +%s%N) - start_ns) / 1000000)) ms"
    fi

    env_lines "$out" "$key" >"$CACHE/guest.env.tmp"
    mv "$CACHE/guest.env.tmp" "$CACHE/guest.env"
    cat "$CACHE/guest.env"
}

main "$@"
