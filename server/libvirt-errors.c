/*
 * THE table: every libvirt error number (virErrorNumber, libvirt 9.0) with its name and
 * the gRPC status it maps to. Errors a client can fix by changing its request map to
 * INVALID_ARGUMENT, errors about the domain's current state to FAILED_PRECONDITION,
 * missing objects to NOT_FOUND, unsupported operations to UNIMPLEMENTED, a lost
 * connection or guest agent to UNAVAILABLE, contention and timeouts to ABORTED. Anything
 * else, and any number newer libvirt adds, is INTERNAL.
 *
 * OPERATION_FAILED is libvirt's generic "operation failed" and in practice reports a
 * conflict with existing state (a console session already open, a name taken by
 * another UUID), so it maps to FAILED_PRECONDITION.
 */
#include "server/libvirt-errors.h"

#include <libvirt/virterror.h>
#include <stddef.h>
#include <stdio.h>

#define E(name, status) [VIR_ERR_##name] = { VIR_ERR_##name, "VIR_ERR_" #name, GRPC_STATUS_##status }
/* virErrorNumber also holds a few warnings (a driver failed to start). */
#define W(name) [VIR_WAR_##name] = { VIR_WAR_##name, "VIR_WAR_" #name, GRPC_STATUS_INTERNAL }

