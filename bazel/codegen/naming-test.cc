// The generator's naming rules: ours (handler, client and enum map names) and the
// copies of protoc-c's, which must produce the very symbols protoc-c declares.
#include <memory>
#include <string>

#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include "bazel/codegen/codegen.h"

namespace vg_codegen {
namespace {

// Parses `text` as a .proto file named `name` into `pool`.
const pb::FileDescriptor *
BuildProto(pb::DescriptorPool *pool, const std::string &name, const std::string &text)
{
    pb::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
    pb::io::Tokenizer tokenizer(&input, nullptr);
    pb::compiler::Parser parser;
    pb::FileDescriptorProto proto;
    if (!parser.Parse(&tokenizer, &proto)) {
        return nullptr;
    }
    proto.set_name(name);
    return pool->BuildFile(proto);
}

TEST(NamingTest, SnakeSplitsWordsAndAcronyms)
{
    EXPECT_EQ(Snake("GetDomain"), "get_domain");
    EXPECT_EQ(Snake("ServerReflectionInfo"), "server_reflection_info");
    EXPECT_EQ(Snake("GetXMLDesc"), "get_xml_desc");
    EXPECT_EQ(Snake("GetDomainXML"), "get_domain_xml");
    EXPECT_EQ(Snake("ListDomainsV2"), "list_domains_v2");
    EXPECT_EQ(Snake("v1alpha"), "v1alpha");
    EXPECT_EQ(Snake("Check"), "check");
}

class ProtoNamingTest : public ::testing::Test {
  protected:
    void
    SetUp() override
    {
        project_ = BuildProto(&pool_, "virtgrpc/v1/test.proto", R"(
            syntax = "proto3";
            package virtgrpc.v1;
            message GetDomainRequest {
              message inner_msg { int32 x = 1; }
              enum Filter { FILTER_UNSPECIFIED = 0; }
            }
            enum DomainState { DOMAIN_STATE_UNSPECIFIED = 0; }
            service DomainService {
              rpc GetDomain(GetDomainRequest) returns (GetDomainRequest);
            }
        )");
        other_ = BuildProto(&pool_, "grpc/reflection/v1alpha/test.proto", R"(
            syntax = "proto3";
            package grpc.reflection.v1alpha;
            message ServerReflectionRequest {}
            service ServerReflection {
              rpc ServerReflectionInfo(stream ServerReflectionRequest)
                  returns (stream ServerReflectionRequest);
            }
        )");
        ASSERT_NE(project_, nullptr);
        ASSERT_NE(other_, nullptr);
    }

    pb::DescriptorPool pool_;
    const pb::FileDescriptor *project_ = nullptr;
    const pb::FileDescriptor *other_ = nullptr;
};

TEST_F(ProtoNamingTest, RpcSuffixOmitsOnlyTheProjectPackage)
{
    EXPECT_EQ(RpcSuffix(project_->service(0)->method(0)), "domain_service_get_domain");
    EXPECT_EQ(RpcSuffix(other_->service(0)->method(0)),
              "grpc_reflection_v1alpha_server_reflection_server_reflection_info");
}

TEST_F(ProtoNamingTest, CNamesFollowProtocC)
{
    const pb::Descriptor *request = project_->message_type(0);
    EXPECT_EQ(CTypeName(request), "Virtgrpc__V1__GetDomainRequest");
    EXPECT_EQ(CDescriptorName(request), "virtgrpc__v1__get_domain_request__descriptor");
    EXPECT_EQ(CTypeName(request->nested_type(0)), "Virtgrpc__V1__GetDomainRequest__InnerMsg");
    EXPECT_EQ(CDescriptorName(request->nested_type(0)),
              "virtgrpc__v1__get_domain_request__inner_msg__descriptor");
    EXPECT_EQ(CTypeName(other_->message_type(0)),
              "Grpc__Reflection__V1alpha__ServerReflectionRequest");
    EXPECT_EQ(PbcHeader(project_), "virtgrpc/v1/test.pb-c.h");
}

TEST_F(ProtoNamingTest, EnumMapNamesDropTheProjectPackage)
{
    EXPECT_EQ(EnumMapName(project_->enum_type(0)), "vg_enum_domain_state");
    EXPECT_EQ(EnumMapName(project_->message_type(0)->enum_type(0)),
              "vg_enum_get_domain_request_filter");
}

TEST(CTextTest, CommentsCannotEndEarly)
{
    EXPECT_EQ(CComment(" a */ b /* c\n"), "/*\n * a * / b / * c\n */\n");
    EXPECT_EQ(CComment(""), "");
    EXPECT_EQ(CString("a\"b\\c\n"), "\"a\\\"b\\\\c\\012\"");
}

}  // namespace
}  // namespace vg_codegen
