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
/* "VIR_FROM_QEMU" for VIR_FROM_QEMU; "VIR_FROM_UNKNOWN" for numbers it does not know. */
const char *vg_libvirt_error_domain_name(int domain);
