#!/usr/bin/env bash
# Runs Doxygen over the public headers with client/Doxyfile, where every warning is an
# error: an undocumented function, parameter, field or enum value fails. Then proves
# the check bites: one undocumented declaration added to a copy must fail it.
# Arguments (from BUILD): the Doxyfile, then the public headers.
set -euo pipefail

doxyfile=$1
shift
work=${TEST_TMPDIR:-$(mktemp -d)}

# run_doxygen OUTDIR HEADER...: 0 when Doxygen reports nothing.
run_doxygen() {
    local out=$1
    shift
    mkdir -p "$out"
    { cat "$doxyfile"; echo "INPUT = $*"; echo "OUTPUT_DIRECTORY = $out"; } >"$out/Doxyfile"
    doxygen "$out/Doxyfile" >"$out/log" 2>&1
}

if ! run_doxygen "$work/docs" "$@"; then
    cat "$work/docs/log" >&2
    echo "FAIL: Doxygen warns about the public headers (see above)" >&2
    exit 1
fi
[ -f "$work/docs/html/vg-client_8h.html" ] || { echo "FAIL: no HTML written" >&2; exit 1; }
grep -q vg_client_new "$work/docs/html/vg-client_8h.html" || {
    echo "FAIL: vg_client_new is not in the reference" >&2
    exit 1
}

mkdir -p "$work/undocumented"
cp "$@" "$work/undocumented/"
printf '/** @file extra.h\n * @brief A file with one undocumented function. */\nint vg_undocumented(int x);\n' \
    >"$work/undocumented/extra.h"
if run_doxygen "$work/undocumented-docs" "$work/undocumented"/*.h; then
    echo "FAIL: Doxygen accepted an undocumented function" >&2
    exit 1
fi
grep -q vg_undocumented "$work/undocumented-docs/log" || {
    cat "$work/undocumented-docs/log" >&2
    echo "FAIL: Doxygen failed for another reason than the undocumented function" >&2
    exit 1
}
echo "PASS: the public headers are fully documented"
