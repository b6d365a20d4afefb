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

// One documented parameter: its C declaration and what it is.
struct Param {
    std::string declaration;
    std::string doc;
};

struct Function {
    std::string brief;  // one sentence: what the function does
    std::string return_type;
    std::string name;
    std::vector<Param> params;
    std::string returns;  // the @return text
    std::string body;
    std::string helpers;  // static definitions the body needs, placed before it
};

// The parts every function of one RPC shares in its documentation.
struct RpcDoc {
    std::string path;     // "/virtgrpc.v1.DomainService/StartDomain"
    std::string comment;  // the .proto comment, verbatim
};

// "const Foo *name" -> "name"; "int (*name)(...)" -> "name".
std::string
ParamName(const std::string &declaration)
{
    size_t pointer = declaration.find("(*");
    if (pointer != std::string::npos) {
        return declaration.substr(pointer + 2, declaration.find(')') - pointer - 2);
    }
    return declaration.substr(declaration.find_last_of(" *") + 1);
}

// A Doxygen comment: the brief, the RPC's .proto comment verbatim (proto comments are
// free text: XML, '<', '@' and '\' must not be read as Doxygen markup), every
// parameter and the return value. Doxygen checks that each parameter is documented.
std::string
DocComment(const Function &function, const RpcDoc &rpc)
{
    std::string text = Wrap("@brief " + function.brief) + "\n\nRPC " + rpc.path + ".";
    if (!rpc.comment.empty()) {
        text += "\n\n@verbatim\n" + rpc.comment + "\n@endverbatim";
    }
    text += "\n";
    for (const Param &param : function.params) {
        // "[out] the response." documents an output: "@param[out] response the ...".
        bool is_out = param.doc.rfind("[out] ", 0) == 0;
        text += "\n" + Wrap(std::string(is_out ? "@param[out] " : "@param ") +
                            ParamName(param.declaration) + " " +
                            param.doc.substr(is_out ? 6 : 0));
    }
    text += "\n" + Wrap("@return " + function.returns);
    std::string comment = CComment(text);
    // CComment writes a plain block comment; Doxygen reads the ones opened with "/**".
    return "/**" + comment.substr(2);
}

std::vector<std::string>
Declarations(const std::vector<Param> &params)
{
    std::vector<std::string> out;
    for (const Param &param : params) {
        out.push_back(param.declaration);
    }
    return out;
}

std::string
Declaration(const Function &function, const RpcDoc &rpc)
{
    return DocComment(function, rpc) +
           Parenthesized("VG_EXPORT " + function.return_type + " " + function.name,
                         Declarations(function.params)) +
           ";\n\n";
}

std::string
Definition(const Function &function)
{
    return function.helpers + function.return_type + "\n" +
           Parenthesized(function.name, Declarations(function.params)) + "\n{\n" +
           function.body + "}\n\n";
}

const Param kClient = {"vg_client *client", "the connection."};
const Param kDeadline = {"int64_t deadline_ms",
                         "relative deadline in milliseconds; 0: the client's default; "
                         "negative: none."};
const Param kStatus = {"vg_status *status", "[out] why the call failed."};
const Param kStream = {"vg_client_stream *stream", "the open stream."};
const char kFree[] = "free it with protobuf_c_message_free_unpacked()";

// The typed _next shared by server-streaming and bidirectional RPCs: the iterator form.
Function
NextFunction(const pb::MethodDescriptor *method)
{
    std::string out = CTypeName(method->output_type());
    return {
        "Iterator form: blocks for the next " + method->output_type()->full_name() +
            " of a stream opened with vgc_" + RpcSuffix(method) + "_open().",
        "int",
        "vgc_" + RpcSuffix(method) + "_next",
        {kStream, {out + " **message", std::string("[out] the message; ") + kFree + "."},
         {"vg_status *status",
          "[out] why the stream failed (CANCELLED after vg_client_stream_cancel())."}},
        "1 with *message set, 0 when the server ended the stream with OK, -1 with "
        "`status` on failure.",
        "    ProtobufCMessage *received = NULL;\n"
        "    int rc = vg_client_stream_next(stream, &received, status);\n"
        "\n"
        "    if (rc == 1)\n"
        "        *message = (" + out + " *)received;\n"
        "    return rc;\n",
        "",
    };
}

