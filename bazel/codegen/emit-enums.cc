// mode=server: vg-enums.h / vg-enums.c, one vg_enum_map (server/enum-map.h) per proto
// enum whose values carry `(virtgrpc.v1.libvirt) = "VIR_..."`.
//
// The plugin is not compiled with options.proto, so the option arrives as an unknown
// field of EnumValueOptions. Its number is looked up by name in the request's own
// descriptors (options.proto is always among them when an enum uses the option), so a
// renumbered option can never be misread.
#include <cctype>
#include <map>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/unknown_field_set.h>

#include "bazel/codegen/codegen.h"

namespace vg_codegen {
namespace {

constexpr const char *kLibvirtOption = "virtgrpc.v1.libvirt";

struct Entry {
    int proto_value;
    std::string constant;
    std::string name;
};

struct EnumMap {
    const pb::EnumDescriptor *enum_type;
    std::vector<Entry> entries;
};

bool
IsCIdentifier(const std::string &text)
{
    if (text.empty() || std::isdigit(static_cast<unsigned char>(text[0]))) {
        return false;
    }
    for (char c : text) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
            return false;
        }
    }
    return true;
}

// The option's value on `value` in `constant`, "" when absent.
bool
LibvirtConstant(const pb::EnumValueDescriptor *value, int option_number,
                std::string *constant, std::string *error)
{
    const pb::UnknownFieldSet &unknown =
        value->options().GetReflection()->GetUnknownFields(value->options());
    constant->clear();
    for (int i = 0; i < unknown.field_count(); i++) {
        const pb::UnknownField &field = unknown.field(i);
        if (field.number() != option_number) {
            continue;
        }
        if (field.type() != pb::UnknownField::TYPE_LENGTH_DELIMITED) {
            *error = value->full_name() + ": option (" + kLibvirtOption +
                     ") is not a string on the wire";
            return false;
        }
        *constant = field.length_delimited();  // The last occurrence wins, as in proto.
    }
    if (!constant->empty() && !IsCIdentifier(*constant)) {
        *error = value->full_name() + ": option (" + kLibvirtOption + ") value '" +
                 *constant + "' is not a C identifier";
        return false;
    }
    return true;
}

bool
CollectEnum(const pb::EnumDescriptor *enum_type, int option_number,
            std::vector<EnumMap> *maps, std::string *error)
{
    EnumMap map{enum_type, {}};
    for (int i = 0; i < enum_type->value_count(); i++) {
        const pb::EnumValueDescriptor *value = enum_type->value(i);
        std::string constant;
        if (!LibvirtConstant(value, option_number, &constant, error)) {
            return false;
        }
        if (!constant.empty()) {
            map.entries.push_back({value->number(), constant, value->name()});
        }
    }
    if (!map.entries.empty()) {
        maps->push_back(map);
    }
    return true;
}

bool
CollectMessageEnums(const pb::Descriptor *message, int option_number,
                    std::vector<EnumMap> *maps, std::string *error)
{
    for (int i = 0; i < message->enum_type_count(); i++) {
        if (!CollectEnum(message->enum_type(i), option_number, maps, error)) {
            return false;
        }
    }
    for (int i = 0; i < message->nested_type_count(); i++) {
        if (!CollectMessageEnums(message->nested_type(i), option_number, maps, error)) {
            return false;
        }
    }
    return true;
}

// -1 when no input file defines the option (then no enum can use it), -2 on error.
int
OptionNumber(const Request &request, std::string *error)
{
    if (request.all_files.empty()) {
        return -1;
    }
    const pb::FieldDescriptor *option =
        request.all_files[0]->pool()->FindExtensionByName(kLibvirtOption);
    if (option == nullptr) {
        return -1;
    }
    if (option->containing_type()->full_name() != "google.protobuf.EnumValueOptions" ||
        option->type() != pb::FieldDescriptor::TYPE_STRING) {
        *error = std::string(kLibvirtOption) +
                 " must be a string extension of google.protobuf.EnumValueOptions";
        return -2;
    }
    return option->number();
}

}  // namespace

bool
EmitEnums(const Request &request, pb::compiler::GeneratorContext *context,
          std::string *error)
{
    int option_number = OptionNumber(request, error);
    if (option_number == -2) {
        return false;
    }

    std::vector<EnumMap> maps;
    if (option_number > 0) {
        for (const pb::FileDescriptor *file : request.to_generate) {
            for (int i = 0; i < file->enum_type_count(); i++) {
                if (!CollectEnum(file->enum_type(i), option_number, &maps, error)) {
                    return false;
                }
            }
            for (int i = 0; i < file->message_type_count(); i++) {
                if (!CollectMessageEnums(file->message_type(i), option_number, &maps,
                                         error)) {
                    return false;
                }
            }
        }
    }

    std::map<std::string, std::string> names;  // C name -> enum, to catch collisions.
    for (const EnumMap &map : maps) {
        auto inserted = names.emplace(EnumMapName(map.enum_type), map.enum_type->full_name());
        if (!inserted.second) {
            *error = map.enum_type->full_name() + ": map name " + EnumMapName(map.enum_type) +
                     " is also used by " + inserted.first->second;
            return false;
        }
    }

    std::string h = GeneratedBanner("server");
    h += "/*\n"
         " * Proto enum <-> libvirt constant maps, one per enum with (virtgrpc.v1.libvirt)\n"
         " * values. Entries are in .proto order and hold annotated values only.\n"
         " * vg_enum_maps[] lists them all (for tests and tools).\n"
         " */\n"
         "#pragma once\n\n"
         "#include \"server/enum-map.h\"\n\n"
         "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
    for (const EnumMap &map : maps) {
        std::string comment = map.enum_type->full_name();
        std::string leading = LeadingComment(map.enum_type);
        if (!leading.empty()) {
            comment += ":\n" + leading;
        }
        h += CComment(comment);
        h += "extern const vg_enum_map " + EnumMapName(map.enum_type) + ";\n\n";
    }
    h += "extern const vg_enum_map *const vg_enum_maps[];\n"
         "extern const size_t vg_enum_maps_count;\n\n"
         "#ifdef __cplusplus\n}\n#endif\n";

    std::string c = GeneratedBanner("server");
    c += "#include <libvirt/libvirt.h>\n\n"
         "#include \"vg-enums.h\"\n\n";
    for (const EnumMap &map : maps) {
        std::string name = EnumMapName(map.enum_type);
        c += "static const vg_enum_entry " + name + "_entries[] = {\n";
        for (const Entry &entry : map.entries) {
            c += "    { " + std::to_string(entry.proto_value) + ", " + entry.constant + ", " +
                 CString(entry.name) + " },\n";
        }
        c += "};\n\n"
             "const vg_enum_map " + name + " = {\n"
             "    .full_name = " + CString(map.enum_type->full_name()) + ",\n"
             "    .n_entries = " + std::to_string(map.entries.size()) + ",\n"
             "    .entries = " + name + "_entries,\n"
             "};\n\n";
    }
    if (maps.empty()) {
        c += "const vg_enum_map *const vg_enum_maps[1];\n";
    } else {
        c += "const vg_enum_map *const vg_enum_maps[] = {\n";
        for (const EnumMap &map : maps) {
            c += "    &" + EnumMapName(map.enum_type) + ",\n";
        }
        c += "};\n";
    }
    c += "const size_t vg_enum_maps_count = " + std::to_string(maps.size()) + ";\n";

    return WriteFile(context, "vg-enums.h", h) && WriteFile(context, "vg-enums.c", c);
}

}  // namespace vg_codegen
