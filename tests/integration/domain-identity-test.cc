// DomainService's identity and configuration RPCs against the real virtgrpcd and
// libvirt's embedded test driver: id, UUID and name, OS type, metadata, renaming,
// messages, lifecycle actions, the control interface, disk errors, security labels and
// launch security. Every change is read back; every bad request is shown to change
// nothing and to leave the server serving.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/domain-call.h"
#include "tests/support/server-test.h"

namespace virtgrpc::testing
{
namespace
{

using ::testing::HasSubstr;
using ::testing::Not;

using Stub = v1::DomainService::Stub;

constexpr const char kAppNamespace[] = "http://example.org/virtgrpc-test/1";

class DomainIdentityTest : public DomainCalls<ServerTest>
{
  protected:
    grpc::Status
    GetMetadata(const std::string &name, v1::MetadataType type,
                const std::string &namespace_uri, std::string *metadata,
                std::initializer_list<v1::ModificationImpact> impact = {})
    {
        v1::GetDomainMetadataRequest request;
        *request.mutable_domain() = RefByName(name);
        request.set_type(type);
        request.set_namespace_uri(namespace_uri);
        for (v1::ModificationImpact one : impact)
            request.add_impact(one);
        v1::GetDomainMetadataResponse response;
        grpc::Status status = Call(&Stub::GetDomainMetadata, request, &response);
        *metadata = response.metadata();
        return status;
    }

    grpc::Status
    SetMetadata(const std::string &name, v1::MetadataType type, const std::string &metadata,
                const std::string &key = "", const std::string &namespace_uri = "",
                std::initializer_list<v1::ModificationImpact> impact = {})
    {
        v1::SetDomainMetadataRequest request;
        *request.mutable_domain() = RefByName(name);
        request.set_type(type);
        request.set_metadata(metadata);
        request.set_key(key);
        request.set_namespace_uri(namespace_uri);
        for (v1::ModificationImpact one : impact)
            request.add_impact(one);
        v1::Domain domain;
        return Call(&Stub::SetDomainMetadata, request, &domain);
    }

    // The title as GetDomainMetadata reports it, "<none>" when it is not set.
    std::string
    TitleOf(const std::string &name)
    {
        std::string title;
        grpc::Status status = GetMetadata(name, v1::METADATA_TYPE_TITLE, "", &title);
        if (status.error_code() == grpc::StatusCode::NOT_FOUND)
            return "<none>";
        EXPECT_TRUE(Succeeded(status));
        return title;
    }

    grpc::Status
    Rename(const std::string &name, const std::string &new_name, v1::Domain *domain)
    {
        v1::RenameDomainRequest request;
        *request.mutable_domain() = RefByName(name);
        request.set_new_name(new_name);
        return Call(&Stub::RenameDomain, request, domain);
    }

    grpc::Status
    SetLifecycleAction(const std::string &name, v1::DomainLifecycle lifecycle,
                       v1::DomainLifecycleAction action,
                       std::initializer_list<v1::ModificationImpact> impact = {})
    {
        v1::SetDomainLifecycleActionRequest request;
        *request.mutable_domain() = RefByName(name);
        request.set_lifecycle(lifecycle);
        request.set_action(action);
        for (v1::ModificationImpact one : impact)
            request.add_impact(one);
        v1::Domain domain;
        return Call(&Stub::SetDomainLifecycleAction, request, &domain);
    }

    std::string
    XmlOf(const std::string &name, bool inactive = false)
    {
        v1::GetDomainXMLRequest request;
        *request.mutable_domain() = RefByName(name);
        if (inactive)
            request.add_flags(v1::DOMAIN_XML_FLAG_INACTIVE);
        v1::GetDomainXMLResponse response;
        EXPECT_TRUE(Succeeded(Call(&Stub::GetDomainXML, request, &response)));
        return response.xml();
    }

