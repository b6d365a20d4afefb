// json-message.c against protobuf's own JSON implementation (the reference of the proto3
// JSON mapping): messages built with the C++ API go through the wire format into
// protobuf-c, out as JSON by cli_json_from_message and back in through
// JsonStringToMessage, and the other way round, and must come back equal. Bad JSON is
// refused with a message naming the field.
#include <string>

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "client/cli/json-message.h"
#include "google/rpc/error_details.pb.h"
#include "virtgrpc/v1/console.pb.h"
#include "virtgrpc/v1/devices.pb.h"
#include "virtgrpc/v1/events.pb.h"
#include "virtgrpc/v1/job.pb.h"
#include "virtgrpc/v1/jobs.pb.h"
#include "virtgrpc/v1/stats.pb.h"
#include "virtgrpc/v1/tuning.pb.h"

namespace {

using google::protobuf::Message;
using google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

// `message` as protobuf-c sees it after the wire: the converter's input.
ProtobufCMessage *ToProtobufC(const Message &message) {
    const ProtobufCMessageDescriptor *type =
        cli_json_find_type(message.GetDescriptor()->full_name().c_str());
    EXPECT_NE(type, nullptr) << message.GetDescriptor()->full_name();
    std::string wire = message.SerializeAsString();
    return protobuf_c_message_unpack(type, nullptr, wire.size(),
                                     reinterpret_cast<const uint8_t *>(wire.data()));
}

std::string CliJson(const Message &message) {
    ProtobufCMessage *c_message = ToProtobufC(message);
    json_object *json = cli_json_from_message(c_message);
    std::string text = json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN);
    json_object_put(json);
    protobuf_c_message_free_unpacked(c_message, nullptr);
    return text;
}

// JSON -> protobuf-c via the converter -> wire -> `out`. Returns the error, or "".
std::string FromCliJson(const std::string &text, Message *out) {
    const ProtobufCMessageDescriptor *type =
        cli_json_find_type(out->GetDescriptor()->full_name().c_str());
    json_object *json = json_tokener_parse(text.c_str());
    EXPECT_NE(json, nullptr) << text;
    ProtobufCMessage *message = nullptr;
    char *error = nullptr;
    std::string result;
    if (cli_json_to_message(json, type, &message, &error) < 0) {
        result = error ? error : "(no message)";
        free(error);
    } else {
        std::string wire(protobuf_c_message_get_packed_size(message), '\0');
        protobuf_c_message_pack(message, reinterpret_cast<uint8_t *>(wire.data()));
        EXPECT_TRUE(out->ParseFromString(wire));
        protobuf_c_message_free_unpacked(message, nullptr);
    }
    json_object_put(json);
    return result;
}

// Both directions against protobuf's JSON: ours parsed by protobuf, protobuf's (with
// either field naming) parsed by ours.
void ExpectRoundTrips(const Message &original) {
    std::string ours = CliJson(original);
    std::unique_ptr<Message> parsed(original.New());
    auto status = google::protobuf::util::JsonStringToMessage(ours, parsed.get());
    ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << ours;
    EXPECT_TRUE(MessageDifferencer::Equals(original, *parsed))
        << "ours: " << ours << "\nback: " << parsed->DebugString();

    for (bool original_names : {false, true}) {
        google::protobuf::util::JsonPrintOptions options;
        options.preserve_proto_field_names = original_names;
        std::string theirs;
        ASSERT_TRUE(google::protobuf::util::MessageToJsonString(original, &theirs, options).ok());
        std::unique_ptr<Message> back(original.New());
        EXPECT_EQ(FromCliJson(theirs, back.get()), "") << theirs;
        EXPECT_TRUE(MessageDifferencer::Equals(original, *back))
            << "theirs: " << theirs << "\nback: " << back->DebugString();
    }
}

TEST(JsonMessageTest, ScalarsEnumsOneofsAndNegativeNumbersRoundTrip) {
    virtgrpc::v1::SetDomainMemoryParametersRequest request;
    request.mutable_domain()->set_id(7);
    request.add_impact(virtgrpc::v1::MODIFICATION_IMPACT_LIVE);
    request.add_impact(virtgrpc::v1::MODIFICATION_IMPACT_CONFIG);
    request.add_parameters()->set_int32_value(-5);
    request.add_parameters()->set_uint32_value(4000000000u);
    request.add_parameters()->set_int64_value(-9007199254740993LL);
    request.add_parameters()->set_uint64_value(18446744073709551615ULL);
    request.add_parameters()->set_double_value(-0.25);
    request.add_parameters()->set_bool_value(true);
    auto *text = request.add_parameters();
    text->set_name("hard_limit");
    text->set_string_value("ünïcode \"quoted\" / slash");

    ExpectRoundTrips(request);
}

TEST(JsonMessageTest, SixtyFourBitIntegersAreStrings) {
    virtgrpc::v1::TypedParameter parameter;
    parameter.set_uint64_value(18446744073709551615ULL);

    EXPECT_EQ(CliJson(parameter), R"({"name":"","uint64Value":"18446744073709551615"})");
}

