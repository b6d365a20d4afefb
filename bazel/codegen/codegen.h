// protoc-gen-virtgrpc: the pieces shared by the plugin's emitters.
//
// One protoc run hands the plugin every project .proto file at once; each emitter
// turns the whole set into one fixed pair of C files (vg-methods.*, vg-enums.*,
// vg-descriptors.*, vg-client-gen.*). Emitters build the text in memory and fail with a
// message naming the offending proto element, never with half-written output.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <google/protobuf/compiler/code_generator.h>
#include <google/protobuf/descriptor.h>

namespace vg_codegen {

namespace pb = google::protobuf;

// The package whose names are used unprefixed in generated C names: the project's own
// API. Every other package (grpc.health.v1, ...) keeps its full name as a prefix.
inline constexpr const char *kProjectPackage = "virtgrpc.v1";

// The parsed plugin parameter ("mode=server,inline=a.B:c.D,read_only=a.B" or
// "mode=client").
struct Options {
    std::string mode;
    std::set<std::string> inline_services;
    // Services defined outside the project (grpc.health.v1, reflection) whose .proto
    // files are standard and carry no (virtgrpc.v1.role): every caller with a role may
    // call them.
    std::set<std::string> read_only_services;
};

// The files protoc asked for, and every file they import, dependencies first.
struct Request {
    std::vector<const pb::FileDescriptor *> to_generate;
    std::vector<const pb::FileDescriptor *> all_files;
};

// naming.cc: the naming rules generated code is written against.

// "GetDomainXMLDesc" -> "get_domain_xml_desc": a '_' before every capital that follows
// a lower-case letter or digit, and before the last capital of an acronym that starts
// a new word.
std::string Snake(const std::string &camel);
// "vgh_" / "vgc_" suffix of an RPC: "domain_service_get_domain",
// "grpc_health_v1_health_check".
std::string RpcSuffix(const pb::MethodDescriptor *method);
// protoc-c's C type of a message ("Virtgrpc__V1__GetDomainRequest") and its descriptor
// variable ("virtgrpc__v1__get_domain_request__descriptor").
std::string CTypeName(const pb::Descriptor *message);
std::string CDescriptorName(const pb::Descriptor *message);
// protoc-c's header for a .proto file: "virtgrpc/v1/domain.pb-c.h".
std::string PbcHeader(const pb::FileDescriptor *file);
// "virtgrpc.v1.ListDomainsRequest.Filter" -> "vg_enum_list_domains_request_filter".
std::string EnumMapName(const pb::EnumDescriptor *enum_type);

// c-text.cc: helpers for writing C source.

// `text` (a proto comment) as a C block comment indented by `indent`, or "" when empty.
std::string CComment(const std::string &text, const std::string &indent = "");
// The comment written above `descriptor` in its .proto file ("" without one).
template <typename D>
std::string LeadingComment(const D *descriptor)
{
    pb::SourceLocation location;
    if (!descriptor->GetSourceLocation(&location)) {
        return "";
    }
    std::string comment = location.leading_comments;
    while (!comment.empty() && (comment.back() == '\n' || comment.back() == ' ')) {
        comment.pop_back();
    }
    return comment;
}
// `paragraph` (one line of generated prose) broken into lines of at most `width`.
std::string Wrap(const std::string &paragraph, size_t width = 80);
// "head(arg1,\n     arg2)": a call or declaration with one argument per line, aligned
// under the first; a long head starts the arguments on their own line instead.
std::string Parenthesized(const std::string &head, const std::vector<std::string> &args);
// `text` as a C string literal, quotes included.
std::string CString(const std::string &text);
// The first line of every generated file.
std::string GeneratedBanner(const std::string &mode);
bool WriteFile(pb::compiler::GeneratorContext *context, const std::string &name,
               const std::string &content);

// The emitters: each returns false with `error` set on failure.
bool EmitMethods(const Request &request, const Options &options,
                 pb::compiler::GeneratorContext *context, std::string *error);
bool EmitEnums(const Request &request, pb::compiler::GeneratorContext *context,
               std::string *error);
bool EmitDescriptors(const Request &request, pb::compiler::GeneratorContext *context,
                     std::string *error);
bool EmitClient(const Request &request, pb::compiler::GeneratorContext *context,
                std::string *error);

}  // namespace vg_codegen