    grpc::Status
    SetLaunchSecurityState(
        std::initializer_list<std::pair<std::string, v1::TypedParameter>> params)
    {
        v1::SetDomainLaunchSecurityStateRequest request;
        *request.mutable_domain() = RefByName(kStockDomainName);
        for (const auto &[name, value] : params) {
            v1::TypedParameter *param = request.add_params();
            *param = value;
            param->set_name(name);
        }
        v1::Domain domain;
        return Call(&Stub::SetDomainLaunchSecurityState, request, &domain);
    }
};

v1::TypedParameter
StringParam(const std::string &value)
{
    v1::TypedParameter param;
    param.set_string_value(value);
    return param;
}

v1::TypedParameter
Uint64Param(uint64_t value)
{
    v1::TypedParameter param;
    param.set_uint64_value(value);
    return param;
}

// --- id, UUID, name (virDomainGetID / GetUUID / GetUUIDString / GetName) -----------

TEST_F(DomainIdentityTest, GetDomainReportsIdUuidAndNameOfARunningDomain)
{
    v1::Domain domain;
    ASSERT_TRUE(Succeeded(GetDomain(kStockDomainName, &domain)));

    EXPECT_EQ(domain.name(), kStockDomainName);
    EXPECT_EQ(domain.uuid(), kStockDomainUuid);
    EXPECT_GT(domain.id(), 0);
}

TEST_F(DomainIdentityTest, ShutOffDomainHasIdMinusOneAndGetsAnIdWhenStarted)
{
    v1::Domain defined = DefineDomain("web1");
    EXPECT_EQ(defined.id(), -1);
    EXPECT_EQ(defined.name(), "web1");
    EXPECT_THAT(defined.uuid(),
                ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                                        "[0-9a-f]{4}-[0-9a-f]{12}"));

    v1::StartDomainRequest start;
    *start.mutable_domain() = RefByName("web1");
    v1::Domain started;
    ASSERT_TRUE(Succeeded(Call(&Stub::StartDomain, start, &started)));
    EXPECT_GT(started.id(), 0);
    EXPECT_EQ(started.uuid(), defined.uuid());
}

// --- OS type ---------------------------------------------------------------------

// The test driver answers "linux" for every domain, whatever its <os><type> says (QEMU
// reads it: see the QEMU suite).
TEST_F(DomainIdentityTest, GetDomainOSTypeReportsTheTestDriversLinux)
{
    DefineDomain("web1"); // <os><type>hvm</type></os>
    for (const char *name : {kStockDomainName, "web1"}) {
        v1::GetDomainOSTypeRequest request;
        *request.mutable_domain() = RefByName(name);
        v1::GetDomainOSTypeResponse response;
        ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainOSType, request, &response))) << name;
        EXPECT_EQ(response.os_type(), "linux") << name;
    }
}