TEST(JsonMessageTest, BytesAreBase64) {
    virtgrpc::v1::PeekDomainBlockResponse response;
    response.set_data(std::string("\0\1\2\xff hello", 10));

    EXPECT_EQ(CliJson(response), R"({"data":"AAEC\/yBoZWxsbw=="})");
    ExpectRoundTrips(response);
}

TEST(JsonMessageTest, TimestampAnyAndNestedMessagesRoundTrip) {
    virtgrpc::v1::Job job;
    job.set_id("j1");
    job.set_kind(virtgrpc::v1::JOB_KIND_SAVE);
    job.set_state(virtgrpc::v1::JOB_STATE_COMPLETED);
    job.mutable_created_at()->set_seconds(1795674982);
    job.mutable_created_at()->set_nanos(123000000);
    job.mutable_ended_at()->set_seconds(1795674983);
    job.mutable_progress()->set_data_total(100);
    job.mutable_progress()->set_data_processed(0);  // proto2: set to 0 is still set
    virtgrpc::v1::Domain domain;
    domain.set_name("test");
    domain.mutable_state()->set_state(virtgrpc::v1::DOMAIN_STATE_SHUTOFF);
    domain.mutable_state()->set_shutoff_reason(virtgrpc::v1::SHUTOFF_REASON_SAVED);
    job.mutable_result()->PackFrom(domain);

    ExpectRoundTrips(job);
    EXPECT_THAT(CliJson(job), HasSubstr(R"("createdAt":"2026-11-26T06:36:22.123Z")"));
    EXPECT_THAT(CliJson(job),
                HasSubstr(R"("result":{"@type":"type.googleapis.com\/virtgrpc.v1.Domain")"));
}

TEST(JsonMessageTest, MapsAreObjects) {
    google::rpc::ErrorInfo info;
    info.set_reason("VIR_ERR_NO_DOMAIN");
    (*info.mutable_metadata())["code"] = "42";
    (*info.mutable_metadata())["domain_name"] = "VIR_FROM_QEMU";

    ExpectRoundTrips(info);
    EXPECT_THAT(CliJson(info), HasSubstr(R"("metadata":{)"));
}

TEST(JsonMessageTest, Proto2OptionalFieldsAppearOnlyWhenSet) {
    virtgrpc::v1::StateStats stats;
    stats.set_reason(0);

    EXPECT_EQ(CliJson(stats), R"({"reason":0})");
    ExpectRoundTrips(stats);
}

TEST(JsonMessageTest, EventsWithOneofMessagesRoundTrip) {
    virtgrpc::v1::DomainEvent event;
    event.set_sequence(3);
    event.mutable_time()->set_seconds(1);
    event.mutable_rtc_change()->set_utc_offset_seconds(-3600);

    ExpectRoundTrips(event);
}

TEST(JsonMessageTest, EnumsAreAcceptedByNumberToo) {
    virtgrpc::v1::ListJobsRequest request;

    EXPECT_EQ(FromCliJson(R"({"states": [1, "JOB_STATE_FAILED"]})", &request), "");
    ASSERT_EQ(request.states_size(), 2);
    EXPECT_EQ(request.states(0), virtgrpc::v1::JOB_STATE_RUNNING);
    EXPECT_EQ(request.states(1), virtgrpc::v1::JOB_STATE_FAILED);
}

TEST(JsonMessageTest, BadJsonIsRefusedNamingTheField) {
    struct Case {
        const char *json;
        const char *error;
    };
    const Case cases[] = {
        {R"({"nope": 1})", "has no field 'nope'"},
        {R"({"states": ["JOB_STATE_NAPPING"]})", "field 'states'"},
        {R"({"states": "JOB_STATE_FAILED"})", "wants an array"},
        {R"({"domain": "test"})", "wants an object"},
        {R"({"domain": {"name": "a", "uuid": "b"}})", "both set"},
        {R"({"domain": {"id": 4294967296}})", "field 'id'"},
        {R"({"domain": {"id": -1}})", "field 'id'"},
        {R"({"domain": {"name": 5}})", "wants a string"},
    };
    for (const Case &c : cases) {
        virtgrpc::v1::ListJobsRequest request;
        EXPECT_THAT(FromCliJson(c.json, &request), HasSubstr(c.error)) << c.json;
    }
    virtgrpc::v1::TypedParameter parameter;
    EXPECT_THAT(FromCliJson(R"({"int32Value": "2147483648"})", &parameter),
                HasSubstr("field 'int32_value'"));
    EXPECT_THAT(FromCliJson(R"({"boolValue": 1})", &parameter), HasSubstr("true or false"));
    virtgrpc::v1::OpenDomainConsoleRequest console;
    EXPECT_THAT(FromCliJson(R"({"input": 5})", &console), HasSubstr("base64"));
}

}  // namespace
