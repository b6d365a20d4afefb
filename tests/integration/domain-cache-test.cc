// The kept domain handles behind GetDomainInfo and GetDomainState
// (server/services/domain-cache.h): a change made through the server is visible to the
// very next read, never the handle kept from before it. Each test first reads the
// domain (so its handle is kept), changes it, then reads it again at once.
#include <string>

#include <gtest/gtest.h>

#include "tests/support/domain-call.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing
{
namespace
{

using Stub = v1::DomainService::Stub;

class DomainCacheTest : public DomainCalls<ServerTest>
{
  protected:
    grpc::Status
    Info(const std::string &name, v1::DomainInfo *info)
    {
        v1::GetDomainInfoRequest request;
        *request.mutable_domain() = RefByName(name);
        return Call(&Stub::GetDomainInfo, request, info);
    }

    grpc::Status
    State(const std::string &name, v1::DomainStateInfo *state)
    {
        v1::GetDomainStateRequest request;
        *request.mutable_domain() = RefByName(name);
        return Call(&Stub::GetDomainState, request, state);
    }

    // A lifecycle RPC taking only the domain (Suspend, Resume, Destroy, Start).
    template <typename Request>
    grpc::Status
    Act(DomainMethod<Request, v1::Domain> method, const std::string &name)
    {
        Request request;
        *request.mutable_domain() = RefByName(name);
        v1::Domain domain;
        return Call(method, request, &domain);
    }

    // The domain as a fresh look-up sees it (GetDomain does not read kept handles).
    v1::Domain
    Fresh(const std::string &name)
    {
        v1::GetDomainRequest request;
        *request.mutable_domain() = RefByName(name);
        v1::Domain domain;
        EXPECT_TRUE(Succeeded(Call(&Stub::GetDomain, request, &domain)));
        return domain;
    }

    int32_t
    FreshId(const std::string &name)
    {
        return Fresh(name).id();
    }
};

TEST_F(DomainCacheTest, RenamedDomainIsNotFoundUnderItsOldNameRightAfterTheRename)
{
    v1::Domain defined = DefineDomain("cache-old");
    v1::DomainInfo info;
    ASSERT_TRUE(Succeeded(Info("cache-old", &info)));

    v1::RenameDomainRequest rename;
    *rename.mutable_domain() = RefByName("cache-old");
    rename.set_new_name("cache-new");
    v1::Domain renamed;
    ASSERT_TRUE(Succeeded(Call(&Stub::RenameDomain, rename, &renamed)));

    EXPECT_TRUE(FailedWith(Info("cache-old", &info), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));
    v1::DomainStateInfo state;
    EXPECT_TRUE(FailedWith(State("cache-old", &state), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));
    ASSERT_TRUE(Succeeded(Info("cache-new", &info)));
    EXPECT_EQ(info.domain().name(), "cache-new");
    EXPECT_EQ(info.domain().uuid(), defined.uuid());
}

TEST_F(DomainCacheTest, UndefinedAndRedefinedDomainIsReadWithItsNewUuid)
{
    v1::Domain first = DefineDomain("cache-again");
    v1::DomainInfo info;
    ASSERT_TRUE(Succeeded(Info("cache-again", &info)));
    ASSERT_EQ(info.domain().uuid(), first.uuid());

    v1::UndefineDomainRequest undefine;
    *undefine.mutable_domain() = RefByName("cache-again");
    v1::Domain undefined;
    ASSERT_TRUE(Succeeded(Call(&Stub::UndefineDomain, undefine, &undefined)));
    EXPECT_TRUE(FailedWith(Info("cache-again", &info), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));

    v1::Domain second = DefineDomain("cache-again");
    ASSERT_NE(second.uuid(), first.uuid());
    ASSERT_TRUE(Succeeded(Info("cache-again", &info)));
    EXPECT_EQ(info.domain().uuid(), second.uuid());
    v1::DomainStateInfo state;
    ASSERT_TRUE(Succeeded(State("cache-again", &state)));
    EXPECT_EQ(state.state(), v1::DOMAIN_STATE_SHUTOFF);
}

TEST_F(DomainCacheTest, StateReasonAndIdFollowEveryLifecycleChange)
{
    v1::DomainInfo info;
    v1::DomainStateInfo state;
    ASSERT_TRUE(Succeeded(Info(kStockDomainName, &info)));
    EXPECT_EQ(info.domain().state().state(), v1::DOMAIN_STATE_RUNNING);
    int32_t first_id = info.domain().id();

    ASSERT_TRUE(Succeeded(Act(&Stub::SuspendDomain, kStockDomainName)));
    ASSERT_TRUE(Succeeded(Info(kStockDomainName, &info)));
    EXPECT_EQ(info.domain().state().state(), v1::DOMAIN_STATE_PAUSED);
    EXPECT_EQ(info.domain().state().paused_reason(), v1::PAUSED_REASON_USER);
    ASSERT_TRUE(Succeeded(State(kStockDomainName, &state)));
    EXPECT_EQ(state.paused_reason(), v1::PAUSED_REASON_USER);

    ASSERT_TRUE(Succeeded(Act(&Stub::ResumeDomain, kStockDomainName)));
    ASSERT_TRUE(Succeeded(Info(kStockDomainName, &info)));
    EXPECT_EQ(info.domain().state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(info.domain().state().running_reason(), v1::RUNNING_REASON_UNPAUSED);

    ASSERT_TRUE(Succeeded(Act(&Stub::DestroyDomain, kStockDomainName)));
    ASSERT_TRUE(Succeeded(Info(kStockDomainName, &info)));
    EXPECT_EQ(info.domain().state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(info.domain().state().shutoff_reason(), v1::SHUTOFF_REASON_DESTROYED);
    EXPECT_EQ(info.domain().id(), -1);

    // Started again: a new id, which the kept handle (made while it ran with the old
    // one) must not report.
    ASSERT_TRUE(Succeeded(Act(&Stub::StartDomain, kStockDomainName)));
    ASSERT_TRUE(Succeeded(Info(kStockDomainName, &info)));
    EXPECT_EQ(info.domain().state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(info.domain().state().running_reason(), v1::RUNNING_REASON_BOOTED);
    EXPECT_NE(info.domain().id(), first_id);
    EXPECT_EQ(info.domain().id(), FreshId(kStockDomainName));
}

TEST_F(DomainCacheTest, RepeatedReadsOfAnUnchangedDomainAgreeWithAFreshLookup)
{
    v1::Domain fresh = Fresh(kStockDomainName);
    v1::DomainInfo info;
    for (int i = 0; i < 20; i++) {
        ASSERT_TRUE(Succeeded(Info(kStockDomainName, &info)));
        EXPECT_EQ(info.domain().name(), kStockDomainName);
        EXPECT_EQ(info.domain().uuid(), kStockDomainUuid);
        EXPECT_EQ(info.domain().id(), fresh.id());
        EXPECT_EQ(info.domain().state().state(), v1::DOMAIN_STATE_RUNNING);
        EXPECT_EQ(info.domain().state().running_reason(), fresh.state().running_reason());
        EXPECT_GT(info.vcpus(), 0u);
    }
    v1::GetDomainInfoRequest by_uuid;
    by_uuid.mutable_domain()->set_uuid(kStockDomainUuid);
    v1::DomainInfo again;
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainInfo, by_uuid, &again)));
    EXPECT_EQ(again.domain().name(), kStockDomainName);
}

}  // namespace
}  // namespace virtgrpc::testing