static const vg_libvirt_error vg_libvirt_errors[] = {
    E(OK, OK),
    E(INTERNAL_ERROR, INTERNAL),
    E(NO_MEMORY, RESOURCE_EXHAUSTED),
    E(NO_SUPPORT, UNIMPLEMENTED),
    E(UNKNOWN_HOST, UNAVAILABLE),
    E(NO_CONNECT, UNAVAILABLE),
    E(INVALID_CONN, INTERNAL),
    E(INVALID_DOMAIN, INVALID_ARGUMENT),
    E(INVALID_ARG, INVALID_ARGUMENT),
    E(OPERATION_FAILED, FAILED_PRECONDITION),
    E(GET_FAILED, INTERNAL),
    E(POST_FAILED, INTERNAL),
    E(HTTP_ERROR, INTERNAL),
    E(SEXPR_SERIAL, INTERNAL),
    E(NO_XEN, INTERNAL),
    E(XEN_CALL, INTERNAL),
    E(OS_TYPE, INTERNAL),
    E(NO_KERNEL, INVALID_ARGUMENT),
    E(NO_ROOT, INVALID_ARGUMENT),
    E(NO_SOURCE, INVALID_ARGUMENT),
    E(NO_TARGET, INVALID_ARGUMENT),
    E(NO_NAME, INVALID_ARGUMENT),
    E(NO_OS, INVALID_ARGUMENT),
    E(NO_DEVICE, INVALID_ARGUMENT),
    E(NO_XENSTORE, INTERNAL),
    E(DRIVER_FULL, INTERNAL),
    E(CALL_FAILED, INTERNAL),
    E(XML_ERROR, INVALID_ARGUMENT),
    E(DOM_EXIST, ALREADY_EXISTS),
    E(OPERATION_DENIED, PERMISSION_DENIED),
    E(OPEN_FAILED, INTERNAL),
    E(READ_FAILED, INTERNAL),
    E(PARSE_FAILED, INTERNAL),
    E(CONF_SYNTAX, INTERNAL),
    E(WRITE_FAILED, INTERNAL),
    E(XML_DETAIL, INVALID_ARGUMENT),
    E(INVALID_NETWORK, INVALID_ARGUMENT),
    E(NETWORK_EXIST, ALREADY_EXISTS),
    E(SYSTEM_ERROR, INTERNAL),
    E(RPC, UNAVAILABLE),
    E(GNUTLS_ERROR, INTERNAL),
    E(NO_DOMAIN, NOT_FOUND),
    E(NO_NETWORK, NOT_FOUND),
    E(INVALID_MAC, INVALID_ARGUMENT),
    E(AUTH_FAILED, UNAUTHENTICATED),
    E(INVALID_STORAGE_POOL, INVALID_ARGUMENT),
    E(INVALID_STORAGE_VOL, INVALID_ARGUMENT),
    E(NO_STORAGE_POOL, NOT_FOUND),
    E(NO_STORAGE_VOL, NOT_FOUND),
    E(INVALID_NODE_DEVICE, INVALID_ARGUMENT),
    E(NO_NODE_DEVICE, NOT_FOUND),
    E(NO_SECURITY_MODEL, NOT_FOUND),
    E(OPERATION_INVALID, FAILED_PRECONDITION),
    E(NO_INTERFACE, NOT_FOUND),
    E(INVALID_INTERFACE, INVALID_ARGUMENT),
    E(MULTIPLE_INTERFACES, INTERNAL),
    E(INVALID_NWFILTER, INVALID_ARGUMENT),
    E(NO_NWFILTER, NOT_FOUND),
    E(BUILD_FIREWALL, INTERNAL),
    E(INVALID_SECRET, INVALID_ARGUMENT),
    E(NO_SECRET, NOT_FOUND),
    E(CONFIG_UNSUPPORTED, INVALID_ARGUMENT),
    E(OPERATION_TIMEOUT, ABORTED),
    E(MIGRATE_PERSIST_FAILED, INTERNAL),
    E(HOOK_SCRIPT_FAILED, INTERNAL),
    E(INVALID_DOMAIN_SNAPSHOT, INVALID_ARGUMENT),
    E(NO_DOMAIN_SNAPSHOT, NOT_FOUND),
    E(INVALID_STREAM, INVALID_ARGUMENT),
    E(ARGUMENT_UNSUPPORTED, UNIMPLEMENTED),
    E(STORAGE_PROBE_FAILED, INTERNAL),
    E(STORAGE_POOL_BUILT, FAILED_PRECONDITION),
    E(SNAPSHOT_REVERT_RISKY, FAILED_PRECONDITION),
    E(OPERATION_ABORTED, ABORTED),
    E(AUTH_CANCELLED, UNAUTHENTICATED),
    E(NO_DOMAIN_METADATA, NOT_FOUND),
    E(MIGRATE_UNSAFE, FAILED_PRECONDITION),
    E(OVERFLOW, OUT_OF_RANGE),
    E(BLOCK_COPY_ACTIVE, FAILED_PRECONDITION),
    E(OPERATION_UNSUPPORTED, UNIMPLEMENTED),
    E(SSH, INTERNAL),
    E(AGENT_UNRESPONSIVE, UNAVAILABLE),
    E(RESOURCE_BUSY, ABORTED),
    E(ACCESS_DENIED, PERMISSION_DENIED),
    E(DBUS_SERVICE, INTERNAL),
    E(STORAGE_VOL_EXIST, INTERNAL),
    E(CPU_INCOMPATIBLE, FAILED_PRECONDITION),
    E(XML_INVALID_SCHEMA, INVALID_ARGUMENT),
    E(MIGRATE_FINISH_OK, INTERNAL),
    E(AUTH_UNAVAILABLE, UNAUTHENTICATED),
    E(NO_SERVER, NOT_FOUND),
    E(NO_CLIENT, NOT_FOUND),
    E(AGENT_UNSYNCED, UNAVAILABLE),
    E(LIBSSH, INTERNAL),
    E(DEVICE_MISSING, NOT_FOUND),
    E(INVALID_NWFILTER_BINDING, INVALID_ARGUMENT),
    E(NO_NWFILTER_BINDING, NOT_FOUND),
    E(INVALID_DOMAIN_CHECKPOINT, INVALID_ARGUMENT),
    E(NO_DOMAIN_CHECKPOINT, NOT_FOUND),
    E(NO_DOMAIN_BACKUP, NOT_FOUND),
    E(INVALID_NETWORK_PORT, INVALID_ARGUMENT),
    E(NETWORK_PORT_EXIST, INTERNAL),
    E(NO_NETWORK_PORT, NOT_FOUND),
    E(NO_HOSTNAME, NOT_FOUND),
    E(CHECKPOINT_INCONSISTENT, FAILED_PRECONDITION),
    E(MULTIPLE_DOMAINS, INTERNAL),
    W(NO_NETWORK),
    W(NO_STORAGE),
    W(NO_NODE),
    W(NO_INTERFACE),
    W(NO_NWFILTER),
    W(NO_SECRET),
};

