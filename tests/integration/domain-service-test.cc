// DomainService against the real virtgrpcd and libvirt's embedded test driver, through
// grpc++ stubs: listing and looking domains up, defining them, the whole lifecycle,
// the read-only queries, autostart, and a call in the wrong state. Every change is
// checked by reading the domain back.
#include <regex>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/server-test.h"

namespace virtgrpc::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class DomainServiceTest : public ServerTest {
  protected:
    // StartDomain; fails the test when the call fails.
    v1::Domain Start(const std::string &name) {
        v1::StartDomainRequest request;
        *request.mutable_domain() = RefByName(name);
        v1::Domain domain;
        EXPECT_TRUE(
            Succeeded(domains_->StartDomain(ContextWithDeadline().get(), request, &domain)))
            << "starting '" << name << "'";
        return domain;
    }

    std::string XmlOf(const std::string &name,
                      std::initializer_list<v1::DomainXMLFlag> flags = {}) {
        v1::GetDomainXMLRequest request;
        *request.mutable_domain() = RefByName(name);
        for (v1::DomainXMLFlag flag : flags)
            request.add_flags(flag);
        v1::GetDomainXMLResponse response;
        EXPECT_TRUE(
            Succeeded(domains_->GetDomainXML(ContextWithDeadline().get(), request, &response)));
        return response.xml();
    }

    bool IsActive(const std::string &name) {
        v1::IsDomainActiveRequest request;
        *request.mutable_domain() = RefByName(name);
        v1::IsDomainActiveResponse response;
        EXPECT_TRUE(
            Succeeded(domains_->IsDomainActive(ContextWithDeadline().get(), request, &response)));
        return response.active();
    }

    bool IsPersistent(const std::string &name) {
        v1::IsDomainPersistentRequest request;
        *request.mutable_domain() = RefByName(name);
        v1::IsDomainPersistentResponse response;
        EXPECT_TRUE(Succeeded(
            domains_->IsDomainPersistent(ContextWithDeadline().get(), request, &response)));
        return response.persistent();
    }

    bool IsUpdated(const std::string &name) {
        v1::IsDomainUpdatedRequest request;
        *request.mutable_domain() = RefByName(name);
        v1::IsDomainUpdatedResponse response;
        EXPECT_TRUE(
            Succeeded(domains_->IsDomainUpdated(ContextWithDeadline().get(), request, &response)));
        return response.updated();
    }
};

// A number in the domain XML: the text of the first `<element ...>NUMBER<` match.
uint64_t XmlNumber(const std::string &xml, const std::string &element) {
    std::smatch match;
    std::regex pattern("<" + element + "(\\s[^>]*)?>\\s*([0-9]+)\\s*<");
    if (!std::regex_search(xml, match, pattern)) {
        ADD_FAILURE() << "no <" << element << "> in:\n" << xml;
        return 0;
    }
    return std::stoull(match[2].str());
}

// --- listing and looking up ------------------------------------------------------

