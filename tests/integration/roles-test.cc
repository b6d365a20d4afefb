// Roles over EVERY RPC: the services and their descriptors come from the server's
// reflection (so an RPC added later is swept without touching this file), each method's
// required role from its `option (virtgrpc.v1.role)` in those descriptors. For each caller
// role (a client certificate mapped to read-only, operator, admin, and one mapped to
// nothing):
// - an allowed RPC, called with an empty request, is not refused by the role check (it
//   may fail for other reasons: no domain given);
// - a denied RPC, called with the stock domain in its DomainRef, gets PERMISSION_DENIED
//   with reason VIRTGRPC_PERMISSION_DENIED naming the method's role and the caller's,
//   and nothing changes: the domain's XML and state, the domain list and the job list
//   are the same after the whole sweep.
#include <map>
#include <string>
#include <vector>

#include <set>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "tests/support/raw-call.h"
#include "tests/support/rpc-status.h"
#include "tests/support/server-test.h"
#include "tests/support/test-pki.h"
#include "tests/support/virtgrpcd-process.h"
#include "virtgrpc/v1/domain.grpc.pb.h"
#include "virtgrpc/v1/jobs.grpc.pb.h"
#include "virtgrpc/v1/options.pb.h"

namespace virtgrpc::testing
{
namespace
{

namespace pb = google::protobuf;

constexpr std::chrono::milliseconds kStreamTimeout{5000};

const char *
RoleName(v1::Role role)
{
    switch (role) {
    case v1::ROLE_READ_ONLY:
        return "read-only";
    case v1::ROLE_OPERATOR:
        return "operator";
    case v1::ROLE_ADMIN:
        return "admin";
    default:
        return "none";
    }
}

// The role an RPC requires: its option, or read-only for the standard services (health,
// reflection) whose .proto files carry no virtgrpc option.
v1::Role
RequiredRole(const pb::MethodDescriptor *method)
{
    if (method->service()->file()->package() != "virtgrpc.v1")
        return v1::ROLE_READ_ONLY;
    return method->options().GetExtension(v1::role);
}

std::string
Path(const pb::MethodDescriptor *method)
{
    return "/" + method->service()->full_name() + "/" + method->name();
}

// The request with every top-level DomainRef naming the stock domain, serialized: what
// would act on it if the call were allowed.
std::string
RequestOnStockDomain(const pb::MethodDescriptor *method, pb::DynamicMessageFactory *factory)
{
    std::unique_ptr<pb::Message> request(
        factory->GetPrototype(method->input_type())->New());
    const pb::Reflection *reflection = request->GetReflection();
    for (int i = 0; i < method->input_type()->field_count(); i++) {
        const pb::FieldDescriptor *field = method->input_type()->field(i);
        if (field->is_repeated() || field->message_type() == nullptr ||
            field->message_type()->full_name() != "virtgrpc.v1.DomainRef")
            continue;
        std::string ref = RefByName(kStockDomainName).SerializeAsString();
        EXPECT_TRUE(reflection->MutableMessage(request.get(), field, factory)
                        ->ParseFromString(ref));
    }
    return request->SerializeAsString();
}

// What a sweep must not change, read through an admin channel.
struct Snapshot {
    std::string xml;
    v1::DomainState state;
    std::vector<std::string> domains;
    int jobs;

    bool
    operator==(const Snapshot &other) const
    {
        return xml == other.xml && state == other.state && domains == other.domains &&
               jobs == other.jobs;
    }
};

class RolesTest : public ::testing::Test
{
  protected:
    static void
    SetUpTestSuite()
    {
        pki_ = new TestPki();
        ASSERT_TRUE(pki_->ok());
        for (const char *name : {"read-only", "operator", "admin", "unmapped"})
            ASSERT_TRUE(pki_->IssueClient(name, std::string(name) + "-client"));
    }
    static void
    TearDownTestSuite()
    {
        delete pki_;
        pki_ = nullptr;
    }

    void
    SetUp() override
    {
        VirtgrpcdProcess::Options options;
        options.extra_args = pki_->ServerArgs(true);
        for (const char *role : {"read-only", "operator", "admin"})
            options.extra_args.push_back(std::string("--role=") + role + "-client=" + role);
        server_ = std::make_unique<VirtgrpcdProcess>(options);
        ASSERT_TRUE(server_->running());
        admin_ = Channel("admin");
    }

