#!/usr/bin/env bash
# Proves the test guest works on this host, with virsh only (no virtgrpc):
# starts libvirtd, builds the guest, boots one domain from the template and
# checks the serial banner, the agent, the hostname, ACPI and agent shutdown,
# and agent and ACPI reboot. Prints timings. The domain and its files are
# removed on exit, whatever happens; libvirtd is left running.
#
# Usage: tests/guest/smoke-virsh.sh   (as root)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly URI=qemu:///system
readonly HOSTNAME_EXPECTED=vg-guest
readonly BANNER=VIRTGRPC-GUEST-READY
# Deadlines, seconds. Boot takes ~4 s and a reboot ~6 s under TCG on 2 cores;
# these leave room for a loaded CI host.
readonly BOOT_TIMEOUT_S=60
readonly SHUTDOWN_TIMEOUT_S=60

name=vg-smoke-$$
dir=
logfile=

die() {
    echo "smoke-virsh: FAIL: $*" >&2
    exit 1
}

log() {
    echo "smoke-virsh: $*" >&2
}

v() {
    virsh -q -c "$URI" "$@"
}

cleanup() {
    if [ -n "$dir" ]; then
        v destroy "$name" >/dev/null 2>&1 || true
        v undefine "$name" --managed-save --snapshots-metadata --nvram \
            >/dev/null 2>&1 || true
        rm -rf "$dir"
    fi
}

now() {
    echo "$EPOCHREALTIME"
}

elapsed() {
    awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'
}

# wait_until TIMEOUT_S WHAT COMMAND...: polls COMMAND every 50 ms until it
# succeeds, failing the test after TIMEOUT_S seconds.
wait_until() {
    local timeout=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "no $what within ${timeout} s"
        sleep 0.05
    done
}

banner_count_at_least() {
    [ "$(grep -c "$BANNER" "$logfile" 2>/dev/null)" -ge "$1" ]
}

agent_answers() {
    v qemu-agent-command "$name" '{"execute":"guest-ping"}'
}

is_shut_off() {
    [ "$(v domstate "$name")" = "shut off" ]
}

# wait_ready START BANNERS: waits for the BANNERS-th ready banner in the
# serial log, then for the agent; prints "banner-seconds agent-seconds",
# both counted from START.
wait_ready() {
    local start=$1 banners=$2 t_banner
    wait_until "$BOOT_TIMEOUT_S" "ready banner #$banners in $logfile" \
        banner_count_at_least "$banners"
    t_banner=$(elapsed "$start")
    wait_until "$BOOT_TIMEOUT_S" "guest-ping answer" agent_answers
    echo "$t_banner $(elapsed "$start")"
}

main() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (qemu:///system)"
    "$SCRIPT_DIR/start-libvirtd.sh"

    local t
    t=$(now)
    "$SCRIPT_DIR/build-guest.sh" >/dev/null
    log "build-guest.sh: $(elapsed "$t") s"

    trap cleanup EXIT
    dir=$(mktemp -d /tmp/vg-smoke.XXXXXX)
    # mktemp makes it 0700; libvirt-qemu must reach the overlay inside.
    chmod 0755 "$dir"
    local key value xml=
    while IFS='=' read -r key value; do
        case $key in
            XML) xml=$value ;;
            LOGFILE) logfile=$value ;;
        esac
    done < <("$SCRIPT_DIR/make-domain.sh" "$name" "$dir")
    if [ -z "$xml" ] || [ -z "$logfile" ]; then
        die "make-domain.sh failed"
    fi
    v define "$xml" >/dev/null

    local times banner_s agent_s
    t=$(now)
    v start "$name" >/dev/null
    log "virsh start returned after $(elapsed "$t") s"
    times=$(wait_ready "$t" 1)
    read -r banner_s agent_s <<<"$times"
    log "boot: banner after $banner_s s, agent after $agent_s s"

    local host
    host=$(v domhostname "$name" --source agent)
    [ "$host" = "$HOSTNAME_EXPECTED" ] \
        || die "domhostname --source agent: got '$host', want '$HOSTNAME_EXPECTED'"
    log "domhostname --source agent: $host"

    t=$(now)
    v shutdown "$name" --mode acpi >/dev/null
    wait_until "$SHUTDOWN_TIMEOUT_S" "shut off state after ACPI shutdown" is_shut_off
    log "shutdown --mode acpi: shut off after $(elapsed "$t") s"

    # append='off': the log starts over with each QEMU process, but a guest
    # reboot keeps the process, so banners accumulate until the next start.
    t=$(now)
    v start "$name" >/dev/null
    times=$(wait_ready "$t" 1)
    read -r banner_s agent_s <<<"$times"
    log "second boot: agent after $agent_s s"

    t=$(now)
    v reboot "$name" >/dev/null
    times=$(wait_ready "$t" 2)
    read -r banner_s agent_s <<<"$times"
    log "reboot (default, agent): banner after $banner_s s, agent after $agent_s s"

    t=$(now)
    v reboot "$name" --mode acpi >/dev/null
    times=$(wait_ready "$t" 3)
    read -r banner_s agent_s <<<"$times"
    log "reboot --mode acpi: banner after $banner_s s, agent after $agent_s s"

    t=$(now)
    v shutdown "$name" --mode agent >/dev/null
    wait_until "$SHUTDOWN_TIMEOUT_S" "shut off state after agent shutdown" is_shut_off
    log "shutdown --mode agent: shut off after $(elapsed "$t") s"

    log "PASS"
}

main "$@"
