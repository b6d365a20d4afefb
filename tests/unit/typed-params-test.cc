// libvirt typed parameters <-> virtgrpc.v1.TypedParameter.
#include <string>

#include <gtest/gtest.h>

extern "C" {
#include <libvirt/libvirt.h>

#include "server/runtime/arena.h"
#include "server/typed-params.h"
}

namespace {

class TypedParamsTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { ASSERT_EQ(virInitialize(), 0); }
    void SetUp() override { vg_arena_init(&arena_, nullptr, 0); }
    void TearDown() override {
        vg_arena_release(&arena_);
        virTypedParamsFree(params_, n_params_);
    }

    Virtgrpc__V1__TypedParameter *Param(const char *name) {
        auto *p = static_cast<Virtgrpc__V1__TypedParameter *>(
            vg_arena_alloc(&arena_, sizeof(Virtgrpc__V1__TypedParameter)));
        virtgrpc__v1__typed_parameter__init(p);
        p->name = vg_arena_strdup(&arena_, name);
        return p;
    }

    vg_arena arena_;
    virTypedParameterPtr params_ = nullptr;
    int n_params_ = 0;
    int max_params_ = 0;
    char error_[512] = "";
};

TEST_F(TypedParamsTest, EveryLibvirtTypeReachesItsOneofField) {
    virTypedParamsAddInt(&params_, &n_params_, &max_params_, "i", -3);
    virTypedParamsAddUInt(&params_, &n_params_, &max_params_, "u", 7);
    virTypedParamsAddLLong(&params_, &n_params_, &max_params_, "l", -(1LL << 40));
    virTypedParamsAddULLong(&params_, &n_params_, &max_params_, "ul", 1ULL << 63);
    virTypedParamsAddDouble(&params_, &n_params_, &max_params_, "d", 2.5);
    virTypedParamsAddBoolean(&params_, &n_params_, &max_params_, "b", 1);
    virTypedParamsAddString(&params_, &n_params_, &max_params_, "s", "text");

    Virtgrpc__V1__TypedParameter **out;
    size_t n_out;
    vg_typed_params_to_proto(&arena_, params_, n_params_, &out, &n_out);

    ASSERT_EQ(n_out, 7u);
    EXPECT_STREQ(out[0]->name, "i");
    EXPECT_EQ(out[0]->value_case, VIRTGRPC__V1__TYPED_PARAMETER__VALUE_INT32_VALUE);
    EXPECT_EQ(out[0]->int32_value, -3);
    EXPECT_EQ(out[1]->uint32_value, 7u);
    EXPECT_EQ(out[2]->int64_value, -(1LL << 40));
    EXPECT_EQ(out[3]->uint64_value, 1ULL << 63);
    EXPECT_DOUBLE_EQ(out[4]->double_value, 2.5);
    EXPECT_EQ(out[5]->value_case, VIRTGRPC__V1__TYPED_PARAMETER__VALUE_BOOL_VALUE);
    EXPECT_TRUE(out[5]->bool_value);
    EXPECT_STREQ(out[6]->string_value, "text");
}

TEST_F(TypedParamsTest, RoundTripKeepsNamesTypesAndValues) {
    Virtgrpc__V1__TypedParameter *in[3] = {Param("weight"), Param("limit"), Param("mode")};
    in[0]->value_case = VIRTGRPC__V1__TYPED_PARAMETER__VALUE_UINT32_VALUE;
    in[0]->uint32_value = 50;
    in[1]->value_case = VIRTGRPC__V1__TYPED_PARAMETER__VALUE_UINT64_VALUE;
    in[1]->uint64_value = 1ULL << 35;
    in[2]->value_case = VIRTGRPC__V1__TYPED_PARAMETER__VALUE_STRING_VALUE;
    in[2]->string_value = vg_arena_strdup(&arena_, "strict");

    ASSERT_EQ(vg_typed_params_from_proto(in, 3, nullptr, 0, &params_, &n_params_, error_,
                                         sizeof(error_)),
              0)
        << error_;
    unsigned int weight = 0;
    unsigned long long limit = 0;
    const char *mode = nullptr;
    EXPECT_EQ(virTypedParamsGetUInt(params_, n_params_, "weight", &weight), 1);
    EXPECT_EQ(weight, 50u);
    EXPECT_EQ(virTypedParamsGetULLong(params_, n_params_, "limit", &limit), 1);
    EXPECT_EQ(limit, 1ULL << 35);
    EXPECT_EQ(virTypedParamsGetString(params_, n_params_, "mode", &mode), 1);
    EXPECT_STREQ(mode, "strict");
}

