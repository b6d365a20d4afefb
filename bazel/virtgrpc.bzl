"""Code generation for virtgrpc: protoc-c message code, and protoc-gen-virtgrpc's
server tables and typed client.

Every rule runs protoc once over all of the project's .proto files (//proto:protos, a
glob), so a new .proto file is picked up without touching a BUILD file. The .proto
root is proto/ (-Iproto); google/protobuf/*.proto come from Debian's protobuf headers
in /usr/include.
"""

# The directory the project's .proto files live under, and import paths are relative to.
_PROTO_ROOT = "proto"

_SYSTEM_PROTO_ROOT = "/usr/include"

# Well-known types compiled with protoc-c besides the project's files, so that any
# project file may import them. descriptor.proto: options.proto extends it. any.proto:
# google/rpc/status.proto. The rest are cheap and save a BUILD edit on first use.
WELL_KNOWN_PROTOS = [
    "google/protobuf/any.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/wrappers.proto",
]

# Services whose handlers never block and run on the completion-queue thread.
INLINE_SERVICES = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
]

# Standard services (their .proto files carry no virtgrpc options) that every caller
# with a role may use; every other RPC declares `option (virtgrpc.v1.role)`.
READ_ONLY_SERVICES = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
]

_PLUGIN = "//bazel/codegen:protoc-gen-virtgrpc"

_PROTOC_INCLUDES = "-I%s -I%s" % (_PROTO_ROOT, _SYSTEM_PROTO_ROOT)

def _strip_proto(path):
    if not path.endswith(".proto"):
        fail("not a .proto file: " + path)
    return path[:-len(".proto")]

def vg_proto_c_library(name, srcs, well_known = WELL_KNOWN_PROTOS, visibility = None):
    """protoc-c output for `srcs` and `well_known` as one cc_library.

    Use in the package at _PROTO_ROOT. Dependents include the headers by their import
    path: #include "virtgrpc/v1/domain.pb-c.h".

    Args:
      name: the cc_library.
      srcs: the project's .proto files, package-relative (glob(["**/*.proto"])); the
        generated files' names are derived from them.
      well_known: google/protobuf/*.proto files (found in /usr/include) to compile too.
      visibility: of the cc_library.
    """
    if native.package_name() != _PROTO_ROOT:
        fail("vg_proto_c_library must be used in //%s" % _PROTO_ROOT)
    stems = [_strip_proto(src) for src in srcs + well_known]
    hdrs = [stem + ".pb-c.h" for stem in stems]
    c_srcs = [stem + ".pb-c.c" for stem in stems]
    native.genrule(
        name = name + "_gen",
        srcs = srcs,
        outs = hdrs + c_srcs,
        cmd = "protoc-c --c_out=$(RULEDIR) %s $(SRCS) %s" % (
            _PROTOC_INCLUDES,
            " ".join(well_known),
        ),
        message = "protoc-c: generating the message code",
    )
    native.cc_library(
        name = name,
        srcs = c_srcs,
        hdrs = hdrs,
        strip_include_prefix = "/" + _PROTO_ROOT,
        deps = ["//bazel:protobuf_c"],
        visibility = visibility,
    )

def vg_descriptor_set(name, srcs, visibility = None):
    """A FileDescriptorSet of `srcs` with their imports and comments, in `<name>.protoset`.

    Args:
      name: the genrule.
      srcs: the .proto files.
      visibility: of the genrule.
    """
    native.genrule(
        name = name,
        srcs = srcs,
        outs = [name + ".protoset"],
        cmd = ("protoc --descriptor_set_out=$@ --include_imports --include_source_info " +
               "%s $(SRCS)") % _PROTOC_INCLUDES,
        message = "protoc: writing the descriptor set",
        visibility = visibility,
    )

