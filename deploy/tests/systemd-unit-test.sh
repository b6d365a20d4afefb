#!/usr/bin/env bash
# Bazel test (//deploy:systemd-unit-test): deploy/systemd/ is a unit systemd accepts.
#
#   systemd-unit-test.sh VIRTGRPCD UNIT SYSUSERS CONFIG
#
# - `systemd-analyze verify` (Debian's systemd) prints nothing for the unit, with
#   ExecStart= pointed at the real binary (verify checks that it is executable); it only
#   warns on unknown keys and bad values and still exits 0, so any output is a failure,
#   and a unit with a misspelt key must produce output (the check can fail);
# - `systemd-analyze security --offline` rates its exposure 2.0 or better (0 = locked
#   down, 10 = nothing restricted);
# - systemd-sysusers creates the User= and Group= the unit runs as, in 'libvirt';
# - every Unix socket of the example config lies in the unit's RuntimeDirectory=, and
#   ExecStart= reads the config from where the other deployments put it.
set -euo pipefail

binary=$(readlink -f "$1")
unit=$2
sysusers=$3
config=$4
work=${TEST_TMPDIR:-$(mktemp -d)}
failed=0

fail() {
    echo "FAIL: $*"
    failed=1
}

key() {
    sed -n "s/^$1=//p" "$unit" | tail -n1
}

mkdir -p "$work/units"
sed "s|^ExecStart=/usr/local/sbin/virtgrpcd |ExecStart=$binary |" "$unit" >"$work/units/virtgrpcd.service"
grep -q "^ExecStart=$binary " "$work/units/virtgrpcd.service" ||
    fail "ExecStart= does not start /usr/local/sbin/virtgrpcd"

echo "== systemd-analyze verify"
if ! out=$(cd "$work/units" && systemd-analyze verify "$work/units/virtgrpcd.service" 2>&1) || [ -n "$out" ]; then
    fail "systemd-analyze verify: $out"
else
    echo "ok: no warning"
fi
sed 's/^ProtectSystem=/ProtectSystm=/' "$work/units/virtgrpcd.service" >"$work/units/typo.service"
out=$(cd "$work/units" && { systemd-analyze verify "$work/units/typo.service" 2>&1 || true; })
case "$out" in
*"Unknown key 'ProtectSystm'"*) echo "ok: a misspelt key is reported: $out" ;;
*) fail "a misspelt key went unnoticed: '$out'" ;;
esac

echo "== systemd-analyze security"
if ! out=$(systemd-analyze security --offline=yes --no-pager --threshold=20 "$work/units/virtgrpcd.service" 2>&1); then
    fail "exposure above 2.0: $(echo "$out" | grep -E 'Overall|✗')"
else
    echo "ok: $(echo "$out" | grep 'Overall')"
fi

echo "== systemd-sysusers"
mkdir -p "$work/root/etc"
systemd-sysusers --root="$work/root" - <"$sysusers" >"$work/sysusers.log" 2>&1
user=$(key User)
group=$(key Group)
grep -q "^$user:" "$work/root/etc/passwd" || fail "sysusers creates no user '$user'"
grep -q "^$group:" "$work/root/etc/group" || fail "sysusers creates no group '$group'"
for g in $(key SupplementaryGroups); do
    grep -Eq "^$g:.*[:,]$user(,|\$)" "$work/root/etc/group" || fail "sysusers does not put '$user' in '$g'"
done
[ "$failed" -eq 0 ] && echo "ok: $(grep "^$user:" "$work/root/etc/passwd")"

echo "== unit vs $config"
runtime=/run/$(key RuntimeDirectory)
sockets=$(sed -n 's/^address *= *unix://p' "$config")
[ -n "$sockets" ] || fail "no unix: listener in $config"
for s in $sockets; do
    [ "$(dirname "$s")" = "$runtime" ] || fail "socket $s is outside RuntimeDirectory $runtime"
done
grep -q '^ExecStart=.* --config /etc/virtgrpc/virtgrpcd.conf' "$unit" ||
    fail "ExecStart= does not read /etc/virtgrpc/virtgrpcd.conf"
[ "$failed" -eq 0 ] && echo "ok: sockets $(echo "$sockets" | tr '\n' ' ')in $runtime"

exit "$failed"