TEST_F(DomainIdentityTest, GetDomainOSTypeOfAnUnknownDomainIsNotFound)
{
    v1::GetDomainOSTypeRequest request;
    *request.mutable_domain() = RefByName("no-such-domain");
    v1::GetDomainOSTypeResponse response;
    EXPECT_TRUE(FailedWith(Call(&Stub::GetDomainOSType, request, &response),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
    EXPECT_TRUE(ServerStillServes());
}

// --- metadata --------------------------------------------------------------------

TEST_F(DomainIdentityTest, SetDomainTitleIsReadBackAndShowsInTheXml)
{
    ASSERT_TRUE(
        Succeeded(SetMetadata(kStockDomainName, v1::METADATA_TYPE_TITLE, "Web front")));

    EXPECT_EQ(TitleOf(kStockDomainName), "Web front");
    EXPECT_THAT(XmlOf(kStockDomainName), HasSubstr("<title>Web front</title>"));
}

TEST_F(DomainIdentityTest, SetDomainDescriptionIsReadBack)
{
    ASSERT_TRUE(Succeeded(SetMetadata(kStockDomainName, v1::METADATA_TYPE_DESCRIPTION,
                                      "Serves the shop.\nSecond line.")));

    std::string description;
    ASSERT_TRUE(Succeeded(
        GetMetadata(kStockDomainName, v1::METADATA_TYPE_DESCRIPTION, "", &description)));
    EXPECT_EQ(description, "Serves the shop.\nSecond line.");
}

TEST_F(DomainIdentityTest, SetDomainMetadataElementIsReadBackUnderItsNamespace)
{
    ASSERT_TRUE(
        Succeeded(SetMetadata(kStockDomainName, v1::METADATA_TYPE_ELEMENT,
                              "<owner team='shop'>alice</owner>", "app", kAppNamespace)));

    std::string element;
    ASSERT_TRUE(Succeeded(
        GetMetadata(kStockDomainName, v1::METADATA_TYPE_ELEMENT, kAppNamespace, &element)));
    EXPECT_EQ(element, "<owner team=\"shop\">alice</owner>");
    std::string xml = XmlOf(kStockDomainName);
    EXPECT_THAT(xml,
                HasSubstr("<app:owner xmlns:app=\"" + std::string(kAppNamespace) + "\""));
}

TEST_F(DomainIdentityTest, EmptyMetadataRemovesTheTitle)
{
    ASSERT_TRUE(
        Succeeded(SetMetadata(kStockDomainName, v1::METADATA_TYPE_TITLE, "Temporary")));
    ASSERT_EQ(TitleOf(kStockDomainName), "Temporary");

    ASSERT_TRUE(Succeeded(SetMetadata(kStockDomainName, v1::METADATA_TYPE_TITLE, "")));

    std::string title;
    EXPECT_TRUE(
        FailedWith(GetMetadata(kStockDomainName, v1::METADATA_TYPE_TITLE, "", &title),
                   grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN_METADATA"));
}

TEST_F(DomainIdentityTest, EmptyMetadataRemovesTheElementOfItsNamespace)
{
    ASSERT_TRUE(Succeeded(SetMetadata(kStockDomainName, v1::METADATA_TYPE_ELEMENT,
                                      "<owner>alice</owner>", "app", kAppNamespace)));

    ASSERT_TRUE(Succeeded(
        SetMetadata(kStockDomainName, v1::METADATA_TYPE_ELEMENT, "", "", kAppNamespace)));

    std::string element;
    EXPECT_TRUE(FailedWith(
        GetMetadata(kStockDomainName, v1::METADATA_TYPE_ELEMENT, kAppNamespace, &element),
        grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN_METADATA"));
}

TEST_F(DomainIdentityTest, SetDomainMetadataConfigOnlyChangesThePersistentDefinition)
{
    DefineRunningDomain("web1");

    ASSERT_TRUE(Succeeded(SetMetadata("web1", v1::METADATA_TYPE_TITLE, "Next boot", "", "",
                                      {v1::MODIFICATION_IMPACT_CONFIG})));

    std::string title;
    ASSERT_TRUE(Succeeded(GetMetadata("web1", v1::METADATA_TYPE_TITLE, "", &title,
                                      {v1::MODIFICATION_IMPACT_CONFIG})));
    EXPECT_EQ(title, "Next boot");
    EXPECT_TRUE(FailedWith(GetMetadata("web1", v1::METADATA_TYPE_TITLE, "", &title,
                                       {v1::MODIFICATION_IMPACT_LIVE}),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN_METADATA"));
}

TEST_F(DomainIdentityTest, GetDomainMetadataThatIsNotSetIsNotFound)
{
    std::string metadata;
    grpc::Status status =
        GetMetadata(kStockDomainName, v1::METADATA_TYPE_ELEMENT, kAppNamespace, &metadata);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN_METADATA"));
}

TEST_F(DomainIdentityTest, MetadataWithoutTypeIsInvalidAndChangesNothing)
{
    grpc::Status status =
        SetMetadata(kStockDomainName, v1::METADATA_TYPE_UNSPECIFIED, "Something");

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'type'"));
    EXPECT_EQ(TitleOf(kStockDomainName), "<none>");

    std::string metadata;
    EXPECT_TRUE(FailedWith(
        GetMetadata(kStockDomainName, static_cast<v1::MetadataType>(42), "", &metadata),
        grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainIdentityTest, MetadataElementWithoutNamespaceOrKeyIsInvalidAndChangesNothing)
{
    grpc::Status no_namespace = SetMetadata(kStockDomainName, v1::METADATA_TYPE_ELEMENT,
                                            "<owner>a</owner>", "app", "");
    EXPECT_TRUE(FailedWith(no_namespace, grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(no_namespace.error_message(), HasSubstr("'namespace_uri'"));

    grpc::Status no_key = SetMetadata(kStockDomainName, v1::METADATA_TYPE_ELEMENT,
                                      "<owner>a</owner>", "", kAppNamespace);
    EXPECT_TRUE(
        FailedWith(no_key, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(no_key.error_message(), HasSubstr("'key'"));

    std::string element;
    EXPECT_TRUE(FailedWith(
        GetMetadata(kStockDomainName, v1::METADATA_TYPE_ELEMENT, kAppNamespace, &element),
        grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN_METADATA"));
    EXPECT_TRUE(
        FailedWith(GetMetadata(kStockDomainName, v1::METADATA_TYPE_ELEMENT, "", &element),
                   grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainIdentityTest, TitleWithANamespaceIsInvalidAndChangesNothing)
{
    grpc::Status status = SetMetadata(kStockDomainName, v1::METADATA_TYPE_TITLE, "Title",
                                      "app", kAppNamespace);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_EQ(TitleOf(kStockDomainName), "<none>");
}

TEST_F(DomainIdentityTest, TitleWithANewlineIsRejectedByLibvirtAndChangesNothing)
{
    ASSERT_TRUE(
        Succeeded(SetMetadata(kStockDomainName, v1::METADATA_TYPE_TITLE, "Before")));

    grpc::Status status =
        SetMetadata(kStockDomainName, v1::METADATA_TYPE_TITLE, "Two\nlines");

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
    EXPECT_THAT(status.error_message(), HasSubstr("newline"));
    EXPECT_EQ(TitleOf(kStockDomainName), "Before");
}

TEST_F(DomainIdentityTest, MalformedMetadataElementIsInvalidAndChangesNothing)
{
    grpc::Status status = SetMetadata(kStockDomainName, v1::METADATA_TYPE_ELEMENT, "<owner",
                                      "app", kAppNamespace);

    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    std::string element;
    EXPECT_TRUE(FailedWith(
        GetMetadata(kStockDomainName, v1::METADATA_TYPE_ELEMENT, kAppNamespace, &element),
        grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN_METADATA"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainIdentityTest, MetadataWithAnUnknownImpactIsInvalidAndChangesNothing)
{
    v1::SetDomainMetadataRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    request.set_type(v1::METADATA_TYPE_TITLE);
    request.set_metadata("Title");
    request.add_impact(static_cast<v1::ModificationImpact>(7));
    v1::Domain domain;
    grpc::Status status = Call(&Stub::SetDomainMetadata, request, &domain);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'impact'"));
    EXPECT_EQ(TitleOf(kStockDomainName), "<none>");
}

TEST_F(DomainIdentityTest, SetDomainMetadataOfAnUnknownDomainIsNotFound)
{
    EXPECT_TRUE(FailedWith(SetMetadata("no-such-domain", v1::METADATA_TYPE_TITLE, "Title"),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

// --- rename ----------------------------------------------------------------------

TEST_F(DomainIdentityTest, RenameDomainMovesItToTheNewNameKeepingItsUuid)
{
    v1::Domain defined = DefineDomain("old-name");

    v1::Domain renamed;
    ASSERT_TRUE(Succeeded(Rename("old-name", "new-name", &renamed)));

    EXPECT_EQ(renamed.name(), "new-name");
    EXPECT_EQ(renamed.uuid(), defined.uuid());
    v1::Domain found;
    EXPECT_TRUE(FailedWith(GetDomain("old-name", &found), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));
    ASSERT_TRUE(Succeeded(GetDomain("new-name", &found)));
    EXPECT_EQ(found.uuid(), defined.uuid());
    EXPECT_EQ(found.state().state(), v1::DOMAIN_STATE_SHUTOFF);
    EXPECT_THAT(XmlOf("new-name"), HasSubstr("<name>new-name</name>"));
}

TEST_F(DomainIdentityTest, RenameRunningDomainFailsPreconditionAndKeepsItsName)
{
    v1::Domain renamed;
    grpc::Status status = Rename(kStockDomainName, "other", &renamed);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    v1::Domain found;
    EXPECT_TRUE(Succeeded(GetDomain(kStockDomainName, &found)));
    EXPECT_TRUE(FailedWith(GetDomain("other", &found), grpc::StatusCode::NOT_FOUND,
                           "VIR_ERR_NO_DOMAIN"));
}

TEST_F(DomainIdentityTest, RenameToATakenNameFailsAndChangesNothing)
{
    v1::Domain defined = DefineDomain("web1");

    v1::Domain renamed;
    grpc::Status status = Rename("web1", kStockDomainName, &renamed);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
    EXPECT_THAT(status.error_message(), HasSubstr("already exists"));
    v1::Domain found;
    ASSERT_TRUE(Succeeded(GetDomain("web1", &found)));
    EXPECT_EQ(found.uuid(), defined.uuid());
    ASSERT_TRUE(Succeeded(GetDomain(kStockDomainName, &found)));
    EXPECT_EQ(found.uuid(), kStockDomainUuid);
}

TEST_F(DomainIdentityTest, RenameToAnEmptyOrMalformedNameIsInvalidAndChangesNothing)
{
    DefineDomain("web1");
    v1::Domain renamed;

    grpc::Status empty = Rename("web1", "", &renamed);
    EXPECT_TRUE(
        FailedWith(empty, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(empty.error_message(), HasSubstr("'new_name'"));

    grpc::Status slash = Rename("web1", "a/b", &renamed);
    EXPECT_EQ(slash.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(slash);

    EXPECT_THAT(DomainNames({}), ::testing::ElementsAre(kStockDomainName, "web1"));
    EXPECT_TRUE(ServerStillServes());
}

TEST_F(DomainIdentityTest, RenameAnUnknownDomainIsNotFound)
{
    v1::Domain renamed;
    EXPECT_TRUE(FailedWith(Rename("no-such-domain", "other", &renamed),
                           grpc::StatusCode::NOT_FOUND, "VIR_ERR_NO_DOMAIN"));
}

// --- messages --------------------------------------------------------------------

TEST_F(DomainIdentityTest, GetDomainMessagesOfAnUntaintedDomainIsEmpty)
{
    v1::GetDomainMessagesRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::GetDomainMessagesResponse response;
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainMessages, request, &response)));
    EXPECT_EQ(response.messages_size(), 0);

    request.add_types(v1::DOMAIN_MESSAGE_TYPE_DEPRECATION);
    request.add_types(v1::DOMAIN_MESSAGE_TYPE_TAINTING);
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainMessages, request, &response)));
    EXPECT_EQ(response.messages_size(), 0);
}

TEST_F(DomainIdentityTest, GetDomainMessagesWithAnUnknownTypeIsInvalid)
{
    v1::GetDomainMessagesRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    request.add_types(v1::DOMAIN_MESSAGE_TYPE_UNSPECIFIED);
    v1::GetDomainMessagesResponse response;
    grpc::Status status = Call(&Stub::GetDomainMessages, request, &response);

    EXPECT_TRUE(
        FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(status.error_message(), HasSubstr("'types'"));
}

// --- lifecycle actions -----------------------------------------------------------

TEST_F(DomainIdentityTest, SetDomainLifecycleActionShowsInTheLiveXml)
{
    ASSERT_TRUE(Succeeded(SetLifecycleAction(
        kStockDomainName, v1::DOMAIN_LIFECYCLE_POWEROFF,
        v1::DOMAIN_LIFECYCLE_ACTION_RESTART, {v1::MODIFICATION_IMPACT_LIVE})));
    EXPECT_THAT(XmlOf(kStockDomainName), HasSubstr("<on_poweroff>restart</on_poweroff>"));

    ASSERT_TRUE(
        Succeeded(SetLifecycleAction(kStockDomainName, v1::DOMAIN_LIFECYCLE_CRASH,
                                     v1::DOMAIN_LIFECYCLE_ACTION_COREDUMP_DESTROY)));
    EXPECT_THAT(XmlOf(kStockDomainName),
                HasSubstr("<on_crash>coredump-destroy</on_crash>"));
}

TEST_F(DomainIdentityTest, SetDomainLifecycleActionConfigChangesOnlyThePersistentXml)
{
    DefineRunningDomain("web1");
    std::string live_before = XmlOf("web1");
    ASSERT_THAT(live_before, HasSubstr("<on_reboot>restart</on_reboot>"));

    ASSERT_TRUE(Succeeded(SetLifecycleAction("web1", v1::DOMAIN_LIFECYCLE_REBOOT,
                                             v1::DOMAIN_LIFECYCLE_ACTION_DESTROY,
                                             {v1::MODIFICATION_IMPACT_CONFIG})));

    EXPECT_THAT(XmlOf("web1", /*inactive=*/true),
                HasSubstr("<on_reboot>destroy</on_reboot>"));
    EXPECT_THAT(XmlOf("web1"), HasSubstr("<on_reboot>restart</on_reboot>"));
}

TEST_F(DomainIdentityTest, CoredumpActionForRebootIsRejectedAndChangesNothing)
{
    std::string before = XmlOf(kStockDomainName);

    grpc::Status status = SetLifecycleAction(kStockDomainName, v1::DOMAIN_LIFECYCLE_REBOOT,
                                             v1::DOMAIN_LIFECYCLE_ACTION_COREDUMP_RESTART);

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::INVALID_ARGUMENT,
                           "VIR_ERR_CONFIG_UNSUPPORTED"));
    EXPECT_EQ(XmlOf(kStockDomainName), before);
}

TEST_F(DomainIdentityTest, LifecycleActionWithoutEventOrActionIsInvalidAndChangesNothing)
{
    std::string before = XmlOf(kStockDomainName);

    grpc::Status no_event =
        SetLifecycleAction(kStockDomainName, v1::DOMAIN_LIFECYCLE_UNSPECIFIED,
                           v1::DOMAIN_LIFECYCLE_ACTION_DESTROY);
    EXPECT_TRUE(FailedWith(no_event, grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(no_event.error_message(), HasSubstr("'lifecycle'"));

    grpc::Status bad_action =
        SetLifecycleAction(kStockDomainName, v1::DOMAIN_LIFECYCLE_POWEROFF,
                           static_cast<v1::DomainLifecycleAction>(99));
    EXPECT_TRUE(FailedWith(bad_action, grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(bad_action.error_message(), HasSubstr("99"));

    EXPECT_EQ(XmlOf(kStockDomainName), before);
    EXPECT_TRUE(ServerStillServes());
}

// --- control interface, disk errors ----------------------------------------------

TEST_F(DomainIdentityTest, GetDomainControlInfoOfAnIdleRunningDomainIsOk)
{
    v1::GetDomainControlInfoRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::DomainControlInfo info;
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainControlInfo, request, &info)));

    EXPECT_EQ(info.state(), v1::DOMAIN_CONTROL_STATE_OK);
    EXPECT_EQ(info.error_reason(), v1::DOMAIN_CONTROL_ERROR_REASON_UNSPECIFIED);
    EXPECT_EQ(info.state_time_ms(), 0u);
}

TEST_F(DomainIdentityTest, GetDomainControlInfoOfAShutOffDomainFailsPrecondition)
{
    DefineDomain("web1");
    v1::GetDomainControlInfoRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::DomainControlInfo info;

    EXPECT_TRUE(FailedWith(Call(&Stub::GetDomainControlInfo, request, &info),
                           grpc::StatusCode::FAILED_PRECONDITION,
                           "VIR_ERR_OPERATION_INVALID"));
}

// The test driver reports a canned I/O error on the first disk of a running domain.
TEST_F(DomainIdentityTest, GetDomainDiskErrorsReportsEachDiskWithItsError)
{
    v1::GetDomainDiskErrorsRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::GetDomainDiskErrorsResponse response;
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainDiskErrors, request, &response)));

    ASSERT_EQ(response.errors_size(), 1) << response.DebugString();
    EXPECT_EQ(response.errors(0).disk(), "vda");
    EXPECT_EQ(response.errors(0).error(), v1::DISK_ERROR_CODE_UNSPEC);
}

TEST_F(DomainIdentityTest, GetDomainDiskErrorsOfADomainWithoutDisksIsEmpty)
{
    DefineRunningDomain("web1");
    v1::GetDomainDiskErrorsRequest request;
    *request.mutable_domain() = RefByName("web1");
    v1::GetDomainDiskErrorsResponse response;
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainDiskErrors, request, &response)));

    EXPECT_EQ(response.errors_size(), 0) << response.DebugString();
}

// --- security labels -------------------------------------------------------------

TEST_F(DomainIdentityTest, GetDomainSecurityLabelReportsTheTestDriversEnforcedLabel)
{
    v1::GetDomainSecurityLabelRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::SecurityLabel label;
    ASSERT_TRUE(Succeeded(Call(&Stub::GetDomainSecurityLabel, request, &label)));

    EXPECT_EQ(label.label(), "libvirt-test");
    EXPECT_TRUE(label.enforcing());
}

TEST_F(DomainIdentityTest, ListDomainSecurityLabelsIsUnsupportedByTheTestDriver)
{
    v1::ListDomainSecurityLabelsRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::ListDomainSecurityLabelsResponse response;

    EXPECT_TRUE(FailedWith(Call(&Stub::ListDomainSecurityLabels, request, &response),
                           grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
    EXPECT_TRUE(ServerStillServes());
}

// --- launch security (AMD SEV: error mapping here, nothing to launch) -------------

// libvirt's public API asks for string parameters, which the test driver refuses.
TEST_F(DomainIdentityTest, GetDomainLaunchSecurityInfoIsRefusedByTheTestDriver)
{
    v1::GetDomainLaunchSecurityInfoRequest request;
    *request.mutable_domain() = RefByName(kStockDomainName);
    v1::GetDomainLaunchSecurityInfoResponse response;

    EXPECT_TRUE(FailedWith(Call(&Stub::GetDomainLaunchSecurityInfo, request, &response),
                           grpc::StatusCode::INVALID_ARGUMENT, "VIR_ERR_INVALID_ARG"));
}

TEST_F(DomainIdentityTest, SetDomainLaunchSecurityStateIsUnsupportedByTheTestDriver)
{
    grpc::Status status =
        SetLaunchSecurityState({{"sev-secret-header", StringParam("aGVhZGVy")},
                                {"sev-secret", StringParam("c2VjcmV0")},
                                {"sev-secret-set-address", Uint64Param(0x1000)}});

    EXPECT_TRUE(FailedWith(status, grpc::StatusCode::UNIMPLEMENTED, "VIR_ERR_NO_SUPPORT"));
}

TEST_F(DomainIdentityTest, LaunchSecurityStateWithUnknownOrMistypedParametersIsInvalid)
{
    grpc::Status empty = SetLaunchSecurityState({});
    EXPECT_TRUE(
        FailedWith(empty, grpc::StatusCode::INVALID_ARGUMENT, "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(empty.error_message(), HasSubstr("'params'"));

    grpc::Status unknown = SetLaunchSecurityState({{"sev-secrets", StringParam("x")}});
    EXPECT_TRUE(FailedWith(unknown, grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(unknown.error_message(), HasSubstr("'sev-secrets'"));

    grpc::Status mistyped = SetLaunchSecurityState({{"sev-secret", Uint64Param(1)}});
    EXPECT_TRUE(FailedWith(mistyped, grpc::StatusCode::INVALID_ARGUMENT,
                           "VIRTGRPC_INVALID_REQUEST"));
    EXPECT_THAT(mistyped.error_message(), HasSubstr("'sev-secret'"));
    EXPECT_THAT(mistyped.error_message(), Not(HasSubstr("no value")));

    EXPECT_TRUE(ServerStillServes());
}

} // namespace
} // namespace virtgrpc::testing
