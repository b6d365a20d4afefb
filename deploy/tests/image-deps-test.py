#!/usr/bin/python3
"""Bazel test (//deploy:image-deps-test): the container image's package lists match
what virtgrpcd really needs, without building the image (CI has no Docker engine).

    image-deps-test.py VIRTGRPCD DOCKERFILE SETUP_HOST_SH

1. Every library virtgrpcd links directly (ELF NEEDED) belongs to a package named in
   the final stage's `apt-get install` (libc6 aside: Essential, in every Debian image);
   every library of the whole `ldd` closure belongs to one of those packages, to their
   Depends closure or to an Essential package; and every package named there holds at
   least one of those libraries (the final stage has runtime libraries only).
2. Every package bazel/setup-host.sh installs is in the build stage, unless it is known
   to serve only the tests, the QEMU suite, the examples or deploy's own checks.
3. The check itself fails, naming the library, on a Dockerfile without libuv1.

Library -> package comes from `dpkg -S` on this Debian 12 machine, dependencies from
its dpkg database (the image uses the same Debian release).
"""
import os
import re
import subprocess
import sys

# Packages of bazel/setup-host.sh that building virtgrpcd does not need: tests, the
# QEMU suite, the examples, deploy's checks, and the client side (the image holds only
# the server: doxygen for the client's API docs, json-c for the CLI), and the fuzzer's
# clang + libFuzzer.
NOT_FOR_BUILD = {
    "doxygen", "libjson-c-dev", "clang", "libclang-rt-14-dev",
    "libgtest-dev", "libgmock-dev", "libgrpc++-dev", "protobuf-compiler-grpc",
    "libpng-dev", "valgrind", "libvirt-daemon-system", "libvirt-clients",
    "qemu-system-x86", "qemu-utils", "dnsmasq-base", "python3-grpcio",
    "python3-protobuf", "nodejs", "npm", "kubernetes-client", "systemd", "openssl",
}


def run(*argv):
    return subprocess.run(argv, check=False, capture_output=True, text=True).stdout


def stage_packages(dockerfile_text, which):
    """Packages of the `apt-get install` commands in the first or last stage."""
    stages = []
    logical = ""
    for raw in dockerfile_text.splitlines():
        if raw.lstrip().startswith("#"):
            continue  # Docker drops comment lines, also inside a continued instruction.
        line = raw
        if re.match(r"^FROM\s", line):
            stages.append([])
        continued = line.rstrip().endswith("\\")
        logical += " " + line.rstrip().rstrip("\\")
        if not continued:
            if stages:
                stages[-1].append(logical)
            logical = ""
    packages = []
    for instruction in stages[0 if which == "first" else -1]:
        for command in re.split(r"&&|;", instruction):
            words = command.split()
            if "apt-get" in words and "install" in words:
                packages += [w for w in words[words.index("install") + 1:]
                             if not w.startswith("-")]
    return packages


def library_paths(binary):
    """{soname: path} of ldd's closure, and the sonames linked directly."""
    closure = {}
    for line in run("ldd", binary).splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m:
            closure[m.group(1)] = m.group(2)
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", run("readelf", "-d", binary))
    return closure, needed


def owners(paths):
    """{path: package}. Debian 12 is usr-merged but dpkg records the path a package
    shipped: ask for the resolved path with and without /usr, in one dpkg -S."""
    asked = {}
    for path in paths:
        real = os.path.realpath(path)
        bare = real[4:] if real.startswith("/usr/") else real
        asked["/usr" + bare] = path
        asked[bare] = path
    result = {}
    for line in run("dpkg", "-S", *asked).splitlines():
        package, _, file = line.partition(": ")
        if file in asked:
            result[asked[file]] = package.split(":")[0]
    return result