TEST_F(DomainServiceTest, ListDomainsShowsTheStockDomainRunningWithUuidAndName) {
    v1::ListDomainsResponse response;
    ASSERT_TRUE(Succeeded(domains_->ListDomains(ContextWithDeadline().get(),
                                                v1::ListDomainsRequest(), &response)));

    ASSERT_EQ(response.domains_size(), 1);
    const v1::Domain &domain = response.domains(0);
    EXPECT_EQ(domain.name(), kStockDomainName);
    EXPECT_EQ(domain.uuid(), kStockDomainUuid);
    EXPECT_GT(domain.id(), 0);
    EXPECT_EQ(domain.state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(domain.state().reason_case(), v1::DomainStateInfo::kRunningReason);
}

TEST_F(DomainServiceTest, ListDomainsInactiveFilterShowsOnlyShutOffDomains) {
    DefineDomain("inactive-one");

    EXPECT_THAT(DomainNames({v1::LIST_DOMAINS_FILTER_INACTIVE}), ElementsAre("inactive-one"));
}

TEST_F(DomainServiceTest, ListDomainsActiveFilterShowsOnlyRunningDomains) {
    DefineDomain("inactive-one");

    EXPECT_THAT(DomainNames({v1::LIST_DOMAINS_FILTER_ACTIVE}), ElementsAre(kStockDomainName));
}

TEST_F(DomainServiceTest, ListDomainsWithoutFiltersShowsEveryDomainSortedByName) {
    DefineDomain("zz-last");
    DefineDomain("aa-first");

    EXPECT_THAT(DomainNames({}), ElementsAre("aa-first", kStockDomainName, "zz-last"));
}

TEST_F(DomainServiceTest, GetDomainByNameUuidAndIdReturnsTheSameDomain) {
    v1::Domain by_name;
    ASSERT_TRUE(Succeeded(GetDomain(kStockDomainName, &by_name)));
    ASSERT_GT(by_name.id(), 0);

    v1::GetDomainRequest request;
    *request.mutable_domain() = RefByUuid(kStockDomainUuid);
    v1::Domain by_uuid;
    ASSERT_TRUE(Succeeded(domains_->GetDomain(ContextWithDeadline().get(), request, &by_uuid)));

    *request.mutable_domain() = RefById(static_cast<uint32_t>(by_name.id()));
    v1::Domain by_id;
    ASSERT_TRUE(Succeeded(domains_->GetDomain(ContextWithDeadline().get(), request, &by_id)));

    EXPECT_EQ(by_name.uuid(), kStockDomainUuid);
    EXPECT_EQ(by_name.name(), kStockDomainName);
    EXPECT_EQ(by_uuid.SerializeAsString(), by_name.SerializeAsString())
        << by_uuid.DebugString() << " vs " << by_name.DebugString();
    EXPECT_EQ(by_id.SerializeAsString(), by_name.SerializeAsString())
        << by_id.DebugString() << " vs " << by_name.DebugString();
}

// --- defining ------------------------------------------------------------------

TEST_F(DomainServiceTest, DefineDomainCreatesAShutOffPersistentDomain) {
    v1::Domain defined = DefineDomain("web1");

    EXPECT_EQ(defined.name(), "web1");
    EXPECT_EQ(defined.uuid().size(), 36u) << defined.uuid();
    EXPECT_EQ(defined.id(), -1);
    EXPECT_EQ(defined.state().state(), v1::DOMAIN_STATE_SHUTOFF);

    v1::Domain read_back;
    ASSERT_TRUE(Succeeded(GetDomain("web1", &read_back)));
    EXPECT_EQ(read_back.uuid(), defined.uuid());
    EXPECT_EQ(read_back.state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_FALSE(IsActive("web1"));
    EXPECT_TRUE(IsPersistent("web1"));
}

TEST_F(DomainServiceTest, DefineDomainWithValidateRejectsAnUnknownElementAsSchemaInvalid) {
    v1::DefineDomainRequest request;
    request.set_xml(
        "<domain type='test'><name>bogus1</name><memory>8192</memory>"
        "<os><type>hvm</type></os><bogus/></domain>");
    request.add_flags(v1::DEFINE_FLAG_VALIDATE);
    v1::Domain domain;
    grpc::Status status = domains_->DefineDomain(ContextWithDeadline().get(), request, &domain);

    // libvirt: "Element domain has extra content: bogus".
    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_XML_INVALID_SCHEMA"));
    EXPECT_THAT(status.error_message(), HasSubstr("bogus"));
    v1::Domain absent;
    EXPECT_TRUE(FailedWith(GetDomain("bogus1", &absent), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));
}

TEST_F(DomainServiceTest, DefineDomainWithoutValidateIgnoresAnUnknownElement) {
    v1::DefineDomainRequest request;
    request.set_xml(
        "<domain type='test'><name>lenient</name><memory>8192</memory>"
        "<os><type>hvm</type></os><bogus/></domain>");
    v1::Domain domain;
    ASSERT_TRUE(
        Succeeded(domains_->DefineDomain(ContextWithDeadline().get(), request, &domain)));

    EXPECT_EQ(domain.name(), "lenient");
    EXPECT_THAT(XmlOf("lenient"), ::testing::Not(HasSubstr("bogus")));
}

// --- the lifecycle -------------------------------------------------------------

TEST_F(DomainServiceTest, StartDomainRunsItAsBooted) {
    DefineDomain("web1");

    v1::Domain started = Start("web1");

    EXPECT_EQ(started.state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(started.state().running_reason(), v1::RUNNING_REASON_BOOTED);
    EXPECT_GT(started.id(), 0);
    v1::DomainStateInfo state = StateOf("web1");
    EXPECT_EQ(state.state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(state.running_reason(), v1::RUNNING_REASON_BOOTED);
}

TEST_F(DomainServiceTest, SuspendDomainPausesItByUser) {
    DefineRunningDomain("web1");

    v1::SuspendDomainRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::Domain suspended;
    ASSERT_TRUE(
        Succeeded(domains_->SuspendDomain(ContextWithDeadline().get(), request, &suspended)));

    EXPECT_EQ(suspended.state().state(), v1::DOMAIN_STATE_PAUSED);
    EXPECT_EQ(suspended.state().paused_reason(), v1::PAUSED_REASON_USER);
    v1::DomainStateInfo state = StateOf("web1");
    EXPECT_EQ(state.state(), v1::DOMAIN_STATE_PAUSED);
    EXPECT_EQ(state.paused_reason(), v1::PAUSED_REASON_USER);
}

TEST_F(DomainServiceTest, ResumeDomainRunsItAsUnpaused) {
    DefineRunningDomain("web1");
    v1::SuspendDomainRequest suspend;
    *suspend.mutable_domain() = RefByName("web1");
    v1::Domain domain;
    ASSERT_TRUE(Succeeded(domains_->SuspendDomain(ContextWithDeadline().get(), suspend, &domain)));

    v1::ResumeDomainRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::Domain resumed;
    ASSERT_TRUE(
        Succeeded(domains_->ResumeDomain(ContextWithDeadline().get(), request, &resumed)));

    EXPECT_EQ(resumed.state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(resumed.state().running_reason(), v1::RUNNING_REASON_UNPAUSED);
    v1::DomainStateInfo state = StateOf("web1");
    EXPECT_EQ(state.state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(state.running_reason(), v1::RUNNING_REASON_UNPAUSED);
}

TEST_F(DomainServiceTest, ResetDomainKeepsItRunning) {
    v1::ResetDomainRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::Domain reset;
    ASSERT_TRUE(Succeeded(domains_->ResetDomain(ContextWithDeadline().get(), request, &reset)));

    EXPECT_EQ(reset.name(), kStockDomainName);
    EXPECT_EQ(reset.state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(StateOf(kStockDomainName).state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(DomainServiceTest, RebootDomainKeepsItRunning) {
    v1::RebootDomainRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::Domain rebooted;
    ASSERT_TRUE(
        Succeeded(domains_->RebootDomain(ContextWithDeadline().get(), request, &rebooted)));

    EXPECT_EQ(rebooted.name(), kStockDomainName);
    EXPECT_EQ(rebooted.state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(StateOf(kStockDomainName).state(), v1::DOMAIN_STATE_RUNNING);
}

TEST_F(DomainServiceTest, ShutdownDomainShutsItOffAsShutdown) {
    DefineRunningDomain("web1");

    v1::ShutdownDomainRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::Domain domain;
    ASSERT_TRUE(Succeeded(domains_->ShutdownDomain(ContextWithDeadline().get(), request, &domain)));

    // The test driver completes a shutdown at once; a real guest would take its time.
    v1::DomainStateInfo state = StateOf("web1");
    EXPECT_EQ(state.state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(state.shutoff_reason(), v1::SHUTOFF_REASON_SHUTDOWN);
    EXPECT_EQ(domain.state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(domain.id(), -1);
}

TEST_F(DomainServiceTest, DestroyDomainShutsItOffAsDestroyed) {
    DefineRunningDomain("web1");

    v1::DestroyDomainRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::Domain destroyed;
    ASSERT_TRUE(
        Succeeded(domains_->DestroyDomain(ContextWithDeadline().get(), request, &destroyed)));

    EXPECT_EQ(destroyed.state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(destroyed.state().shutoff_reason(), v1::SHUTOFF_REASON_DESTROYED);
    EXPECT_EQ(destroyed.id(), -1);
    v1::DomainStateInfo state = StateOf("web1");
    EXPECT_EQ(state.state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(state.shutoff_reason(), v1::SHUTOFF_REASON_DESTROYED);
    EXPECT_TRUE(IsPersistent("web1"));
}

// The test driver accepts no start flags (virCheckFlags(0)): START_PAUSED is
// libvirt's INVALID_ARG "unsupported flags", and the domain stays shut off.
TEST_F(DomainServiceTest, StartDomainPausedIsUnsupportedByTheTestDriver) {
    DefineDomain("web1");

    v1::StartDomainRequest request;
    *request.mutable_domain() = RefByName("web1");
    request.add_flags(v1::START_FLAG_PAUSED);
    v1::Domain domain;
    grpc::Status status = domains_->StartDomain(ContextWithDeadline().get(), request, &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(status.error_message(), HasSubstr("unsupported flags"));
    EXPECT_EQ(StateOf("web1").state(), v1::DOMAIN_STATE_SHUTOFF);
}

TEST_F(DomainServiceTest, UndefineDomainRemovesAShutOffDomain) {
    v1::Domain defined = DefineDomain("web1");

    v1::UndefineDomainRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::Domain undefined;
    ASSERT_TRUE(
        Succeeded(domains_->UndefineDomain(ContextWithDeadline().get(), request, &undefined)));

    EXPECT_EQ(undefined.uuid(), defined.uuid());
    EXPECT_EQ(undefined.name(), "web1");
    v1::Domain gone;
    EXPECT_TRUE(
        FailedWith(GetDomain("web1", &gone), grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_THAT(DomainNames({}), ElementsAre(kStockDomainName));
}

TEST_F(DomainServiceTest, UndefineDomainLeavesARunningDomainRunningAsTransient) {
    DefineRunningDomain("web1");

    v1::UndefineDomainRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::Domain undefined;
    ASSERT_TRUE(
        Succeeded(domains_->UndefineDomain(ContextWithDeadline().get(), request, &undefined)));

    EXPECT_EQ(StateOf("web1").state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_FALSE(IsPersistent("web1"));
}

TEST_F(DomainServiceTest, CreateDomainRunsATransientDomain) {
    v1::CreateDomainRequest request;
    request.set_xml(MinimalDomainXml("scratch"));
    v1::Domain created;
    ASSERT_TRUE(
        Succeeded(domains_->CreateDomain(ContextWithDeadline().get(), request, &created)));

    EXPECT_EQ(created.name(), "scratch");
    EXPECT_EQ(created.state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_GT(created.id(), 0);
    EXPECT_TRUE(IsActive("scratch"));
    EXPECT_FALSE(IsPersistent("scratch"));
    EXPECT_THAT(DomainNames({v1::LIST_DOMAINS_FILTER_TRANSIENT}), ElementsAre("scratch"));
}

TEST_F(DomainServiceTest, DestroyDomainMakesATransientDomainDisappear) {
    v1::CreateDomainRequest create;
    create.set_xml(MinimalDomainXml("scratch"));
    v1::Domain created;
    ASSERT_TRUE(Succeeded(domains_->CreateDomain(ContextWithDeadline().get(), create, &created)));

    v1::DestroyDomainRequest request;
    *request.mutable_domain() = RefByName("scratch");
    v1::Domain destroyed;
    ASSERT_TRUE(
        Succeeded(domains_->DestroyDomain(ContextWithDeadline().get(), request, &destroyed)));

    EXPECT_EQ(destroyed.uuid(), created.uuid());
    EXPECT_EQ(destroyed.state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_EQ(destroyed.state().shutoff_reason(), v1::SHUTOFF_REASON_DESTROYED);
    v1::Domain gone;
    EXPECT_TRUE(FailedWith(GetDomain("scratch", &gone), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));
}

// --- queries -------------------------------------------------------------------

TEST_F(DomainServiceTest, GetDomainInfoAgreesWithTheDomainXml) {
    v1::GetDomainInfoRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::DomainInfo info;
    ASSERT_TRUE(Succeeded(domains_->GetDomainInfo(ContextWithDeadline().get(), request, &info)));
    std::string xml = XmlOf(kStockDomainName);

    EXPECT_EQ(info.domain().uuid(), kStockDomainUuid);
    EXPECT_EQ(info.domain().name(), kStockDomainName);
    EXPECT_EQ(info.domain().state().state(), v1::DOMAIN_STATE_RUNNING);
    // libvirt writes memory in KiB (unit='KiB'), as DomainInfo reports it.
    EXPECT_THAT(xml, HasSubstr("<memory unit='KiB'>"));
    EXPECT_EQ(info.max_memory_kib(), XmlNumber(xml, "memory"));
    EXPECT_EQ(info.memory_kib(), XmlNumber(xml, "currentMemory"));
    EXPECT_EQ(info.vcpus(), XmlNumber(xml, "vcpu"));
    EXPECT_GT(info.max_memory_kib(), 0u);
}

TEST_F(DomainServiceTest, GetDomainInfoOfADefinedDomainReportsItsConfiguredMemory) {
    DefineDomain("web1");

    v1::GetDomainInfoRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::DomainInfo info;
    ASSERT_TRUE(Succeeded(domains_->GetDomainInfo(ContextWithDeadline().get(), request, &info)));

    EXPECT_EQ(info.max_memory_kib(), 8192u);  // <memory>8192</memory>: KiB by default
    EXPECT_EQ(info.max_memory_kib(), XmlNumber(XmlOf("web1"), "memory"));
    EXPECT_EQ(info.domain().state().state(), v1::DOMAIN_STATE_SHUTOFF);
}

TEST_F(DomainServiceTest, GetDomainXmlContainsTheDomainsNameAndUuid) {
    std::string xml = XmlOf(kStockDomainName);

    EXPECT_THAT(xml, HasSubstr("<name>test</name>"));
    EXPECT_THAT(xml, HasSubstr(kStockDomainUuid));
}

TEST_F(DomainServiceTest, GetDomainXmlInactiveDescribesThePersistentConfiguration) {
    std::string xml = XmlOf(kStockDomainName, {v1::DOMAIN_XML_FLAG_INACTIVE});

    EXPECT_THAT(xml, HasSubstr("<name>test</name>"));
    // A running domain's live XML carries its id; the inactive one does not.
    EXPECT_THAT(XmlOf(kStockDomainName), HasSubstr("id='"));
    EXPECT_THAT(xml, ::testing::Not(HasSubstr("id='")));
}

TEST_F(DomainServiceTest, IsDomainActiveTurnsTrueOnStart) {
    DefineDomain("web1");
    EXPECT_FALSE(IsActive("web1"));

    Start("web1");

    EXPECT_TRUE(IsActive("web1"));
}

TEST_F(DomainServiceTest, IsDomainPersistentIsTrueForDefinedAndFalseForCreatedDomains) {
    DefineDomain("web1");
    v1::CreateDomainRequest create;
    create.set_xml(MinimalDomainXml("scratch"));
    v1::Domain created;
    ASSERT_TRUE(Succeeded(domains_->CreateDomain(ContextWithDeadline().get(), create, &created)));

    EXPECT_TRUE(IsPersistent("web1"));
    Start("web1");
    EXPECT_TRUE(IsPersistent("web1"));
    EXPECT_FALSE(IsPersistent("scratch"));
}

// (libvirt 9.0's test driver never reports a domain as updated, not even after a
// redefinition while it runs: checked from C with virDomainIsUpdated.)
TEST_F(DomainServiceTest, IsDomainUpdatedIsFalseBeforeAndAfterAPlainStart) {
    DefineDomain("web1");
    EXPECT_FALSE(IsUpdated("web1"));

    Start("web1");

    EXPECT_FALSE(IsUpdated("web1"));
}

TEST_F(DomainServiceTest, DefineDomainUpdatesTheNextStartConfigurationOfARunningDomain) {
    v1::Domain running = DefineRunningDomain("web1");

    v1::DefineDomainRequest request;
    request.set_xml(
        "<domain type='test'><name>web1</name><uuid>" + running.uuid() +
        "</uuid><memory>16384</memory><os><type>hvm</type></os></domain>");
    v1::Domain redefined;
    ASSERT_TRUE(
        Succeeded(domains_->DefineDomain(ContextWithDeadline().get(), request, &redefined)));

    EXPECT_EQ(redefined.uuid(), running.uuid());
    EXPECT_EQ(StateOf("web1").state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(XmlNumber(XmlOf("web1", {v1::DOMAIN_XML_FLAG_INACTIVE}), "memory"), 16384u);
    EXPECT_EQ(XmlNumber(XmlOf("web1"), "memory"), 8192u);
}

// Only XML with the same name and UUID updates a domain: without a <uuid> libvirt makes
// up a new one, and a name held by another UUID is a conflict.
TEST_F(DomainServiceTest, DefineDomainWithTheNameOfAnotherDomainFailsAndChangesNothing) {
    v1::DefineDomainRequest request;
    request.set_xml(MinimalDomainXml(kStockDomainName));
    v1::Domain domain;
    grpc::Status status = domains_->DefineDomain(ContextWithDeadline().get(), request, &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_FAILED"));
    EXPECT_THAT(status.error_message(), HasSubstr("already exists"));
    EXPECT_NE(XmlNumber(XmlOf(kStockDomainName, {v1::DOMAIN_XML_FLAG_INACTIVE}), "memory"),
              8192u);
    EXPECT_THAT(DomainNames({}), ElementsAre(kStockDomainName));
}

// --- autostart -----------------------------------------------------------------

TEST_F(DomainServiceTest, SetDomainAutostartRoundTripsThroughGetDomainAutostart) {
    DefineDomain("web1");
    v1::GetDomainAutostartRequest get;
    *get.mutable_domain() = RefByName("web1");
    v1::DomainAutostart before;
    ASSERT_TRUE(
        Succeeded(domains_->GetDomainAutostart(ContextWithDeadline().get(), get, &before)));
    EXPECT_FALSE(before.autostart());

    v1::SetDomainAutostartRequest set;
    *set.mutable_domain() = RefByName("web1");
    set.set_autostart(true);
    v1::DomainAutostart after_set;
    ASSERT_TRUE(
        Succeeded(domains_->SetDomainAutostart(ContextWithDeadline().get(), set, &after_set)));
    EXPECT_TRUE(after_set.autostart());
    EXPECT_EQ(after_set.domain().name(), "web1");

    v1::DomainAutostart read_back;
    ASSERT_TRUE(
        Succeeded(domains_->GetDomainAutostart(ContextWithDeadline().get(), get, &read_back)));
    EXPECT_TRUE(read_back.autostart());
    EXPECT_THAT(DomainNames({v1::LIST_DOMAINS_FILTER_AUTOSTART}), ElementsAre("web1"));

    set.set_autostart(false);
    ASSERT_TRUE(
        Succeeded(domains_->SetDomainAutostart(ContextWithDeadline().get(), set, &after_set)));
    ASSERT_TRUE(
        Succeeded(domains_->GetDomainAutostart(ContextWithDeadline().get(), get, &read_back)));
    EXPECT_FALSE(read_back.autostart());
}

// --- the wrong state -----------------------------------------------------------

// A wrong-state failure keeps libvirt's own code. The test driver reports "domain is not
// running" in SuspendDomain as VIR_ERR_INTERNAL_ERROR (QEMU says
// VIR_ERR_OPERATION_INVALID), and the one error table maps that to INTERNAL.
TEST_F(DomainServiceTest, SuspendShutOffDomainFailsWithLibvirtsCode) {
    DefineDomain("web1");

    v1::SuspendDomainRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::Domain domain;
    grpc::Status status = domains_->SuspendDomain(ContextWithDeadline().get(), request, &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));
    EXPECT_THAT(status.error_message(), HasSubstr("not running"));
    auto info = ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->domain(), "libvirt.org");
    EXPECT_EQ(MetadataOf(*info, "code"), "1");  // VIR_ERR_INTERNAL_ERROR
    EXPECT_EQ(MetadataOf(*info, "domain_name"), "VIR_FROM_TEST");
    EXPECT_EQ(StateOf("web1").state(), v1::DOMAIN_STATE_SHUTOFF);
}

// As the StartDomain comment says: the test driver reports "already running" as
// VIR_ERR_INTERNAL_ERROR.
TEST_F(DomainServiceTest, StartRunningDomainFailsWithLibvirtsCodeAndLeavesItRunning) {
    v1::Domain before;
    ASSERT_TRUE(Succeeded(GetDomain(kStockDomainName, &before)));

    v1::StartDomainRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::Domain domain;
    grpc::Status status = domains_->StartDomain(ContextWithDeadline().get(), request, &domain);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INTERNAL, "VIR_ERR_INTERNAL_ERROR"));
    EXPECT_THAT(status.error_message(), HasSubstr("already running"));
    v1::Domain after;
    ASSERT_TRUE(Succeeded(GetDomain(kStockDomainName, &after)));
    EXPECT_EQ(after.state().state(), v1::DOMAIN_STATE_RUNNING);
    EXPECT_EQ(after.id(), before.id());
}

TEST_F(DomainServiceTest, DestroyShutOffDomainFailsPrecondition) {
    DefineDomain("web1");

    v1::DestroyDomainRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::Domain domain;
    grpc::Status status = domains_->DestroyDomain(ContextWithDeadline().get(), request, &domain);

    // Here the test driver says VIR_ERR_OPERATION_INVALID "domain is not running".
    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    auto info = ErrorInfoOf(status);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(MetadataOf(*info, "code"), "55");
    EXPECT_EQ(StateOf("web1").state(), v1::DOMAIN_STATE_SHUTOFF);
}

}  // namespace
}  // namespace virtgrpc::testing
