// mode=server: vg-methods.h (one typed handler prototype per RPC) and vg-methods.c (the
// vg_methods[] table of server/transport/method.h, reaching each typed handler through
// a trampoline that casts the generic messages to the RPC's own types).
//
// Every RPC carries the lowest role allowed to call it, from its method option
// `(virtgrpc.v1.role)` (options.proto). The plugin is not compiled with options.proto,
// so the option arrives as an unknown varint field of MethodOptions whose number is
// looked up by name; an RPC without it fails the build, unless its service is one of
// the standard ones listed in the read_only= parameter.
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/unknown_field_set.h>

#include <map>

#include "bazel/codegen/codegen.h"

namespace vg_codegen {
namespace {

constexpr const char *kRoleOption = "virtgrpc.v1.role";
constexpr const char *kRoleEnum = "virtgrpc.v1.Role";

enum class Kind { kUnary, kServerStreaming, kClientStreaming, kBidiStreaming };

Kind
KindOf(const pb::MethodDescriptor *method)
{
    if (method->client_streaming()) {
        return method->server_streaming() ? Kind::kBidiStreaming : Kind::kClientStreaming;
    }
    return method->server_streaming() ? Kind::kServerStreaming : Kind::kUnary;
}

const char *
KindConstant(Kind kind)
{
    switch (kind) {
    case Kind::kUnary:
        return "VG_RPC_UNARY";
    case Kind::kServerStreaming:
        return "VG_RPC_SERVER_STREAMING";
    case Kind::kClientStreaming:
        return "VG_RPC_CLIENT_STREAMING";
    case Kind::kBidiStreaming:
        return "VG_RPC_BIDI_STREAMING";
    }
    return "";
}

const char *
KindDescription(Kind kind)
{
    switch (kind) {
    case Kind::kUnary:
        return "unary";
    case Kind::kServerStreaming:
        return "server streaming";
    case Kind::kClientStreaming:
        return "client streaming";
    case Kind::kBidiStreaming:
        return "bidirectional streaming";
    }
    return "";
}

std::string
Path(const pb::MethodDescriptor *method)
{
    return "/" + method->service()->full_name() + "/" + method->name();
}

// The C constant (server/transport/method.h vg_role) of each Role value by name.
const char *
RoleConstant(const std::string &value_name)
{
    if (value_name == "ROLE_READ_ONLY") {
        return "VG_ROLE_READ_ONLY";
    }
    if (value_name == "ROLE_OPERATOR") {
        return "VG_ROLE_OPERATOR";
    }
    if (value_name == "ROLE_ADMIN") {
        return "VG_ROLE_ADMIN";
    }
    return nullptr;
}

// The role of every method in `roles` (C constants), or false with `error` naming the
// first RPC without a valid role.
bool
CollectRoles(const std::vector<const pb::MethodDescriptor *> &methods,
             const Options &options, std::map<const pb::MethodDescriptor *, std::string> *roles,
             std::string *error)
{
    const pb::FieldDescriptor *option = nullptr;
    const pb::EnumDescriptor *role_enum = nullptr;
    if (!methods.empty()) {
        const pb::DescriptorPool *pool = methods[0]->file()->pool();
        option = pool->FindExtensionByName(kRoleOption);
        role_enum = pool->FindEnumTypeByName(kRoleEnum);
    }
    if (option != nullptr &&
        (option->containing_type()->full_name() != "google.protobuf.MethodOptions" ||
         option->enum_type() != role_enum)) {
        *error = std::string(kRoleOption) + " must be a " + kRoleEnum +
                 " extension of google.protobuf.MethodOptions";
        return false;
    }
    for (const pb::MethodDescriptor *method : methods) {
        if (options.read_only_services.count(method->service()->full_name())) {
            (*roles)[method] = "VG_ROLE_READ_ONLY";
            continue;
        }
        const char *constant = nullptr;
        if (option != nullptr) {
            const pb::UnknownFieldSet &unknown =
                method->options().GetReflection()->GetUnknownFields(method->options());
            for (int i = 0; i < unknown.field_count(); i++) {
                const pb::UnknownField &field = unknown.field(i);
                if (field.number() != option->number() ||
                    field.type() != pb::UnknownField::TYPE_VARINT) {
                    continue;
                }
                const pb::EnumValueDescriptor *value =
                    role_enum->FindValueByNumber(static_cast<int>(field.varint()));
                constant = value ? RoleConstant(value->name()) : nullptr;
            }
        }
        if (constant == nullptr) {
            *error = Path(method) + ": every RPC needs `option (" + kRoleOption +
                     ") = ROLE_READ_ONLY | ROLE_OPERATOR | ROLE_ADMIN;` (who may call it)";
            return false;
        }
        (*roles)[method] = constant;
    }
    return true;
}

std::vector<std::string>
HandlerParams(const pb::MethodDescriptor *method)
{
    std::string in = CTypeName(method->input_type());
    std::string out = CTypeName(method->output_type());
    switch (KindOf(method)) {
    case Kind::kUnary:
        return {"vg_call *call", "const " + in + " *request", out + " *response"};
    case Kind::kServerStreaming:
        return {"vg_call *call", "const " + in + " *request"};
    case Kind::kClientStreaming:
    case Kind::kBidiStreaming:
        break;
    }
    return {"vg_call *call"};
}

std::string
Trampoline(const pb::MethodDescriptor *method)
{
    std::string name = "vg_trampoline_" + RpcSuffix(method);
    std::string handler = "    return vgh_" + RpcSuffix(method);
    std::string in = CTypeName(method->input_type());
    std::string out = CTypeName(method->output_type());
    switch (KindOf(method)) {
    case Kind::kUnary:
        return "static int\n" +
               Parenthesized(name, {"vg_call *call", "const ProtobufCMessage *request",
                                    "ProtobufCMessage *response"}) +
               "\n{\n" +
               Parenthesized(handler, {"call", "(const " + in + " *)request",
                                       "(" + out + " *)response"}) +
               ";\n}\n\n";
    case Kind::kServerStreaming:
        return "static int\n" +
               Parenthesized(name, {"vg_call *call", "const ProtobufCMessage *request"}) +
               "\n{\n" + Parenthesized(handler, {"call", "(const " + in + " *)request"}) +
               ";\n}\n\n";
    case Kind::kClientStreaming:
    case Kind::kBidiStreaming:
        break;
    }
    return "";  // Same shape as vg_streaming_handler: the table points at the handler.
}

std::string
TableEntry(const pb::MethodDescriptor *method, bool is_inline, const std::string &role)
{
    Kind kind = KindOf(method);
    std::string entry = "    {\n"
                        "        .path = " + CString(Path(method)) + ",\n"
                        "        .service = " + CString(method->service()->full_name()) +
                        ",\n"
                        "        .kind = " + KindConstant(kind) + ",\n"
                        "        .exec = " + (is_inline ? "VG_EXEC_INLINE" : "VG_EXEC_WORKER") +
                        ",\n"
                        "        .role = " + role + ",\n"
                        "        .input = &" + CDescriptorName(method->input_type()) + ",\n"
                        "        .output = &" + CDescriptorName(method->output_type()) + ",\n";
    switch (kind) {
    case Kind::kUnary:
        entry += "        .unary = vg_trampoline_" + RpcSuffix(method) + ",\n";
        break;
    case Kind::kServerStreaming:
        entry += "        .server_streaming = vg_trampoline_" + RpcSuffix(method) + ",\n";
        break;
    case Kind::kClientStreaming:
    case Kind::kBidiStreaming:
        entry += "        .streaming = vgh_" + RpcSuffix(method) + ",\n";
        break;
    }
    return entry + "    },\n";
}

}  // namespace

bool
EmitMethods(const Request &request, const Options &options,
            pb::compiler::GeneratorContext *context, std::string *error)
{
    std::vector<const pb::MethodDescriptor *> methods;
    std::set<std::string> headers;
    for (const pb::FileDescriptor *file : request.to_generate) {
        for (int s = 0; s < file->service_count(); s++) {
            const pb::ServiceDescriptor *service = file->service(s);
            for (int m = 0; m < service->method_count(); m++) {
                const pb::MethodDescriptor *method = service->method(m);
                methods.push_back(method);
                headers.insert(PbcHeader(method->input_type()->file()));
                headers.insert(PbcHeader(method->output_type()->file()));
            }
        }
    }

    std::set<std::string> handler_names;
    for (const pb::MethodDescriptor *method : methods) {
        if (!handler_names.insert(RpcSuffix(method)).second) {
            *error = Path(method) + ": handler name vgh_" + RpcSuffix(method) +
                     " is also used by another RPC";
            return false;
        }
    }

    std::map<const pb::MethodDescriptor *, std::string> roles;
    if (!CollectRoles(methods, options, &roles, error)) {
        return false;
    }

    std::string h = GeneratedBanner("server");
    h += "/*\n"
         " * The typed handler of every RPC. The server's service files define them; the\n"
         " * method table in vg-methods.c (vg_methods[], server/transport/method.h) reaches\n"
         " * them through trampolines, so a handler never casts messages itself. Handlers\n"
         " * return 0, or -1 after recording the failure on the call.\n"
         " */\n"
         "#pragma once\n\n"
         "#include \"server/transport/method.h\"\n\n";
    for (const std::string &header : headers) {
        h += "#include " + CString(header) + "\n";
    }
    h += "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n";

    const pb::ServiceDescriptor *current_service = nullptr;
    for (const pb::MethodDescriptor *method : methods) {
        const pb::ServiceDescriptor *service = method->service();
        bool is_inline = options.inline_services.count(service->full_name()) > 0;
        if (service != current_service) {
            current_service = service;
            std::string comment = LeadingComment(service);
            h += "\n" + CComment("Service " + service->full_name() +
                                 (comment.empty() ? "." : ":\n" + comment));
        }
        std::string doc = Wrap(Path(method) + ": " + KindDescription(KindOf(method)) +
                               (is_inline ? ", runs inline on the completion-queue thread."
                                          : ", runs on a worker thread."));
        std::string comment = LeadingComment(method);
        if (!comment.empty()) {
            doc += "\n\n" + comment;
        }
        h += "\n" + CComment(doc);
        h += Parenthesized("int vgh_" + RpcSuffix(method), HandlerParams(method)) + ";\n";
    }
    h += "\n#ifdef __cplusplus\n}\n#endif\n";

    std::string c = GeneratedBanner("server");
    c += "#include \"vg-methods.h\"\n\n";
    for (const pb::MethodDescriptor *method : methods) {
        c += Trampoline(method);
    }
    if (methods.empty()) {
        // C has no empty arrays; the count says there is nothing to read.
        c += "const vg_method vg_methods[1];\n"
             "const size_t vg_methods_count = 0;\n";
    } else {
        c += "const vg_method vg_methods[] = {\n";
        for (const pb::MethodDescriptor *method : methods) {
            c += TableEntry(method,
                            options.inline_services.count(method->service()->full_name()),
                            roles[method]);
        }
        c += "};\n\n"
             "const size_t vg_methods_count = sizeof(vg_methods) / sizeof(vg_methods[0]);\n";
    }

    return WriteFile(context, "vg-methods.h", h) && WriteFile(context, "vg-methods.c", c);
}

}  // namespace vg_codegen
