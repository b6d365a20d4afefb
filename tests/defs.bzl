"""How virtgrpc's tests are built: every integration test and every QEMU test links the
same support code and carries the same tags, so the rules say it once."""

# Every integration and QEMU test starts the real virtgrpcd (VirtgrpcdProcess), shares
# the ServerTest fixture and calls it through grpc++ stubs.
_COMMON_DEPS = [
    ":server-test",
    ":virtgrpcd-process",
    "//bazel:grpcpp",
    "//bazel:gtest_main",
    "//proto:cc_grpc",
]

def _with_common(deps):
    return _COMMON_DEPS + [dep for dep in deps if dep not in _COMMON_DEPS]

def vg_integration_test(name, deps = [], size = "medium", data = []):
    """tests/integration/<name>.cc, against a fresh virtgrpcd on test:///default.

    Args:
      name: the test, and the file name without .cc.
      deps: support libraries beyond the common ones.
      size: Bazel's test size.
      data: files the test reads (from its runfiles).
    """
    native.cc_test(
        name = name,
        size = size,
        srcs = ["integration/%s.cc" % name],
        data = data,
        tags = ["integration"],
        deps = _with_common(deps),
    )

def vg_qemu_test(name, deps = [], tags = [], flaky = False):
    """tests/qemu/<name>.cc, on a real QEMU guest (tests/guest/) through virtgrpcd.

    Tags: "qemu" selects the suite (tests/run.sh qemu); "local" runs it outside the
    sandbox, so libvirtd's QEMU reaches the overlays under /var/lib/libvirt/images and the
    test reaches libvirt's socket; "exclusive" keeps other tests off the two cores that
    TCG needs to boot a guest in seconds; "external" never caches a result, since the
    guest and libvirtd change without Bazel knowing.

    Args:
      name: the test, and the file name without .cc.
      deps: support libraries beyond the common ones and the guest fixture.
      tags: more tags, e.g. "unsanitized" for a test that runs the server under valgrind
        (which cannot run an ASan binary; the ASan suite leaves such tests out).
      flaky: Bazel runs a failed test up to three times; only for a failure of the guest
        or hypervisor that the test cannot control, named in a comment at the test.
    """
    native.cc_test(
        name = name,
        size = "large",
        srcs = ["qemu/%s.cc" % name],
        tags = ["exclusive", "external", "local", "qemu"] + tags,
        flaky = flaky,
        data = [
            "//server:virtgrpcd",
            "//tests/guest:domain-files",
        ],
        deps = _with_common([":qemu-guest"] + deps),
    )