    void
    TearDown() override
    {
        if (HasFailure())
            std::cerr << "virtgrpcd log:\n" << server_->Log();
    }

    std::shared_ptr<grpc::Channel>
    Channel(const std::string &client)
    {
        return pki_->Channel(server_->target(), client);
    }

    // One question to the server's reflection (v1), one answer.
    grpc::reflection::v1::ServerReflectionResponse
    Ask(const grpc::reflection::v1::ServerReflectionRequest &request)
    {
        auto stub = grpc::reflection::v1::ServerReflection::NewStub(admin_);
        auto context = ContextWithDeadline();
        auto stream = stub->ServerReflectionInfo(context.get());
        grpc::reflection::v1::ServerReflectionResponse response;
        EXPECT_TRUE(stream->Write(request));
        stream->WritesDone();
        EXPECT_TRUE(stream->Read(&response));
        while (stream->Read(nullptr)) {
        }
        EXPECT_TRUE(Succeeded(stream->Finish()));
        return response;
    }

    // Every method of every service the server lists, described by the files the
    // server's reflection returns (the role option included: options.pb.h registers the
    // extension, so it parses as one).
    std::vector<const pb::MethodDescriptor *>
    ServedMethods()
    {
        grpc::reflection::v1::ServerReflectionRequest list;
        list.set_list_services("");
        std::vector<std::string> services;
        auto listed = Ask(list);
        for (const auto &service : listed.list_services_response().service())
            services.push_back(service.name());

        std::set<std::string> files;
        for (const std::string &service : services) {
            grpc::reflection::v1::ServerReflectionRequest request;
            request.set_file_containing_symbol(service);
            auto answer = Ask(request);
            for (const std::string &bytes :
                 answer.file_descriptor_response().file_descriptor_proto()) {
                pb::FileDescriptorProto file;
                EXPECT_TRUE(file.ParseFromString(bytes));
                if (files.insert(file.name()).second)
                    EXPECT_TRUE(served_files_.Add(file)) << file.name();
            }
        }
        pool_ = std::make_unique<pb::DescriptorPool>(&files_, nullptr);
        factory_ = std::make_unique<pb::DynamicMessageFactory>(pool_.get());

        std::vector<const pb::MethodDescriptor *> methods;
        for (const std::string &service : services) {
            const pb::ServiceDescriptor *descriptor = pool_->FindServiceByName(service);
            EXPECT_NE(descriptor, nullptr) << "reflection does not describe " << service;
            for (int i = 0; descriptor && i < descriptor->method_count(); i++)
                methods.push_back(descriptor->method(i));
        }
        return methods;
    }

    Snapshot
    Take()
    {
        Snapshot snapshot;
        auto domains = v1::DomainService::NewStub(admin_);
        {
            auto context = ContextWithDeadline();
            v1::GetDomainXMLRequest request;
            *request.mutable_domain() = RefByName(kStockDomainName);
            v1::GetDomainXMLResponse response;
            EXPECT_TRUE(
                Succeeded(domains->GetDomainXML(context.get(), request, &response)));
            snapshot.xml = response.xml();
        }
        {
            auto context = ContextWithDeadline();
            v1::GetDomainStateRequest request;
            *request.mutable_domain() = RefByName(kStockDomainName);
            v1::DomainStateInfo response;
            EXPECT_TRUE(
                Succeeded(domains->GetDomainState(context.get(), request, &response)));
            snapshot.state = response.state();
        }
        {
            auto context = ContextWithDeadline();
            v1::ListDomainsResponse response;
            EXPECT_TRUE(Succeeded(domains->ListDomains(context.get(), {}, &response)));
            for (const auto &domain : response.domains())
                snapshot.domains.push_back(domain.name());
        }
        {
            auto context = ContextWithDeadline();
            v1::ListJobsResponse response;
            EXPECT_TRUE(Succeeded(
                v1::JobService::NewStub(admin_)->ListJobs(context.get(), {}, &response)));
            snapshot.jobs = response.jobs_size();
        }
        return snapshot;
    }

    grpc::Status
    Call(const std::shared_ptr<grpc::Channel> &channel, const pb::MethodDescriptor *method,
         const std::string &payload)
    {
        if (!method->client_streaming() && !method->server_streaming())
            return CallRawUnary(channel, Path(method), payload, kCallTimeout);
        int messages = 0;
        return CallRawStream(channel, Path(method), payload, kStreamTimeout, &messages);
    }

