# Sourced by the example tests: starts virtgrpcd ($1) on test:///default on a free port and
# sets ADDR=127.0.0.1:PORT; the server is stopped when the sourcing script exits.
# The caller sets $work (a scratch directory) and reads $ADDR.
# shellcheck disable=SC2154,SC2034
start_virtgrpcd() {
    rm -f "$work/port"
    "$1" --connect=test:///default --listen=127.0.0.1:0 --port-file="$work/port" \
        >"$work/virtgrpcd.log" 2>&1 &
    server_pid=$!
    trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true' EXIT
    i=0
    while ! grep -qE '^[0-9]+$' "$work/port" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt 100 ] || ! kill -0 "$server_pid" 2>/dev/null; then
            echo "virtgrpcd did not start:" >&2
            cat "$work/virtgrpcd.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    ADDR=127.0.0.1:$(cat "$work/port")
}
