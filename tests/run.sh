#!/usr/bin/env bash
# Runs virtgrpc's test suites from a bare Debian 12 machine: installs what is missing
# (bazel/setup-host.sh), starts what the QEMU suite needs, then `bazel test`.
#
#   tests/run.sh          every suite below, one after the other (what CI runs)
#   tests/run.sh fast     the test-driver suite only (seconds; no libvirtd needed)
#   tests/run.sh qemu     the QEMU suite only (minutes; libvirtd + a tiny real guest)
#   tests/run.sh asan     both suites built with ASan + UBSan (--config=asan): any
#                         sanitizer report of a test or of the virtgrpcd it starts
#                         fails the test (tests tagged "unsanitized" need the normal
#                         binary: valgrind runs it, or the image check reads its
#                         libraries; they run in the normal suites only)
#   tests/run.sh fuzz     dispatch-fuzz: a bounded libFuzzer run over every RPC's
#                         decoding, validation and handler (clang, --config=fuzz)
#
# Extra arguments after the suite go to `bazel test`. VG_OUTPUT_BASE=DIR builds in that
# Bazel output base (the fuzz suite, built by clang, uses DIR-fuzz beside it).
set -euo pipefail

cd "$(dirname "$0")/.."
suite=${1:-all}
shift || true

case "$suite" in
fast | qemu | asan | fuzz | all) ;;
*)
    echo "usage: tests/run.sh [fast|qemu|asan|fuzz|all] [bazel test options]" >&2
    exit 2
    ;;
esac

bash bazel/setup-host.sh

if [ "$suite" != fast ] && [ "$suite" != fuzz ] && [ -x tests/guest/start-libvirtd.sh ]; then
    bash tests/guest/start-libvirtd.sh
    bash tests/guest/build-guest.sh >/dev/null
fi

bazel=(bazel ${VG_OUTPUT_BASE:+"--output_base=$VG_OUTPUT_BASE"})

run_normal() {
    "${bazel[@]}" test "$@" //...
}

# The asan build lives beside the normal one in the same output base: --platform_suffix
# (.bazelrc) gives it its own output directory, so neither invalidates the other.
run_asan() {
    # Absolute: the tests and the servers they start run in different directories.
    LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0" \
        "${bazel[@]}" test --config=asan --test_tag_filters=-unsanitized --build_tests_only \
        "$@" //...
}

run_fuzz() {
    local base=${VG_OUTPUT_BASE:-$("${bazel[@]}" info output_base)}
    # No convenience symlinks: bazel-<checkout> would point into the fuzz output base,
    # where the normal one no longer recognises it as its own and loads it as a package.
    bazel --output_base="$base-fuzz" test --config=fuzz --symlink_prefix=/ "$@" \
        //tests/fuzz:dispatch-fuzz-test
}

# CI keeps only the end of what a run prints, and a full run prints thousands of lines, so
# each suite's output is also kept (in $outputs, made by the "all" case) and the run ends
# with what failed: the suites, their failed tests, and the failure lines of each log.
timed() {
    local name=$1 start=$SECONDS status
    shift
    set +e
    "$@" 2>&1 | tee "$outputs/$name"
    status=${PIPESTATUS[0]}
    set -e
    echo "tests/run.sh: suite '$name' $([ "$status" -eq 0 ] && echo passed || echo FAILED)" \
        "in $((SECONDS - start)) s" | tee -a "$outputs/summary"
    return "$status"
}

# Bazel prints "FAIL: //pkg:test (see /path/to/test.log)" (or TIMEOUT:) for every failed
# attempt, flaky retries included.
failed_test_logs() {
    sed 's/\x1b\[[0-9;]*m//g' "$outputs/$1" |
        sed -n -E 's/^(FAIL|TIMEOUT): (\S+) .*\(see (\S+)\)$/\1 \2 \3/p'
}

# What a test log shows when a test failed: gtest's assertion, a sanitizer's report.
failure_lines=': Failure$|ERROR: (Address|Leak)Sanitizer|runtime error:'

print_summary() {
    local name verdict target log
    echo
    echo "tests/run.sh: summary"
    cat "$outputs/summary"
    for name in normal asan fuzz; do
        [ -f "$outputs/$name" ] || continue
        while read -r verdict target log; do
            echo
            echo "== $name: $verdict $target ($log)"
            [ -f "$log" ] || continue
            # The assertion that failed and its context, or a sanitizer report, or the
            # end of the log when the test died without either (a timeout, a crash).
            if grep -q -E "$failure_lines" "$log"; then
                grep -E -A8 "$failure_lines" "$log" | head -60
            else
                tail -30 "$log"
            fi
        done < <(failed_test_logs "$name")
    done
}

case "$suite" in
fast) exec "${bazel[@]}" test --test_tag_filters=-qemu "$@" //... ;;
qemu) exec "${bazel[@]}" test --test_tag_filters=qemu "$@" //... ;;
asan) run_asan "$@" ;;
fuzz) run_fuzz "$@" ;;
all)
    # Every suite runs even when an earlier one failed; the exit status says if any did.
    outputs=$(mktemp -d)
    trap 'rm -rf "$outputs"' EXIT
    failed=0
    timed normal run_normal "$@" || failed=1
    timed asan run_asan "$@" || failed=1
    timed fuzz run_fuzz "$@" || failed=1
    print_summary
    exit "$failed"
    ;;
esac
