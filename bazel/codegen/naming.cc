// Naming rules of the generated C API. Two families live here: our own (handler and
// client function names, enum map names), and a faithful copy of protoc-c 1.4's rules
// (protoc-c/c_helpers.cc: ToCamel, CamelToLower, FullNameToC, FullNameToLower), which
// the generated code must match symbol for symbol to link against protoc-c's output.
#include <cctype>

#include "bazel/codegen/codegen.h"

namespace vg_codegen {
namespace {

bool
IsUpper(char c)
{
    return std::isupper(static_cast<unsigned char>(c)) != 0;
}

bool
IsLowerOrDigit(char c)
{
    return std::islower(static_cast<unsigned char>(c)) != 0 ||
           std::isdigit(static_cast<unsigned char>(c)) != 0;
}

char
Lower(char c)
{
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

std::vector<std::string>
SplitDots(const std::string &name)
{
    std::vector<std::string> pieces;
    size_t start = 0;
    while (start <= name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string::npos) {
            dot = name.size();
        }
        if (dot > start) {
            pieces.push_back(name.substr(start, dot - start));
        }
        start = dot + 1;
    }
    return pieces;
}

// protoc-c's ToCamel: "get_domain" -> "GetDomain", "v1" -> "V1".
std::string
PbcToCamel(const std::string &name)
{
    std::string out;
    bool next_is_upper = true;
    for (char c : name) {
        if (c == '_') {
            next_is_upper = true;
        } else if (next_is_upper) {
            out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            next_is_upper = false;
        } else {
            out += c;
        }
    }
    return out;
}

// protoc-c's CamelToLower: unlike Snake() it splits no acronyms ("XMLDesc" ->
// "xmldesc"), because it only inserts '_' where a capital follows a non-capital.
std::string
PbcCamelToLower(const std::string &name)
{
    std::string out;
    bool was_upper = true;
    for (char c : name) {
        bool is_upper = IsUpper(c);
        if (is_upper && !was_upper) {
            out += '_';
        }
        out += is_upper ? Lower(c) : c;
        was_upper = is_upper;
    }
    return out;
}

std::string
JoinPieces(const std::string &full_name, std::string (*convert)(const std::string &),
           const std::string &separator)
{
    std::string out;
    for (const std::string &piece : SplitDots(full_name)) {
        if (!out.empty()) {
            out += separator;
        }
        out += convert(piece);
    }
    return out;
}

std::string
PackagePrefix(const std::string &package)
{
    if (package == kProjectPackage || package.empty()) {
        return "";
    }
    return JoinPieces(package, Snake, "_") + "_";
}

}  // namespace

std::string
Snake(const std::string &camel)
{
    std::string out;
    for (size_t i = 0; i < camel.size(); i++) {
        char c = camel[i];
        if (!IsUpper(c)) {
            out += c;
            continue;
        }
        bool after_word = i > 0 && IsLowerOrDigit(camel[i - 1]);
        bool ends_acronym = i > 0 && IsUpper(camel[i - 1]) && i + 1 < camel.size() &&
                            std::islower(static_cast<unsigned char>(camel[i + 1]));
        if (after_word || ends_acronym) {
            out += '_';
        }
        out += Lower(c);
    }
    return out;
}

std::string
RpcSuffix(const pb::MethodDescriptor *method)
{
    const pb::ServiceDescriptor *service = method->service();
    return PackagePrefix(service->file()->package()) + Snake(service->name()) + "_" +
           Snake(method->name());
}

std::string
CTypeName(const pb::Descriptor *message)
{
    return JoinPieces(message->full_name(), PbcToCamel, "__");
}

std::string
CDescriptorName(const pb::Descriptor *message)
{
    return JoinPieces(message->full_name(), PbcCamelToLower, "__") + "__descriptor";
}

std::string
PbcHeader(const pb::FileDescriptor *file)
{
    std::string name = file->name();
    const std::string suffix = ".proto";
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        name.resize(name.size() - suffix.size());
    }
    return name + ".pb-c.h";
}

std::string
EnumMapName(const pb::EnumDescriptor *enum_type)
{
    std::string name = enum_type->full_name();
    const std::string project_prefix = std::string(kProjectPackage) + ".";
    if (name.compare(0, project_prefix.size(), project_prefix) == 0) {
        name = name.substr(project_prefix.size());
    }
    return "vg_enum_" + JoinPieces(name, Snake, "_");
}

}  // namespace vg_codegen
