/*
 * The rich error trailer: `grpc-status-details-bin` carries a serialized
 * google.rpc.Status whose details hold one google.rpc.ErrorInfo, the standard way gRPC
 * clients in every language read typed error details.
 */
#pragma once

#include <grpc/slice.h>
#include <grpc/status.h>

typedef struct vg_status_details {
    grpc_status_code code;
    const char *message;
    const char *reason;       /* ErrorInfo.reason */
    const char *error_domain; /* ErrorInfo.domain */
    int libvirt_code;         /* 0: not a libvirt error */
    int libvirt_domain;
} vg_status_details;

/* The serialized google.rpc.Status. The caller owns the slice. */
grpc_slice vg_status_details_encode(const vg_status_details *details);
