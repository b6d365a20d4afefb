// mode=server: vg-descriptors.h / vg-descriptors.c, the data grpc.reflection serves.
//
// Each file is re-serialized from the plugin's descriptor pool with its source info
// (protoc hands plugins the comments of every file, imports included) and json_name,
// i.e. the same FileDescriptorProto protoc put in the CodeGeneratorRequest, so
// `grpcurl describe` shows the .proto comments.
#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include <google/protobuf/descriptor.pb.h>

#include "bazel/codegen/codegen.h"

namespace vg_codegen {
namespace {

struct Extension {
    std::string extendee;
    int number;
    int file;
};

// Every name DescriptorPool::FindFileContainingSymbol resolves, except packages (one
// package spans several files).
class SymbolIndex {
  public:
    void
    AddFile(const pb::FileDescriptor *file, int index)
    {
        file_ = index;
        for (int i = 0; i < file->message_type_count(); i++) {
            AddMessage(file->message_type(i));
        }
        for (int i = 0; i < file->enum_type_count(); i++) {
            AddEnum(file->enum_type(i));
        }
        for (int i = 0; i < file->extension_count(); i++) {
            AddExtension(file->extension(i));
        }
        for (int i = 0; i < file->service_count(); i++) {
            const pb::ServiceDescriptor *service = file->service(i);
            Add(service->full_name());
            services_.push_back(service->full_name());
            for (int m = 0; m < service->method_count(); m++) {
                Add(service->method(m)->full_name());
            }
        }
    }

    const std::map<std::string, int> &
    symbols() const
    {
        return symbols_;
    }
    std::vector<Extension>
    sorted_extensions() const
    {
        std::vector<Extension> sorted = extensions_;
        std::sort(sorted.begin(), sorted.end(), [](const Extension &a, const Extension &b) {
            return std::tie(a.extendee, a.number) < std::tie(b.extendee, b.number);
        });
        return sorted;
    }
    const std::vector<std::string> &
    services() const
    {
        return services_;
    }

  private:
    void
    Add(const std::string &name)
    {
        symbols_.emplace(name, file_);
    }

    void
    AddEnum(const pb::EnumDescriptor *enum_type)
    {
        Add(enum_type->full_name());
        for (int i = 0; i < enum_type->value_count(); i++) {
            Add(enum_type->value(i)->full_name());
        }
    }

    void
    AddExtension(const pb::FieldDescriptor *extension)
    {
        Add(extension->full_name());
        extensions_.push_back(
            {extension->containing_type()->full_name(), extension->number(), file_});
    }

    void
    AddMessage(const pb::Descriptor *message)
    {
        Add(message->full_name());
        for (int i = 0; i < message->field_count(); i++) {
            Add(message->field(i)->full_name());
        }
        for (int i = 0; i < message->oneof_decl_count(); i++) {
            Add(message->oneof_decl(i)->full_name());
        }
        for (int i = 0; i < message->nested_type_count(); i++) {
            AddMessage(message->nested_type(i));
        }
        for (int i = 0; i < message->enum_type_count(); i++) {
            AddEnum(message->enum_type(i));
        }
        for (int i = 0; i < message->extension_count(); i++) {
            AddExtension(message->extension(i));
        }
    }