#undef E
#undef W

#define D(name) [VIR_FROM_##name] = "VIR_FROM_" #name

/* virErrorDomain names: which libvirt subsystem reported an error. */
static const char *const vg_libvirt_error_domains[] = {
    D(NONE),
    D(XEN),
    D(XEND),
    D(XENSTORE),
    D(SEXPR),
    D(XML),
    D(DOM),
    D(RPC),
    D(PROXY),
    D(CONF),
    D(QEMU),
    D(NET),
    D(TEST),
    D(REMOTE),
    D(OPENVZ),
    D(XENXM),
    D(STATS_LINUX),
    D(LXC),
    D(STORAGE),
    D(NETWORK),
    D(DOMAIN),
    D(UML),
    D(NODEDEV),
    D(XEN_INOTIFY),
    D(SECURITY),
    D(VBOX),
    D(INTERFACE),
    D(ONE),
    D(ESX),
    D(PHYP),
    D(SECRET),
    D(CPU),
    D(XENAPI),
    D(NWFILTER),
    D(HOOK),
    D(DOMAIN_SNAPSHOT),
    D(AUDIT),
    D(SYSINFO),
    D(STREAMS),
    D(VMWARE),
    D(EVENT),
    D(LIBXL),
    D(LOCKING),
    D(HYPERV),
    D(CAPABILITIES),
    D(URI),
    D(AUTH),
    D(DBUS),
    D(PARALLELS),
    D(DEVICE),
    D(SSH),
    D(LOCKSPACE),
    D(INITCTL),
    D(IDENTITY),
    D(CGROUP),
    D(ACCESS),
    D(SYSTEMD),
    D(BHYVE),
    D(CRYPTO),
    D(FIREWALL),
    D(POLKIT),
    D(THREAD),
    D(ADMIN),
    D(LOGGING),
    D(XENXL),
    D(PERF),
    D(LIBSSH),
    D(RESCTRL),
    D(FIREWALLD),
    D(DOMAIN_CHECKPOINT),
    D(TPM),
    D(BPF),
    D(CH),
};

#undef D

const vg_libvirt_error *
vg_libvirt_error_lookup(int code)
{
    static const vg_libvirt_error unknown = { -1, "VIR_ERR_UNKNOWN", GRPC_STATUS_INTERNAL };

    if (code >= 0 && (size_t)code < sizeof(vg_libvirt_errors) / sizeof(vg_libvirt_errors[0]) &&
        vg_libvirt_errors[code].name)
        return &vg_libvirt_errors[code];
    return &unknown;
}

grpc_status_code
vg_libvirt_error_status(int code, int domain)
{
    if (domain == VIR_FROM_RPC &&
        (code == VIR_ERR_SYSTEM_ERROR || code == VIR_ERR_INTERNAL_ERROR))
        return GRPC_STATUS_UNAVAILABLE;
    return vg_libvirt_error_lookup(code)->status;
}

const char *
vg_libvirt_error_domain_name(int domain)
{
    if (domain >= 0 &&
        (size_t)domain < sizeof(vg_libvirt_error_domains) / sizeof(vg_libvirt_error_domains[0]) &&
        vg_libvirt_error_domains[domain])
        return vg_libvirt_error_domains[domain];
    return "VIR_FROM_UNKNOWN";
}