def vg_proto_cc_library(name, srcs, visibility = None):
    """C++ messages and grpc++ stubs for `srcs` as one cc_library, for tests that talk to
    the server through an independent client (or stand in for it).

    Use in the package at _PROTO_ROOT. Dependents include "virtgrpc/v1/domain.pb.h",
    "grpc/health/v1/health.grpc.pb.h". The well-known types come with libprotobuf.

    Args:
      name: the cc_library.
      srcs: the project's .proto files, package-relative.
      visibility: of the cc_library.
    """
    if native.package_name() != _PROTO_ROOT:
        fail("vg_proto_cc_library must be used in //%s" % _PROTO_ROOT)
    stems = [_strip_proto(src) for src in srcs]
    hdrs = [stem + suffix for stem in stems for suffix in [".pb.h", ".grpc.pb.h"]]
    cc_srcs = [stem + suffix for stem in stems for suffix in [".pb.cc", ".grpc.pb.cc"]]
    native.genrule(
        name = name + "_gen",
        srcs = srcs,
        outs = hdrs + cc_srcs,
        cmd = ("protoc --cpp_out=$(RULEDIR) --grpc_out=$(RULEDIR) " +
               "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin %s $(SRCS)") % _PROTOC_INCLUDES,
        message = "protoc: generating C++ messages and grpc++ stubs",
    )
    native.cc_library(
        name = name,
        srcs = cc_srcs,
        hdrs = hdrs,
        strip_include_prefix = "/" + _PROTO_ROOT,
        deps = ["//bazel:grpcpp"],
        visibility = visibility,
    )

def vg_codegen_genrule(name, option, outs, protos = "//proto:protos"):
    """Runs protoc-gen-virtgrpc with parameter `option` over `protos`, into the calling
    package. The building block of vg_server_codegen and vg_client_codegen; use it
    directly only to test the plugin.

    Args:
      name: the genrule.
      option: the plugin parameter, e.g. "mode=client".
      outs: the files that mode writes (all of them).
      protos: a filegroup of every .proto file.
    """
    native.genrule(
        name = name,
        srcs = [protos],
        outs = outs,
        tools = [_PLUGIN],
        cmd = ("protoc --plugin=protoc-gen-virtgrpc=$(location %s) " +
               "--virtgrpc_out=$(RULEDIR) --virtgrpc_opt=%s %s $(locations %s)") % (
            _PLUGIN,
            option,
            _PROTOC_INCLUDES,
            protos,
        ),
        message = "protoc-gen-virtgrpc: generating " + ", ".join(outs),
    )

def vg_server_codegen(
        name,
        protos = "//proto:protos",
        inline_services = INLINE_SERVICES,
        read_only_services = READ_ONLY_SERVICES,
        server_hdrs = ["transport/method.h", "enum-map.h"],
        visibility = None):
    """The server's generated code as one cc_library: vg-methods.{h,c} (handler
    prototypes + vg_methods[]), vg-enums.{h,c} (libvirt enum maps) and
    vg-descriptors.{h,c} (reflection data). Dependents include "vg-methods.h" etc.

    The library leaves the vgh_* handlers undefined: the server's own library defines
    them, and a binary links both.

    Args:
      name: the cc_library ("generated" in //server).
      protos: a filegroup of every .proto file to serve.
      inline_services: fully-qualified services whose handlers run inline.
      read_only_services: fully-qualified standard services without role options,
        callable with ROLE_READ_ONLY.
      server_hdrs: package-relative paths of server/transport/method.h and
        server/enum-map.h, which the generated code includes as "server/...".
      visibility: of the cc_library.
    """
    outs = [
        "vg-methods.h",
        "vg-methods.c",
        "vg-enums.h",
        "vg-enums.c",
        "vg-descriptors.h",
        "vg-descriptors.c",
    ]
    option = "mode=server"
    if inline_services:
        option += ",inline=" + ":".join(inline_services)
    if read_only_services:
        option += ",read_only=" + ":".join(read_only_services)
    vg_codegen_genrule(name + "_gen", option, outs, protos)
    native.cc_library(
        name = name,
        srcs = [out for out in outs if out.endswith(".c")] + server_hdrs,
        hdrs = [out for out in outs if out.endswith(".h")],
        strip_include_prefix = "/" + native.package_name(),
        deps = [
            "//bazel:libvirt",
            "//bazel:protobuf_c",
            "//proto:pb_c",
        ],
        visibility = visibility,
    )

def vg_client_codegen(name, protos = "//proto:protos"):
    """vg-client-gen.h / vg-client-gen.c (one typed vgc_* function per RPC) in the
    calling package, as the genrule `name`; the caller compiles them into its library.

    Args:
      name: the genrule.
      protos: a filegroup of every .proto file.
    """
    vg_codegen_genrule(name, "mode=client", ["vg-client-gen.h", "vg-client-gen.c"], protos)