    int file_ = 0;
    std::map<std::string, int> symbols_;  // std::map: strcmp order, as bsearch needs.
    std::vector<Extension> extensions_;
    std::vector<std::string> services_;
};

std::string
Serialize(const pb::FileDescriptor *file)
{
    pb::FileDescriptorProto proto;
    file->CopyTo(&proto);
    file->CopySourceCodeInfoTo(&proto);
    file->CopyJsonNameTo(&proto);
    return proto.SerializeAsString();
}

std::string
ByteArray(const std::string &name, const std::string &bytes)
{
    std::string out = "static const uint8_t " + name + "[] = {";
    char hex[8];
    for (size_t i = 0; i < bytes.size(); i++) {
        out += i % 16 == 0 ? "\n    " : " ";
        std::snprintf(hex, sizeof(hex), "0x%02x,", static_cast<unsigned char>(bytes[i]));
        out += hex;
    }
    return out + "\n};\n";
}

void
AddTransitive(const pb::FileDescriptor *file, std::set<const pb::FileDescriptor *> *deps)
{
    for (int i = 0; i < file->dependency_count(); i++) {
        if (deps->insert(file->dependency(i)).second) {
            AddTransitive(file->dependency(i), deps);
        }
    }
}

const char *const kHeaderDoc =
    "/*\n"
    " * Reflection data: every .proto file compiled into the server, imports included,\n"
    " * as a serialized google.protobuf.FileDescriptorProto with its comments, and the\n"
    " * indexes grpc.reflection's questions need:\n"
    " *\n"
    " *   vg_descriptor_files[]       the files, every file after the files it imports\n"
    " *   vg_descriptor_symbols[]     fully-qualified name -> file, sorted by strcmp();\n"
    " *                               services, methods (\"pkg.Svc.Method\"), messages\n"
    " *                               (nested too), fields, oneofs, enums, enum values\n"
    " *                               (scoped like protobuf: \"pkg.VALUE\") and extensions\n"
    " *   vg_descriptor_extensions[]  (extendee, field number) -> file, sorted by extendee,\n"
    " *                               then number\n"
    " *   vg_descriptor_services[]    fully-qualified service names, in .proto order\n"
    " *\n"
    " * \"file\" values are indexes into vg_descriptor_files[]. A reflection answer is a\n"
    " * file's data followed by the data of its deps[] (all it imports, transitively).\n"
    " */\n";

const char *const kHeaderApi =
    "typedef struct vg_descriptor_file {\n"
    "    const char *name;    /* \"virtgrpc/v1/domain.proto\" */\n"
    "    const uint8_t *data; /* serialized google.protobuf.FileDescriptorProto */\n"
    "    size_t size;\n"
    "    const int *deps;     /* every file it imports, directly or not; NULL if none */\n"
    "    size_t n_deps;\n"
    "} vg_descriptor_file;\n\n"
    "typedef struct vg_descriptor_symbol {\n"
    "    const char *name; /* \"virtgrpc.v1.DomainService.GetDomain\" */\n"
    "    int file;\n"
    "} vg_descriptor_symbol;\n\n"
    "typedef struct vg_descriptor_extension {\n"
    "    const char *extendee; /* \"google.protobuf.EnumValueOptions\" */\n"
    "    int32_t number;\n"
    "    int file;\n"
    "} vg_descriptor_extension;\n\n"
    "extern const vg_descriptor_file vg_descriptor_files[];\n"
    "extern const size_t vg_descriptor_files_count;\n"
    "extern const vg_descriptor_symbol vg_descriptor_symbols[];\n"
    "extern const size_t vg_descriptor_symbols_count;\n"
    "extern const vg_descriptor_extension vg_descriptor_extensions[];\n"
    "extern const size_t vg_descriptor_extensions_count;\n"
    "extern const char *const vg_descriptor_services[];\n"
    "extern const size_t vg_descriptor_services_count;\n\n"
    "/* The index of the file named `name`, or -1. */\n"
    "int vg_descriptor_find_file(const char *name);\n"
    "/* The index of the file defining the fully-qualified `symbol` (a leading '.' is\n"
    " * ignored), or -1. */\n"
    "int vg_descriptor_find_symbol(const char *symbol);\n"
    "/* The index of the file defining extension `number` of `extendee`, or -1. */\n"
    "int vg_descriptor_find_extension(const char *extendee, int32_t number);\n"
    "/* The extensions of `extendee`, by number: returns how many and points `*first` at\n"
    " * the first of them in vg_descriptor_extensions[] (NULL when none). */\n"
    "size_t vg_descriptor_find_extensions(const char *extendee,\n"
    "                                     const vg_descriptor_extension **first);\n";

// Identical for every input: generated only so the data and its accessors are one unit.
const char *const kLookupFunctions =
    "static int\n"
    "vg_descriptor_compare_symbol(const void *key, const void *element)\n"
    "{\n"
    "    const vg_descriptor_symbol *symbol = element;\n"
    "\n"
    "    return strcmp(key, symbol->name);\n"
    "}\n"
    "\n"
    "int\n"
    "vg_descriptor_find_file(const char *name)\n"
    "{\n"
    "    size_t i;\n"
    "\n"
    "    for (i = 0; name != NULL && i < vg_descriptor_files_count; i++) {\n"
    "        if (strcmp(vg_descriptor_files[i].name, name) == 0)\n"
    "            return (int)i;\n"
    "    }\n"
    "    return -1;\n"
    "}\n"
    "\n"
    "int\n"
    "vg_descriptor_find_symbol(const char *symbol)\n"
    "{\n"
    "    const vg_descriptor_symbol *found;\n"
    "\n"
    "    if (symbol == NULL || vg_descriptor_symbols_count == 0)\n"
    "        return -1;\n"
    "    if (symbol[0] == '.')\n"
    "        symbol++;\n"
    "    found = bsearch(symbol, vg_descriptor_symbols, vg_descriptor_symbols_count,\n"
    "                    sizeof(vg_descriptor_symbols[0]), vg_descriptor_compare_symbol);\n"
    "    return found != NULL ? found->file : -1;\n"
    "}\n"
    "\n"
    "size_t\n"
    "vg_descriptor_find_extensions(const char *extendee,\n"
    "                              const vg_descriptor_extension **first)\n"
    "{\n"
    "    size_t start = 0;\n"
    "    size_t end;\n"
    "\n"
    "    *first = NULL;\n"
    "    if (extendee == NULL)\n"
    "        return 0;\n"
    "    if (extendee[0] == '.')\n"
    "        extendee++;\n"
    "    while (start < vg_descriptor_extensions_count &&\n"
    "           strcmp(vg_descriptor_extensions[start].extendee, extendee) != 0)\n"
    "        start++;\n"
    "    end = start;\n"
    "    while (end < vg_descriptor_extensions_count &&\n"
    "           strcmp(vg_descriptor_extensions[end].extendee, extendee) == 0)\n"
    "        end++;\n"
    "    if (end > start)\n"
    "        *first = &vg_descriptor_extensions[start];\n"
    "    return end - start;\n"
    "}\n"
    "\n"
    "int\n"
    "vg_descriptor_find_extension(const char *extendee, int32_t number)\n"
    "{\n"
    "    const vg_descriptor_extension *first;\n"
    "    size_t count = vg_descriptor_find_extensions(extendee, &first);\n"
    "    size_t i;\n"
    "\n"
    "    for (i = 0; i < count; i++) {\n"
    "        if (first[i].number == number)\n"
    "            return first[i].file;\n"
    "    }\n"
    "    return -1;\n"
    "}\n";

}  // namespace

bool
EmitDescriptors(const Request &request, pb::compiler::GeneratorContext *context,
                std::string *error)
{
    std::map<const pb::FileDescriptor *, int> index_of;
    for (size_t i = 0; i < request.all_files.size(); i++) {
        index_of[request.all_files[i]] = static_cast<int>(i);
    }

    SymbolIndex index;
    std::string c = GeneratedBanner("server");
    c += "#include <stdlib.h>\n#include <string.h>\n\n#include \"vg-descriptors.h\"\n\n";
    for (size_t i = 0; i < request.all_files.size(); i++) {
        const pb::FileDescriptor *file = request.all_files[i];
        index.AddFile(file, static_cast<int>(i));
        c += "/* " + file->name() + " */\n";
        c += ByteArray("vg_descriptor_data_" + std::to_string(i), Serialize(file));

        std::set<const pb::FileDescriptor *> deps;
        AddTransitive(file, &deps);
        std::vector<int> dep_indexes;
        for (const pb::FileDescriptor *dep : deps) {
            dep_indexes.push_back(index_of.at(dep));
        }
        std::sort(dep_indexes.begin(), dep_indexes.end());
        if (!dep_indexes.empty()) {
            c += "static const int vg_descriptor_deps_" + std::to_string(i) + "[] = {";
            for (int dep : dep_indexes) {
                c += " " + std::to_string(dep) + ",";
            }
            c += " };\n";
        }
        c += "\n";
    }

    c += "const vg_descriptor_file vg_descriptor_files[] = {\n";
    for (size_t i = 0; i < request.all_files.size(); i++) {
        const pb::FileDescriptor *file = request.all_files[i];
        std::string n = std::to_string(i);
        std::string data = "vg_descriptor_data_" + n;
        std::string deps = "vg_descriptor_deps_" + n;
        c += "    {\n"
             "        .name = " + CString(file->name()) + ",\n"
             "        .data = " + data + ",\n"
             "        .size = sizeof(" + data + "),\n";
        if (file->dependency_count() > 0) {
            c += "        .deps = " + deps + ",\n"
                 "        .n_deps = sizeof(" + deps + ") / sizeof(" + deps + "[0]),\n";
        }
        c += "    },\n";
    }
    if (request.all_files.empty()) {
        c += "    { NULL, NULL, 0, NULL, 0 },\n";
    }
    c += "};\nconst size_t vg_descriptor_files_count = " +
         std::to_string(request.all_files.size()) + ";\n\n";

    c += "const vg_descriptor_symbol vg_descriptor_symbols[] = {\n";
    for (const auto &symbol : index.symbols()) {
        c += "    { " + CString(symbol.first) + ", " + std::to_string(symbol.second) + " },\n";
    }
    if (index.symbols().empty()) {
        c += "    { NULL, -1 },\n";
    }
    c += "};\nconst size_t vg_descriptor_symbols_count = " +
         std::to_string(index.symbols().size()) + ";\n\n";

    std::vector<Extension> extensions = index.sorted_extensions();
    c += "const vg_descriptor_extension vg_descriptor_extensions[] = {\n";
    for (const Extension &extension : extensions) {
        c += "    { " + CString(extension.extendee) + ", " + std::to_string(extension.number) +
             ", " + std::to_string(extension.file) + " },\n";
    }
    if (extensions.empty()) {
        c += "    { NULL, 0, -1 },\n";
    }
    c += "};\nconst size_t vg_descriptor_extensions_count = " +
         std::to_string(extensions.size()) + ";\n\n";

    c += "const char *const vg_descriptor_services[] = {\n";
    for (const std::string &service : index.services()) {
        c += "    " + CString(service) + ",\n";
    }
    if (index.services().empty()) {
        c += "    NULL,\n";
    }
    c += "};\nconst size_t vg_descriptor_services_count = " +
         std::to_string(index.services().size()) + ";\n\n";
    c += kLookupFunctions;

    std::string h = GeneratedBanner("server");
    h += kHeaderDoc;
    h += "#pragma once\n\n#include <stddef.h>\n#include <stdint.h>\n\n"
         "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
    h += kHeaderApi;
    h += "\n#ifdef __cplusplus\n}\n#endif\n";

    (void)error;
    return WriteFile(context, "vg-descriptors.h", h) &&
           WriteFile(context, "vg-descriptors.c", c);
}

}  // namespace vg_codegen
