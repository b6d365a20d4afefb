/*
 * protobuf-c messages <-> JSON (json-c objects) by the proto3 JSON mapping, driven only
 * by protobuf-c's descriptors, so it works for every message of every RPC:
 *
 * - output field names are lowerCamelCase; input accepts lowerCamelCase and the
 *   original snake_case names;
 * - enums are their value names (input also accepts numbers);
 * - 64-bit integers are strings (input accepts strings and numbers);
 * - bytes are base64 (GLib);
 * - google.protobuf.Timestamp is an RFC 3339 string, google.protobuf.Any is
 *   {"@type": URL, fields...} when the packed type is known (every message reachable
 *   from an RPC is), map<> fields are objects.
 *
 * Output prints every proto3 scalar, default or not (scripts can rely on a key being
 * there); unset messages, unset proto2 `optional` fields and the unselected members of
 * a oneof are left out.
 */
#pragma once

#include <json-c/json.h>
#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The message as a new JSON object (release with json_object_put). */
json_object *cli_json_from_message(const ProtobufCMessage *message);

/*
 * Builds a message of `type` from the JSON object `json`. Returns 0 with *message set
 * (free it with protobuf_c_message_free_unpacked(*message, NULL)), or -1 with *error set
 * to a malloc'ed sentence naming the offending field and value.
 */
int cli_json_to_message(json_object *json, const ProtobufCMessageDescriptor *type,
                        ProtobufCMessage **message, char **error);

/* The descriptor of the message called `full_name` ("virtgrpc.v1.Domain") among the
 * types reachable from the RPC table, or NULL. */
const ProtobufCMessageDescriptor *cli_json_find_type(const char *full_name);

#ifdef __cplusplus
}
#endif
