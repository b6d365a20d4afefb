// Requests for one domain, by name: every virtgrpc request has `DomainRef domain = 1`,
// and those of calls taking AFFECT_* flags a `repeated ModificationImpact impact`. Plus
// the two DomainService reads that tests of other services check changes with.
#pragma once

#include <initializer_list>
#include <string>

#include "tests/support/server-test.h"
#include "virtgrpc/v1/domain.grpc.pb.h"

namespace virtgrpc::testing {

// A request for the domain called `domain`.
template <typename Request>
Request RequestFor(const std::string &domain) {
    Request request;
    *request.mutable_domain() = RefByName(domain);
    return request;
}

// The same, for requests with an `impact` field.
template <typename Request>
Request RequestFor(const std::string &domain,
                   std::initializer_list<v1::ModificationImpact> impact) {
    Request request = RequestFor<Request>(domain);
    for (v1::ModificationImpact i : impact)
        request.add_impact(i);
    return request;
}

// The domain's XML (the persistent configuration with `inactive`); fails the test when
// the call fails.
inline std::string DomainXmlOf(v1::DomainService::Stub &domains, const std::string &domain,
                               bool inactive = false) {
    auto request = RequestFor<v1::GetDomainXMLRequest>(domain);
    if (inactive)
        request.add_flags(v1::DOMAIN_XML_FLAG_INACTIVE);
    v1::GetDomainXMLResponse response;
    EXPECT_TRUE(
        Succeeded(domains.GetDomainXML(ContextWithDeadline().get(), request, &response)))
        << "XML of " << domain;
    return response.xml();
}

// GetDomainInfo; fails the test when the call fails.
inline v1::DomainInfo DomainInfoOf(v1::DomainService::Stub &domains,
                                   const std::string &domain) {
    v1::DomainInfo info;
    EXPECT_TRUE(Succeeded(domains.GetDomainInfo(
        ContextWithDeadline().get(), RequestFor<v1::GetDomainInfoRequest>(domain), &info)))
        << "info of " << domain;
    return info;
}

}  // namespace virtgrpc::testing