def package_db():
    """{package: (essential, [[alternative, ...], ...])} of installed packages."""
    db = {}
    out = run("dpkg-query", "-W",
              "-f=${Package}\t${Status}\t${Essential}\t${Depends}, ${Pre-Depends}\n")
    for line in out.splitlines():
        package, status, essential, depends = line.split("\t")
        if not status.endswith(" installed"):
            continue
        groups = []
        for group in depends.split(","):
            alternatives = [re.sub(r"\(.*\)|:any|\s", "", a) for a in group.split("|")]
            alternatives = [a for a in alternatives if a]
            if alternatives:
                groups.append(alternatives)
        db[package] = (essential == "yes", groups)
    return db


def depends_closure(packages, db):
    seen, queue = set(), list(packages)
    while queue:
        package = queue.pop()
        if package in seen or package not in db:
            continue
        seen.add(package)
        for alternatives in db[package][1]:
            queue += [next((a for a in alternatives if a in db), alternatives[0])]
    return seen


def check_runtime(dockerfile_text, closure, needed, owner, db):
    """Failure messages; none when the final stage fits the binary."""
    failures = []
    listed = set(stage_packages(dockerfile_text, "last"))
    if not listed:
        return ["no 'apt-get install' in the final stage"]
    arriving = depends_closure(listed, db)
    used = set()
    for soname in needed:
        path = closure.get(soname)
        package = owner.get(path)
        if package is None:
            failures.append(f"no package owns {soname} ({path})")
            continue
        used.add(package)
        if package not in listed and package != "libc6":
            failures.append(f"virtgrpcd links {soname} ({path}, package {package}), "
                            "not in the final stage's apt-get install")
    for soname, path in sorted(closure.items()):
        package = owner.get(path)
        if package is None:
            failures.append(f"no package owns {soname} ({path})")
            continue
        used.add(package)
        if package not in arriving and not db.get(package, (False,))[0]:
            failures.append(f"{soname} ({package}) is loaded by virtgrpcd, but no "
                            "package of the final stage depends on it")
    for package in sorted(listed - used):
        failures.append(f"the final stage installs {package}, which holds no library "
                        "virtgrpcd loads")
    return failures


def main():
    binary, dockerfile, setup_host = sys.argv[1:4]
    text = open(dockerfile).read()
    closure, needed = library_paths(binary)
    owner = owners(closure.values())
    db = package_db()
    failed = False

    print(f"== final stage of {dockerfile} vs ldd {binary}")
    failures = check_runtime(text, closure, needed, owner, db)
    for message in failures:
        print("FAIL:", message)
    if not failures:
        print(f"ok: {' '.join(stage_packages(text, 'last'))} cover all "
              f"{len(closure)} libraries ({len(needed)} linked directly)")
    failed |= bool(failures)

    print(f"== build stage vs {setup_host}")
    body = re.search(r"^packages=\((.*?)^\)", open(setup_host).read(), re.S | re.M)
    setup = re.sub(r"#.*", "", body.group(1)).split() if body else []
    build = set(stage_packages(text, "first"))
    missing = [p for p in setup if p not in build and p not in NOT_FOR_BUILD]
    for package in missing:
        print(f"FAIL: {setup_host} installs {package}, the build stage does not (add it "
              f"there, or to NOT_FOR_BUILD in {sys.argv[0]} if only tests need it)")
    if not setup:
        print(f"FAIL: no packages=( ... ) list in {setup_host}")
    elif not missing:
        print(f"ok: the build stage has all {len(setup) - len(NOT_FOR_BUILD & set(setup))}"
              " build packages of setup-host.sh")
    failed |= bool(missing) or not setup

    print("== the check fails on a Dockerfile without libuv1")
    broken = re.sub(r"^\s*libuv1 \\\n", "", text, flags=re.M)
    failures = check_runtime(broken, closure, needed, owner, db)
    if broken == text or not any("libuv.so.1" in f for f in failures):
        print("FAIL: the check did not name libuv.so.1:", failures)
        failed = True
    else:
        print("ok:", next(f for f in failures if "libuv.so.1" in f))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