    // Calls every served RPC as `client` (whose role is `role`, ROLE_UNSPECIFIED for
    // none) and checks each outcome against the RPC's required role.
    void
    Sweep(const std::string &client, v1::Role role)
    {
        auto channel = Channel(client);
        std::vector<const pb::MethodDescriptor *> methods = ServedMethods();
        std::map<v1::Role, int> per_role;
        int allowed = 0;
        int denied = 0;

        ASSERT_GT(methods.size(), 150u);
        Snapshot before = Take();
        for (const pb::MethodDescriptor *method : methods) {
            v1::Role required = RequiredRole(method);
            ASSERT_NE(required, v1::ROLE_UNSPECIFIED) << Path(method) << " has no role";
            per_role[required]++;
            if (role >= required) {
                grpc::Status status = Call(channel, method, "");
                auto info = ErrorInfoOf(status);
                EXPECT_FALSE(status.error_code() == grpc::StatusCode::PERMISSION_DENIED &&
                             info && info->reason() == "VIRTGRPC_PERMISSION_DENIED")
                    << Path(method) << " (" << RoleName(required) << ") refused to "
                    << RoleName(role) << ": " << Describe(status);
                allowed++;
            } else {
                grpc::Status status =
                    Call(channel, method, RequestOnStockDomain(method, factory_.get()));
                EXPECT_TRUE(FailedWith(status, grpc::StatusCode::PERMISSION_DENIED,
                                       "VIRTGRPC_PERMISSION_DENIED"))
                    << Path(method) << " (" << RoleName(required) << ") as "
                    << RoleName(role);
                std::string expected = "'" + Path(method) + "' requires role '" +
                                       RoleName(required) + "'; the caller '" + client +
                                       "-client' has role '" + RoleName(role) + "'";
                EXPECT_EQ(status.error_message(), expected);
                denied++;
            }
        }
        EXPECT_EQ(Take(), before)
            << "the sweep (denied calls on the stock domain, allowed ones empty) changed "
               "something";
        // Every role is used by some RPC, so every sweep crosses the boundary.
        EXPECT_GT(per_role[v1::ROLE_READ_ONLY], 0);
        EXPECT_GT(per_role[v1::ROLE_OPERATOR], 0);
        EXPECT_GT(per_role[v1::ROLE_ADMIN], 0);
        std::cerr << client << ": " << allowed << " allowed, " << denied << " denied of "
                  << methods.size() << " RPCs\n";
    }

    static TestPki *pki_;
    std::unique_ptr<VirtgrpcdProcess> server_;
    std::shared_ptr<grpc::Channel> admin_;
    // The server's files first; google/protobuf/descriptor.proto (which options.proto
    // extends) from the C++ library when reflection does not send it.
    pb::SimpleDescriptorDatabase served_files_;
    pb::DescriptorPoolDatabase linked_files_{*pb::DescriptorPool::generated_pool()};
    pb::MergedDescriptorDatabase files_{&served_files_, &linked_files_};
    std::unique_ptr<pb::DescriptorPool> pool_;
    std::unique_ptr<pb::DynamicMessageFactory> factory_;
};

TestPki *RolesTest::pki_ = nullptr;

void
PrintTo(const Snapshot &snapshot, std::ostream *out)
{
    *out << "state " << snapshot.state << ", " << snapshot.domains.size() << " domains, "
         << snapshot.jobs << " jobs, XML of " << snapshot.xml.size() << " bytes";
}

TEST_F(RolesTest, ReadOnlyCallerGetsExactlyTheReadOnlyRpcs)
{
    Sweep("read-only", v1::ROLE_READ_ONLY);
}

TEST_F(RolesTest, OperatorGetsReadOnlyAndOperatorRpcs)
{
    Sweep("operator", v1::ROLE_OPERATOR);
}

TEST_F(RolesTest, AdminGetsEveryRpc)
{
    Sweep("admin", v1::ROLE_ADMIN);
}

TEST_F(RolesTest, UnmappedCertificateGetsNoRpc)
{
    Sweep("unmapped", v1::ROLE_UNSPECIFIED);
}

} // namespace
} // namespace virtgrpc::testing
