/*
 * The server's method table: one entry per RPC, generated from the .proto files by
 * bazel/codegen (protoc-gen-virtgrpc, mode=server) into vg-methods.c. The transport
 * registers every entry with gRPC core and dispatches calls through it, so adding an RPC
 * means writing its handler, never registration code.
 */
#pragma once

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vg_call vg_call;

/* How requests and responses flow, from the .proto `stream` keywords. */
typedef enum vg_rpc_kind {
    VG_RPC_UNARY,
    VG_RPC_SERVER_STREAMING,
    VG_RPC_CLIENT_STREAMING,
    VG_RPC_BIDI_STREAMING,
} vg_rpc_kind;

/*
 * Where the handler runs. WORKER (the default) is a thread of the bounded worker pool:
 * anything that calls libvirt may block for seconds. INLINE runs on the completion-queue
 * thread and is only for handlers that never block (health, reflection); it saves the
 * pool hop. Set per service by the generator's `inline=` parameter.
 */
typedef enum vg_exec {
    VG_EXEC_WORKER,
    VG_EXEC_INLINE,
} vg_exec;

/*
 * Handler shapes. All return 0 on success or -1 after recording the failure on the call
 * (vg_call_fail*). Typed prototypes for each RPC are generated in vg-methods.h; the
 * table holds these generic trampolines.
 *
 * unary:            fill `response` (already initialised); the transport sends it.
 * server streaming: `request` is the single request; send with vg_call_send() and end
 *                   with vg_call_finish(), from any thread, now or later.
 * client / bidi:    no request; read with vg_call_read_start().
 */
/*
 * Who may call an RPC, lowest first: a caller may call every RPC whose role is at most
 * its own. The values are those of the proto enum virtgrpc.v1.Role (options.proto),
 * from each RPC's `option (virtgrpc.v1.role)`. VG_ROLE_NONE is a caller without a role
 * (an unmapped certificate identity): it may call nothing.
 */
typedef enum vg_role {
    VG_ROLE_NONE = 0,
    VG_ROLE_READ_ONLY = 1,
    VG_ROLE_OPERATOR = 2,
    VG_ROLE_ADMIN = 3,
} vg_role;

typedef int (*vg_unary_handler)(vg_call *call, const ProtobufCMessage *request,
                                ProtobufCMessage *response);
typedef int (*vg_server_streaming_handler)(vg_call *call,
                                           const ProtobufCMessage *request);
typedef int (*vg_streaming_handler)(vg_call *call);

typedef struct vg_method {
    const char *path;          /* "/virtgrpc.v1.DomainService/GetDomain" */
    const char *service;       /* "virtgrpc.v1.DomainService" */
    vg_rpc_kind kind;
    vg_exec exec;
    vg_role role;              /* the lowest role allowed to call it */
    const ProtobufCMessageDescriptor *input;
    const ProtobufCMessageDescriptor *output;
    vg_unary_handler unary;                       /* set for VG_RPC_UNARY */
    vg_server_streaming_handler server_streaming; /* set for VG_RPC_SERVER_STREAMING */
    vg_streaming_handler streaming;               /* client and bidi streaming */
} vg_method;

/* Generated: every RPC of every service compiled into the server. */
extern const vg_method vg_methods[];
extern const size_t vg_methods_count;

#ifdef __cplusplus
}
#endif
