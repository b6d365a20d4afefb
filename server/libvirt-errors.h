/*
 * libvirt error numbers -> gRPC status codes, by one table (libvirt-errors.c). The
 * transport uses it for every failed libvirt call; the number and its name also travel
 * to the client in the google.rpc.ErrorInfo of the status.
 */
#pragma once

#include <grpc/status.h>

typedef struct vg_libvirt_error {
    int code;                /* virErrorNumber */
    const char *name;        /* "VIR_ERR_NO_DOMAIN" */
    grpc_status_code status; /* NOT_FOUND */
} vg_libvirt_error;

/* Never NULL: numbers the table does not know map to "VIR_ERR_UNKNOWN" / INTERNAL. */
const vg_libvirt_error *vg_libvirt_error_lookup(int code);
/*
 * The gRPC status of a libvirt error: the table's, except for a lost connection to
 * libvirtd. libvirt's RPC layer reports that as SYSTEM_ERROR ("Cannot recv data:
 * Connection reset by peer", "End of file while reading data") or INTERNAL_ERROR
 * ("client socket is closed", "connection closed due to keepalive timeout"), both from
 * VIR_FROM_RPC; from there they mean "libvirtd is not reachable now", which a client
 * should retry: UNAVAILABLE. Errors the daemon itself reports keep their own domain.
 */
grpc_status_code vg_libvirt_error_status(int code, int domain);
/* "VIR_FROM_QEMU" for VIR_FROM_QEMU; "VIR_FROM_UNKNOWN" for numbers it does not know. */
const char *vg_libvirt_error_domain_name(int domain);
