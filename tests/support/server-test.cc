#include "tests/support/server-test.h"

#include <iostream>

namespace virtgrpc::testing {

std::string MinimalDomainXml(const std::string &name) {
    return "<domain type='test'><name>" + name +
           "</name><memory>8192</memory><os><type>hvm</type></os></domain>";
}

v1::DomainRef RefByName(const std::string &name) {
    v1::DomainRef ref;
    ref.set_name(name);
    return ref;
}

v1::DomainRef RefByUuid(const std::string &uuid) {
    v1::DomainRef ref;
    ref.set_uuid(uuid);
    return ref;
}

v1::DomainRef RefById(uint32_t id) {
    v1::DomainRef ref;
    ref.set_id(id);
    return ref;
}

void ServerTest::SetUp() {
    server_ = std::make_unique<VirtgrpcdProcess>(options_);
    ASSERT_TRUE(server_->running()) << "virtgrpcd did not start";

    channel_ = grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials());
    ASSERT_TRUE(channel_->WaitForConnected(std::chrono::system_clock::now() + kCallTimeout))
        << "cannot connect to virtgrpcd at " << server_->target() << ":\n"
        << server_->Log();
    domains_ = v1::DomainService::NewStub(channel_);
    health_ = grpc::health::v1::Health::NewStub(channel_);
}

void ServerTest::TearDown() {
    if (HasFailure() && server_)
        std::cerr << "---- virtgrpcd log ----\n" << server_->Log() << "---- end of log ----\n";
    Disconnect();
    // Stops with SIGTERM and expects exit code 0.
    server_.reset();
}

void ServerTest::Disconnect() {
    domains_.reset();
    health_.reset();
    channel_.reset();
}

v1::Domain ServerTest::DefineDomain(const std::string &name) {
    v1::DefineDomainRequest request;
    request.set_xml(MinimalDomainXml(name));
    v1::Domain domain;
    EXPECT_TRUE(Succeeded(domains_->DefineDomain(ContextWithDeadline().get(), request, &domain)))
        << "defining '" << name << "'";
    return domain;
}

v1::Domain ServerTest::DefineRunningDomain(const std::string &name) {
    DefineDomain(name);
    v1::StartDomainRequest request;
    *request.mutable_domain() = RefByName(name);
    v1::Domain domain;
    EXPECT_TRUE(Succeeded(domains_->StartDomain(ContextWithDeadline().get(), request, &domain)))
        << "starting '" << name << "'";
    return domain;
}

grpc::Status ServerTest::GetDomain(const std::string &name, v1::Domain *domain) {
    v1::GetDomainRequest request;
    *request.mutable_domain() = RefByName(name);
    return domains_->GetDomain(ContextWithDeadline().get(), request, domain);
}

v1::DomainStateInfo ServerTest::StateOf(const std::string &name) {
    v1::GetDomainStateRequest request;
    *request.mutable_domain() = RefByName(name);
    v1::DomainStateInfo state;
    EXPECT_TRUE(Succeeded(domains_->GetDomainState(ContextWithDeadline().get(), request, &state)))
        << "reading the state of '" << name << "'";
    return state;
}

std::vector<std::string> ServerTest::DomainNames(
    std::initializer_list<v1::ListDomainsFilter> filters) {
    v1::ListDomainsRequest request;
    for (v1::ListDomainsFilter filter : filters)
        request.add_filters(filter);
    v1::ListDomainsResponse response;
    EXPECT_TRUE(Succeeded(domains_->ListDomains(ContextWithDeadline().get(), request, &response)));
    std::vector<std::string> names;
    for (const v1::Domain &domain : response.domains())
        names.push_back(domain.name());
    return names;
}

grpc::Status ServerTest::CheckHealth(const std::string &service,
                                     grpc::health::v1::HealthCheckResponse *response) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    return health_->Check(ContextWithDeadline().get(), request, response);
}

::testing::AssertionResult ServerTest::ServerStillServes() {
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = CheckHealth("", &response);
    if (!status.ok())
        return ::testing::AssertionFailure() << "Health.Check failed: " << Describe(status);
    if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
        return ::testing::AssertionFailure()
               << "Health.Check says "
               << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
    }
    return ::testing::AssertionSuccess();
}

}  // namespace virtgrpc::testing
