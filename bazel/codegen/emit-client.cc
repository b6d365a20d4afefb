// mode=client: vg-client-gen.h / vg-client-gen.c, one typed function (or an
// open/send/next family for streams) per RPC, each a thin cast around the generic
// calls of client/vg-client.h, and a table of every RPC (vg_client_methods[]) for
// generic tools that pick a method by name at run time (the CLI's `call`).
#include <cctype>

#include "bazel/codegen/codegen.h"

namespace vg_codegen {
namespace {

std::string
Path(const pb::MethodDescriptor *method)
{
    return "/" + method->service()->full_name() + "/" + method->name();
}

struct Function {
    std::string doc;
    std::string return_type;
    std::string name;
    std::vector<std::string> params;
    std::string body;
};

std::string
Declaration(const Function &function)
{
    return CComment(function.doc) +
           Parenthesized(function.return_type + " " + function.name, function.params) +
           ";\n\n";
}

std::string
Definition(const Function &function)
{
    return function.return_type + "\n" + Parenthesized(function.name, function.params) +
           "\n{\n" + function.body + "}\n\n";
}

// The typed _next shared by server-streaming and bidirectional RPCs.
Function
NextFunction(const pb::MethodDescriptor *method, const std::string &doc)
{
    std::string out = CTypeName(method->output_type());
    return {
        doc + "\n\n" +
            Wrap("The next " + method->output_type()->full_name() +
                 " of a stream opened with vgc_" + RpcSuffix(method) +
                 "_open(): 1 with *message set (free it with "
                 "protobuf_c_message_free_unpacked()), 0 at a clean end, -1 on failure."),
        "int",
        "vgc_" + RpcSuffix(method) + "_next",
        {"vg_client_stream *stream", out + " **message", "vg_status *status"},
        "    ProtobufCMessage *received = NULL;\n"
        "    int rc = vg_client_stream_next(stream, &received, status);\n"
        "\n"
        "    if (rc == 1)\n"
        "        *message = (" + out + " *)received;\n"
        "    return rc;\n",
    };
}

std::vector<Function>
Functions(const pb::MethodDescriptor *method)
{
    std::string name = "vgc_" + RpcSuffix(method);
    std::string in = CTypeName(method->input_type());
    std::string out = CTypeName(method->output_type());
    std::string out_descriptor = "&" + CDescriptorName(method->output_type());
    std::string path = CString(Path(method));
    std::string doc = Path(method);
    std::string comment = LeadingComment(method);
    if (!comment.empty()) {
        doc += ":\n" + comment;
    }

    if (!method->client_streaming() && !method->server_streaming()) {
        return {{
            doc + "\n\n" +
                Wrap("One call: 0 with *response set (free it with "
                     "protobuf_c_message_free_unpacked()), -1 with `status` on failure."),
            "int",
            name,
            {"vg_client *client", "const " + in + " *request", out + " **response",
             "int64_t deadline_ms", "vg_status *status"},
            "    ProtobufCMessage *received = NULL;\n"
            "\n" +
                Parenthesized("    if (vg_client_call_unary",
                              {"client", path, "(const ProtobufCMessage *)request",
                               out_descriptor, "&received", "deadline_ms", "status"}) +
                " < 0)\n"
                "        return -1;\n"
            "    *response = (" + out + " *)received;\n"
            "    return 0;\n",
        }};
    }

    if (!method->client_streaming()) {
        return {
            {
                doc + "\n\n" +
                    Wrap("Opens the stream (`request` must not be NULL); read it with " +
                         name + "_next(), free it with vg_client_stream_free()."),
                "int",
                name + "_open",
                {"vg_client *client", "const " + in + " *request", "int64_t deadline_ms",
                 "vg_client_stream **stream", "vg_status *status"},
                Parenthesized("    return vg_client_stream_open",
                              {"client", path, "(const ProtobufCMessage *)request",
                               out_descriptor, "deadline_ms", "stream", "status"}) +
                    ";\n",
            },
            NextFunction(method, doc),
        };
    }

    // Client streaming is driven like a bidirectional stream whose server sends one
    // message: send, close_send, then _next once.
    return {
        {
            doc + "\n\n" +
                Wrap("Opens the stream; write with " + name +
                     "_send() and vg_client_stream_close_send(), read with " + name +
                     "_next(), free with vg_client_stream_free()."),
            "int",
            name + "_open",
            {"vg_client *client", "int64_t deadline_ms", "vg_client_stream **stream",
             "vg_status *status"},
            Parenthesized("    return vg_client_stream_open",
                          {"client", path, "NULL", out_descriptor, "deadline_ms", "stream",
                           "status"}) +
                ";\n",
        },
        {
            doc + "\n\n" +
                Wrap("Sends one " + method->input_type()->full_name() +
                     " on a stream opened with " + name + "_open()."),
            "int",
            name + "_send",
            {"vg_client_stream *stream", "const " + in + " *message", "vg_status *status"},
            Parenthesized("    return vg_client_stream_send",
                          {"stream", "(const ProtobufCMessage *)message", "status"}) +
                ";\n",
        },
        NextFunction(method, doc),
    };
}

// The first sentence of a method's comment, on one line: the summary tools list.
std::string
Summary(const pb::MethodDescriptor *method)
{
    std::string comment = LeadingComment(method);
    std::string summary;
    for (size_t i = 0; i < comment.size(); i++) {
        char c = comment[i] == '\n' ? ' ' : comment[i];
        if (c == ' ' && !summary.empty() && summary.back() == ' ') {
            continue;
        }
        if (c == ' ' && summary.empty()) {
            continue;
        }
        summary += c;
        // A sentence ends at a '.' before the end or before a capital ("e.g. a" goes on).
        if (c == '.' && (i + 1 == comment.size() ||
                         ((comment[i + 1] == ' ' || comment[i + 1] == '\n') &&
                          i + 2 < comment.size() && isupper((unsigned char)comment[i + 2])))) {
            break;
        }
    }
    return summary;
}

std::string
KindName(const pb::MethodDescriptor *method)
{
    if (method->client_streaming()) {
        return method->server_streaming() ? "VG_CLIENT_RPC_BIDI_STREAMING"
                                          : "VG_CLIENT_RPC_CLIENT_STREAMING";
    }
    return method->server_streaming() ? "VG_CLIENT_RPC_SERVER_STREAMING"
                                      : "VG_CLIENT_RPC_UNARY";
}

// One initializer of vg_client_methods[].
std::string
TableRow(const pb::MethodDescriptor *method)
{
    return "    {\n"
           "        " + CString(Path(method)) + ",\n"
           "        " + CString(method->service()->full_name()) + ",\n"
           "        " + CString(method->name()) + ",\n"
           "        " + KindName(method) + ",\n"
           "        &" + CDescriptorName(method->input_type()) + ",\n"
           "        &" + CDescriptorName(method->output_type()) + ",\n"
           "        " + CString(Summary(method)) + ",\n"
           "    },\n";
}

const char kTableDeclarations[] =
    "/* How requests and responses flow, from the .proto `stream` keywords. */\n"
    "typedef enum vg_client_rpc_kind {\n"
    "    VG_CLIENT_RPC_UNARY,\n"
    "    VG_CLIENT_RPC_SERVER_STREAMING,\n"
    "    VG_CLIENT_RPC_CLIENT_STREAMING,\n"
    "    VG_CLIENT_RPC_BIDI_STREAMING,\n"
    "} vg_client_rpc_kind;\n"
    "\n"
    "/*\n"
    " * One RPC, for tools that choose the method at run time: call it with\n"
    " * vg_client_call_unary() / vg_client_stream_open() on `path`, build the request\n"
    " * from `request_type` (protobuf-c's descriptor) and read `response_type`.\n"
    " */\n"
    "typedef struct vg_client_method {\n"
    "    const char *path;    /* \"/virtgrpc.v1.DomainService/GetDomain\" */\n"
    "    const char *service; /* \"virtgrpc.v1.DomainService\" */\n"
    "    const char *name;    /* \"GetDomain\" */\n"
    "    vg_client_rpc_kind kind;\n"
    "    const ProtobufCMessageDescriptor *request_type;\n"
    "    const ProtobufCMessageDescriptor *response_type;\n"
    "    const char *summary; /* first sentence of the .proto comment, or \"\" */\n"
    "} vg_client_method;\n"
    "\n"
    "/* Every RPC of every service, in .proto order. */\n"
    "extern const vg_client_method vg_client_methods[];\n"
    "extern const size_t vg_client_methods_count;\n"
    "\n";

}  // namespace

bool
EmitClient(const Request &request, pb::compiler::GeneratorContext *context,
           std::string *error)
{
    std::set<std::string> headers;
    std::vector<Function> functions;
    std::set<std::string> names;
    std::string table;
    for (const pb::FileDescriptor *file : request.to_generate) {
        // Every message type, not only those of RPCs: the umbrella header
        // client/virtgrpc.h gets all of them through this one.
        headers.insert(PbcHeader(file));
        for (int s = 0; s < file->service_count(); s++) {
            const pb::ServiceDescriptor *service = file->service(s);
            for (int m = 0; m < service->method_count(); m++) {
                const pb::MethodDescriptor *method = service->method(m);
                headers.insert(PbcHeader(method->input_type()->file()));
                headers.insert(PbcHeader(method->output_type()->file()));
                table += TableRow(method);
                for (Function &function : Functions(method)) {
                    if (!names.insert(function.name).second) {
                        *error = Path(method) + ": client function " + function.name +
                                 " is also used by another RPC";
                        return false;
                    }
                    functions.push_back(function);
                }
            }
        }
    }

    std::string h = GeneratedBanner("client");
    h += "/*\n"
         " * One typed function per RPC, built on client/vg-client.h; see there for the\n"
         " * return values, deadlines and status. Include client/virtgrpc.h rather than\n"
         " * this file.\n"
         " */\n"
         "#pragma once\n\n"
         "#include \"client/vg-client.h\"\n\n";
    for (const std::string &header : headers) {
        h += "#include " + CString(header) + "\n";
    }
    h += "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
    h += kTableDeclarations;
    for (const Function &function : functions) {
        h += Declaration(function);
    }
    h += "#ifdef __cplusplus\n}\n#endif\n";

    std::string c = GeneratedBanner("client");
    c += "#include \"vg-client-gen.h\"\n\n";
    for (const Function &function : functions) {
        c += Definition(function);
    }
    c += "const vg_client_method vg_client_methods[] = {\n" + table + "};\n\n"
         "const size_t vg_client_methods_count =\n"
         "    sizeof(vg_client_methods) / sizeof(vg_client_methods[0]);\n";

    return WriteFile(context, "vg-client-gen.h", h) &&
           WriteFile(context, "vg-client-gen.c", c);
}

}  // namespace vg_codegen
