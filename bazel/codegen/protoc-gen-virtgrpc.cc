// protoc-gen-virtgrpc: virtgrpc's protoc plugin.
//
// protoc runs it once over every project .proto file:
//
//   protoc --plugin=protoc-gen-virtgrpc=... --virtgrpc_out=OUTDIR
//          --virtgrpc_opt=mode=server,inline=grpc.health.v1.Health:... FILES...
//
// mode=server writes vg-methods.{h,c} (handler prototypes and the method table),
// vg-enums.{h,c} (proto enum <-> libvirt constant maps) and vg-descriptors.{h,c} (the
// reflection data); mode=client writes vg-client-gen.{h,c} (one typed function per RPC).
// The parameter goes in --virtgrpc_opt, not in --virtgrpc_out: protoc cuts an _out
// value at its first ':', which the inline= list uses as its separator.
#include <google/protobuf/compiler/plugin.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/unknown_field_set.h>

#include "bazel/codegen/codegen.h"

namespace vg_codegen {
namespace {

// protoc-c's (pb_c_file).c_package renames every C symbol of a file; the naming rules
// in naming.cc do not follow it, so refuse it rather than generate code that fails to
// link.
constexpr int kPbcFileOptionsNumber = 1019;

// "a.B:c.D" -> {"a.B", "c.D"}. The separator is ':' because ',' separates parameters.
void
SplitServices(const std::string &value, std::set<std::string> *services)
{
    size_t from = 0;
    while (from <= value.size()) {
        size_t colon = value.find(':', from);
        if (colon == std::string::npos) {
            colon = value.size();
        }
        if (colon > from) {
            services->insert(value.substr(from, colon - from));
        }
        from = colon + 1;
    }
}

bool
ParseOptions(const std::string &parameter, Options *options, std::string *error)
{
    size_t start = 0;
    while (start < parameter.size()) {
        size_t end = parameter.find(',', start);
        if (end == std::string::npos) {
            end = parameter.size();
        }
        std::string item = parameter.substr(start, end - start);
        start = end + 1;
        if (item.empty()) {
            continue;
        }
        size_t equals = item.find('=');
        std::string key = item.substr(0, equals);
        std::string value = equals == std::string::npos ? "" : item.substr(equals + 1);
        if (key == "mode") {
            options->mode = value;
        } else if (key == "inline") {
            SplitServices(value, &options->inline_services);
        } else if (key == "read_only") {
            SplitServices(value, &options->read_only_services);
        } else {
            *error = "unknown parameter '" + key + "' (expected mode=, inline=, read_only=)";
            return false;
        }
    }
    if (options->mode != "server" && options->mode != "client") {
        *error = "parameter mode must be 'server' or 'client', got '" + options->mode + "'";
        return false;
    }
    if (options->mode == "client" &&
        (!options->inline_services.empty() || !options->read_only_services.empty())) {
        *error = "parameters inline= and read_only= only apply to mode=server";
        return false;
    }
    return true;
}

void
AddWithImports(const pb::FileDescriptor *file, std::set<const pb::FileDescriptor *> *seen,
               std::vector<const pb::FileDescriptor *> *ordered)
{
    if (!seen->insert(file).second) {
        return;
    }
    for (int i = 0; i < file->dependency_count(); i++) {
        AddWithImports(file->dependency(i), seen, ordered);
    }
    ordered->push_back(file);
}

bool
CheckServicesExist(const Request &request, const std::set<std::string> &services,
                   const char *parameter, std::string *error)
{
    for (const std::string &name : services) {
        bool found = false;
        for (const pb::FileDescriptor *file : request.to_generate) {
            for (int i = 0; i < file->service_count(); i++) {
                found = found || file->service(i)->full_name() == name;
            }
        }
        if (!found) {
            *error = std::string(parameter) + " service '" + name +
                     "' is not defined in any input file";
            return false;
        }
    }
    return true;
}

bool
CheckNoPbcPackage(const Request &request, std::string *error)
{
    for (const pb::FileDescriptor *file : request.all_files) {
        const pb::UnknownFieldSet &unknown =
            file->options().GetReflection()->GetUnknownFields(file->options());
        for (int i = 0; i < unknown.field_count(); i++) {
            if (unknown.field(i).number() == kPbcFileOptionsNumber) {
                *error = file->name() + ": option (pb_c_file) is not supported by "
                         "protoc-gen-virtgrpc's naming rules";
                return false;
            }
        }
    }
    return true;
}

class VirtgrpcGenerator : public pb::compiler::CodeGenerator {
  public:
    bool
    Generate(const pb::FileDescriptor *file, const std::string &parameter,
             pb::compiler::GeneratorContext *context, std::string *error) const override
    {
        return GenerateAll({file}, parameter, context, error);
    }

    bool
    GenerateAll(const std::vector<const pb::FileDescriptor *> &files,
                const std::string &parameter, pb::compiler::GeneratorContext *context,
                std::string *error) const override
    {
        Options options;
        if (!ParseOptions(parameter, &options, error)) {
            return false;
        }

        Request request;
        request.to_generate = files;
        std::set<const pb::FileDescriptor *> seen;
        for (const pb::FileDescriptor *file : files) {
            AddWithImports(file, &seen, &request.all_files);
        }
        if (!CheckNoPbcPackage(request, error) ||
            !CheckServicesExist(request, options.inline_services, "inline", error) ||
            !CheckServicesExist(request, options.read_only_services, "read_only", error)) {
            return false;
        }

        if (options.mode == "client") {
            return EmitClient(request, context, error);
        }
        return EmitMethods(request, options, context, error) &&
               EmitEnums(request, context, error) &&
               EmitDescriptors(request, context, error);
    }

    bool
    HasGenerateAll() const override
    {
        return true;
    }

    uint64_t
    GetSupportedFeatures() const override
    {
        // The generated code only names messages; field presence is protoc-c's concern.
        return FEATURE_PROTO3_OPTIONAL;
    }
};

}  // namespace
}  // namespace vg_codegen

int
main(int argc, char *argv[])
{
    vg_codegen::VirtgrpcGenerator generator;
    return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
