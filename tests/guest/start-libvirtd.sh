#!/usr/bin/env bash
# Starts virtlogd and libvirtd (system mode, daemonized) for the QEMU test
# suite on a machine without systemd, and waits until qemu:///system answers.
# A daemon that is already running is left alone, however it was started, and
# nothing started here is ever stopped: the script is idempotent and safe to
# run concurrently.
#
# Usage: tests/guest/start-libvirtd.sh
# Environment: VG_LIBVIRTD_TIMEOUT_S (default 30), seconds to wait for
# libvirtd to answer.
set -euo pipefail

readonly URI=qemu:///system
readonly TIMEOUT_S=${VG_LIBVIRTD_TIMEOUT_S:-30}
readonly LOG_DIR=/var/log/libvirt
# Without systemd nothing collects the daemons' stderr or syslog; errors and
# warnings go to these files instead.
readonly LIBVIRTD_LOG=$LOG_DIR/libvirtd.log
readonly VIRTLOGD_LOG=$LOG_DIR/virtlogd.log

die() {
    echo "start-libvirtd: error: $*" >&2
    exit 1
}

log() {
    echo "start-libvirtd: $*" >&2
}

# True when a process of ours (root) with exactly this name runs, however it
# was started. Reads /proc directly: no procps needed, and a command line
# that merely mentions the name ("virsh ... libvirtd") does not match.
is_running() {
    local comm name
    for comm in /proc/[0-9]*/comm; do
        [ -O "${comm%/comm}" ] || continue
        read -r name 2>/dev/null <"$comm" || continue
        [ "$name" = "$1" ] && return 0
    done
    return 1
}

libvirtd_answers() {
    virsh -c "$URI" version >/dev/null 2>&1
}

main() {
    [ "$(id -u)" -eq 0 ] || die "must run as root: qemu:///system is libvirtd's privileged mode"
    local tool
    for tool in libvirtd virtlogd virsh flock; do
        command -v "$tool" >/dev/null \
            || die "'$tool' not found; install libvirt-daemon-system and libvirt-clients (bazel/setup-host.sh)"
    done

    # The packages' systemd units or tmpfiles.d would create these.
    mkdir -p /run/libvirt "$LOG_DIR" /var/lib/libvirt/qemu /var/cache/libvirt/qemu

    # Two concurrent runs must not both start a daemon (the second would fail
    # on its pid file and log a confusing error). The daemons get "9>&-":
    # they would otherwise inherit the lock and hold it for their lifetime.
    exec 9>/run/virtgrpc-start-libvirtd.lock
    flock -w "$TIMEOUT_S" 9 || die "another start-libvirtd.sh held the lock for ${TIMEOUT_S} s"

    # virtlogd first: libvirtd does not need it to start, but every domain
    # start does ("Failed to connect socket to '/run/libvirt/virtlogd-sock'").
    if is_running virtlogd; then
        log "virtlogd already running"
    else
        log "starting virtlogd"
        LIBVIRT_LOG_OUTPUTS="3:file:$VIRTLOGD_LOG" virtlogd -d 9>&- \
            || die "virtlogd -d failed; see $VIRTLOGD_LOG"
    fi

    if is_running libvirtd; then
        log "libvirtd already running"
    else
        log "starting libvirtd"
        LIBVIRT_LOG_OUTPUTS="3:file:$LIBVIRTD_LOG" libvirtd -d 9>&- \
            || die "libvirtd -d failed; see $LIBVIRTD_LOG"
    fi

    # libvirtd -d returns once it has forked, before its socket is up.
    local deadline=$((SECONDS + TIMEOUT_S))
    until libvirtd_answers; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            die "'virsh -c $URI version' did not answer within ${TIMEOUT_S} s; see $LIBVIRTD_LOG"
        fi
        sleep 0.2
    done
    until [ -S /run/libvirt/virtlogd-sock ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            die "no /run/libvirt/virtlogd-sock within ${TIMEOUT_S} s; see $VIRTLOGD_LOG"
        fi
        sleep 0.2
    done
    log "libvirtd answers on $URI"
}

main "$@"