TEST_F(TypedParamsTest, RepeatedStringNamesAreKept) {
    // Migration's "migrate_disks" repeats: a map would lose all but one.
    Virtgrpc__V1__TypedParameter *in[2] = {Param("migrate_disks"), Param("migrate_disks")};
    for (auto *p : in)
        p->value_case = VIRTGRPC__V1__TYPED_PARAMETER__VALUE_STRING_VALUE;
    in[0]->string_value = vg_arena_strdup(&arena_, "vda");
    in[1]->string_value = vg_arena_strdup(&arena_, "vdb");

    ASSERT_EQ(vg_typed_params_from_proto(in, 2, nullptr, 0, &params_, &n_params_, error_,
                                         sizeof(error_)),
              0)
        << error_;
    EXPECT_EQ(n_params_, 2);
}

TEST_F(TypedParamsTest, UnknownNameIsRejectedNamingTheKnownOnes) {
    virTypedParameterPtr known = nullptr;
    int n_known = 0, max_known = 0;
    virTypedParamsAddUInt(&known, &n_known, &max_known, "cpu_shares", 1024);

    Virtgrpc__V1__TypedParameter *in[1] = {Param("cpu_share")};
    in[0]->value_case = VIRTGRPC__V1__TYPED_PARAMETER__VALUE_UINT32_VALUE;
    EXPECT_EQ(vg_typed_params_from_proto(in, 1, known, n_known, &params_, &n_params_, error_,
                                         sizeof(error_)),
              -1);
    EXPECT_NE(std::string(error_).find("'cpu_share'"), std::string::npos) << error_;
    EXPECT_NE(std::string(error_).find("'cpu_shares'"), std::string::npos) << error_;
    EXPECT_EQ(params_, nullptr);
    virTypedParamsFree(known, n_known);
}

TEST_F(TypedParamsTest, WrongTypeIsRejectedNamingBothTypes) {
    virTypedParameterPtr known = nullptr;
    int n_known = 0, max_known = 0;
    virTypedParamsAddULLong(&known, &n_known, &max_known, "hard_limit", 1);

    Virtgrpc__V1__TypedParameter *in[1] = {Param("hard_limit")};
    in[0]->value_case = VIRTGRPC__V1__TYPED_PARAMETER__VALUE_STRING_VALUE;
    in[0]->string_value = vg_arena_strdup(&arena_, "lots");
    EXPECT_EQ(vg_typed_params_from_proto(in, 1, known, n_known, &params_, &n_params_, error_,
                                         sizeof(error_)),
              -1);
    EXPECT_NE(std::string(error_).find("uint64_value"), std::string::npos) << error_;
    EXPECT_NE(std::string(error_).find("string_value"), std::string::npos) << error_;
    virTypedParamsFree(known, n_known);
}

TEST_F(TypedParamsTest, MissingNameOrValueIsRejected) {
    Virtgrpc__V1__TypedParameter *no_value[1] = {Param("weight")};
    EXPECT_EQ(vg_typed_params_from_proto(no_value, 1, nullptr, 0, &params_, &n_params_, error_,
                                         sizeof(error_)),
              -1);
    EXPECT_NE(std::string(error_).find("no value"), std::string::npos) << error_;

    Virtgrpc__V1__TypedParameter *no_name[1] = {Param("")};
    no_name[0]->value_case = VIRTGRPC__V1__TYPED_PARAMETER__VALUE_BOOL_VALUE;
    EXPECT_EQ(vg_typed_params_from_proto(no_name, 1, nullptr, 0, &params_, &n_params_, error_,
                                         sizeof(error_)),
              -1);
    EXPECT_NE(std::string(error_).find("no name"), std::string::npos) << error_;
}

}  // namespace