// The typed _each of server-streaming RPCs: the callback form, vg_client_stream_each()
// with a callback that receives the RPC's own message type. A static trampoline per
// RPC does the cast, so no function pointer is ever called through the wrong type.
Function
EachFunction(const pb::MethodDescriptor *method)
{
    std::string name = "vgc_" + RpcSuffix(method) + "_each";
    std::string out = CTypeName(method->output_type());
    std::string callback_type = "int (*on_message)(const " + out +
                                " *message, void *user_data)";
    std::string context = name + "_callback";
    return {
        "Callback form: calls `on_message` for each " + method->output_type()->full_name() +
            " of a stream opened with vgc_" + RpcSuffix(method) +
            "_open(), until the stream ends or the callback returns non-zero; "
            "vg_client_stream_cancel() from another thread ends it too.",
        "int",
        name,
        {kStream,
         {callback_type,
          "called in this thread for each message, which it does not own; returns 0 to "
          "go on, non-zero to stop (the call is then cancelled)."},
         {"void *user_data", "passed to `on_message`."},
         {"vg_status *status",
          "[out] why the stream failed (CANCELLED after vg_client_stream_cancel())."}},
        "0 at the stream's clean end or when the callback stopped it, -1 with `status` "
        "on failure.",
        "    struct " + context + " typed = { on_message, user_data };\n"
        "\n"
        "    if (on_message == NULL)\n"
        "        return vg_client_stream_each(stream, NULL, NULL, status);\n"
        "    return vg_client_stream_each(stream, " + context + "_call, &typed, status);\n",
        "struct " + context + " {\n"
        "    " + callback_type + ";\n"
        "    void *user_data;\n"
        "};\n\n"
        "static int\n" +
            Parenthesized(context + "_call",
                          {"const ProtobufCMessage *message", "void *user_data"}) +
            "\n{\n"
            "    const struct " + context + " *typed = user_data;\n"
            "\n"
            "    return typed->on_message((const " + out + " *)message, typed->user_data);\n"
            "}\n\n",
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

    if (!method->client_streaming() && !method->server_streaming()) {
        return {{
            "Calls " + method->name() + " and blocks until its response, its failure or "
                "the deadline.",
            "int",
            name,
            {kClient, {"const " + in + " *request", "the request."},
             {out + " **response", std::string("[out] the response; ") + kFree + "."},
             kDeadline, kStatus},
            "0 with *response set, -1 with `status` on failure.",
            "    ProtobufCMessage *received = NULL;\n"
            "\n" +
                Parenthesized("    if (vg_client_call_unary",
                              {"client", path, "(const ProtobufCMessage *)request",
                               out_descriptor, "&received", "deadline_ms", "status"}) +
                " < 0)\n"
                "        return -1;\n"
            "    *response = (" + out + " *)received;\n"
            "    return 0;\n",
            "",
        }};
    }

    if (!method->client_streaming()) {
        return {
            {
                "Opens the " + method->name() + " stream; read it with " + name +
                    "_next() or " + name + "_each(), end it early with "
                    "vg_client_stream_cancel() (from any thread), free it with "
                    "vg_client_stream_free().",
                "int",
                name + "_open",
                {kClient, {"const " + in + " *request", "the request (not NULL)."},
                 {"int64_t deadline_ms",
                  "relative deadline of the whole stream in milliseconds; 0: the "
                  "client's default; negative: none (usual for watches)."},
                 {"vg_client_stream **stream", "[out] the open stream."}, kStatus},
                "0 with *stream set, -1 with `status` on failure.",
                Parenthesized("    return vg_client_stream_open",
                              {"client", path, "(const ProtobufCMessage *)request",
                               out_descriptor, "deadline_ms", "stream", "status"}) +
                    ";\n",
                "",
            },
            NextFunction(method),
            EachFunction(method),
        };
    }

    // Client streaming is driven like a bidirectional stream whose server sends one
    // message: send, close_send, then _next once.
    return {
        {
            "Opens the " + method->name() + " stream; write with " + name +
                "_send() and vg_client_stream_close_send(), read with " + name +
                "_next() (from another thread while writing, if you like), free with "
                "vg_client_stream_free().",
            "int",
            name + "_open",
            {kClient,
             {"int64_t deadline_ms",
              "relative deadline of the whole stream in milliseconds; 0: the client's "
              "default; negative: none (usual for consoles)."},
             {"vg_client_stream **stream", "[out] the open stream."}, kStatus},
            "0 with *stream set, -1 with `status` on failure.",
            Parenthesized("    return vg_client_stream_open",
                          {"client", path, "NULL", out_descriptor, "deadline_ms", "stream",
                           "status"}) +
                ";\n",
            "",
        },
        {
            "Sends one " + method->input_type()->full_name() + " on a stream opened with " +
                name + "_open().",
            "int",
            name + "_send",
            {kStream, {"const " + in + " *message", "the message."}, kStatus},
            "0, or -1 with `status` (the status the server ended the call with).",
            Parenthesized("    return vg_client_stream_send",
                          {"stream", "(const ProtobufCMessage *)message", "status"}) +
                ";\n",
            "",
        },
        NextFunction(method),
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
    "/** How requests and responses flow, from the .proto `stream` keywords. */\n"
    "typedef enum vg_client_rpc_kind {\n"
    "    VG_CLIENT_RPC_UNARY,            /**< One request, one response. */\n"
    "    VG_CLIENT_RPC_SERVER_STREAMING, /**< One request, a stream of responses. */\n"
    "    VG_CLIENT_RPC_CLIENT_STREAMING, /**< A stream of requests, one response. */\n"
    "    VG_CLIENT_RPC_BIDI_STREAMING,   /**< Streams both ways (consoles). */\n"
    "} vg_client_rpc_kind;\n"
    "\n"
    "/**\n"
    " * One RPC, for tools that choose the method at run time: call it with\n"
    " * vg_client_call_unary() / vg_client_stream_open() on `path`, build the request\n"
    " * from `request_type` (protobuf-c's descriptor) and read `response_type`.\n"
    " */\n"
    "typedef struct vg_client_method {\n"
    "    const char *path;    /**< \"/virtgrpc.v1.DomainService/GetDomain\" */\n"
    "    const char *service; /**< \"virtgrpc.v1.DomainService\" */\n"
    "    const char *name;    /**< \"GetDomain\" */\n"
    "    vg_client_rpc_kind kind; /**< unary or which streams */\n"
    "    const ProtobufCMessageDescriptor *request_type;  /**< the request message */\n"
    "    const ProtobufCMessageDescriptor *response_type; /**< the response message */\n"
    "    const char *summary; /**< first sentence of the .proto comment, or \"\" */\n"
    "} vg_client_method;\n"
    "\n"
    "/** Every RPC of every service, in .proto order. */\n"
    "VG_EXPORT extern const vg_client_method vg_client_methods[];\n"
    "/** The number of entries in vg_client_methods. */\n"
    "VG_EXPORT extern const size_t vg_client_methods_count;\n"
    "\n";

}  // namespace

bool
EmitClient(const Request &request, pb::compiler::GeneratorContext *context,
           std::string *error)
{
    std::set<std::string> headers;
    std::vector<std::pair<Function, RpcDoc>> functions;
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
                RpcDoc doc = {Path(method), LeadingComment(method)};
                for (Function &function : Functions(method)) {
                    if (!names.insert(function.name).second) {
                        *error = Path(method) + ": client function " + function.name +
                                 " is also used by another RPC";
                        return false;
                    }
                    functions.emplace_back(function, doc);
                }
            }
        }
    }

    std::string h = GeneratedBanner("client");
    h += "/**\n"
         " * @file vg-client-gen.h\n"
         " * @brief One typed function per RPC (generated from the .proto files), built on\n"
         " * vg-client.h; see there for the return values, deadlines and status. Include\n"
         " * <virtgrpc/virtgrpc.h> rather than this file.\n"
         " */\n"
         "#pragma once\n\n"
         "#include <virtgrpc/vg-client.h>\n\n";
    for (const std::string &header : headers) {
        h += "#include " + CString(header) + "\n";
    }
    h += "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
    h += kTableDeclarations;
    for (const auto &[function, doc] : functions) {
        h += Declaration(function, doc);
    }
    h += "#ifdef __cplusplus\n}\n#endif\n";

    std::string c = GeneratedBanner("client");
    c += "#include <virtgrpc/vg-client-gen.h>\n\n";
    for (const auto &function_doc : functions) {
        c += Definition(function_doc.first);
    }
    c += "const vg_client_method vg_client_methods[] = {\n" + table + "};\n\n"
         "const size_t vg_client_methods_count =\n"
         "    sizeof(vg_client_methods) / sizeof(vg_client_methods[0]);\n";

    return WriteFile(context, "vg-client-gen.h", h) &&
           WriteFile(context, "vg-client-gen.c", c);
}

}  // namespace vg_codegen
