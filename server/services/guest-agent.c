/*
 * GuestAgentService: commands libvirt runs in the guest through its QEMU guest agent
 * (passwords, SSH keys, file system freeze/thaw/trim, file system and guest info) and
 * the agent's response timeout.
 *
 * Guest info comes back as libvirt typed parameters; they are returned as they are and
 * the well-known groups (os, hostname, timezone, users, file systems) are also decoded
 * into typed messages by name ("fs.<n>.mountpoint"), with the group's "<x>.count".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/virterror.h>

#include "server/services/domain-common.h"
#include "server/services/domain-params.h"
#include "server/services/service.h"
#include "vg-methods.h"

/* --- request checks ----------------------------------------------------------------- */

/* A guest user name: not empty, and no ':' or line break (the agent passes
 * "user:password" lines to chpasswd and uses the name in paths). */
static int
vg_guest_user_check(vg_call *call, const char *user)
{
    if (!user || !*user)
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'user' is empty: give a guest user name, e.g. 'root'");
    if (strpbrk(user, ":\n\r"))
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'user' '%s' contains ':' or a line break", user);
    return 0;
}

/* Every entry of a repeated string field is non-empty and has no line break. */
static int
vg_string_list_check(vg_call *call, const char *field, char *const *values, size_t n_values)
{
    for (size_t i = 0; i < n_values; i++) {
        if (!values[i] || !*values[i])
            return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                                VG_REASON_INVALID_REQUEST, "'%s' entry %zu is empty", field,
                                i);
        if (strpbrk(values[i], "\n\r"))
            return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                                VG_REASON_INVALID_REQUEST,
                                "'%s' entry %zu contains a line break", field, i);
    }
    return 0;
}

/* --- passwords and SSH keys --------------------------------------------------------- */

int
vgh_guest_agent_service_set_domain_user_password(
    vg_call *call, const Virtgrpc__V1__SetDomainUserPasswordRequest *request,
    Virtgrpc__V1__SetDomainUserPasswordResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;

    (void)response;
    if (VG_FLAGS(call, vg_enum_user_password_flag, request, flags, &flags) < 0 ||
        vg_guest_user_check(call, request->user) < 0)
        return -1;
    if (strpbrk(request->password, "\n\r")) /* never echo the password itself */
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'password' contains a line break");
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainSetUserPassword(domain, request->user, request->password, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

/* A string array libvirt allocated (virDomainAuthorizedSSHKeysGet), freed with its strings.
 */
typedef struct vg_string_array {
    char **strings;
    int n;
} vg_string_array;

static void
vg_string_array_free(void *data)
{
    vg_string_array *array = data;

    for (int i = 0; i < array->n; i++)
        free(array->strings[i]);
    free(array->strings);
}

int
vgh_guest_agent_service_get_domain_authorized_ssh_keys(
    vg_call *call, const Virtgrpc__V1__GetDomainAuthorizedSshKeysRequest *request,
    Virtgrpc__V1__GetDomainAuthorizedSshKeysResponse *response)
{
    vg_string_array *keys = vg_call_alloc(call, sizeof(*keys));
    virDomainPtr domain;

    if (vg_guest_user_check(call, request->user) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    keys->n = virDomainAuthorizedSSHKeysGet(domain, request->user, &keys->strings, 0);
    if (keys->n < 0)
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, vg_string_array_free, keys);
    response->keys = keys->strings; /* freed after the response is sent */
    response->n_keys = (size_t)keys->n;
    return 0;
}

int
vgh_guest_agent_service_set_domain_authorized_ssh_keys(
    vg_call *call, const Virtgrpc__V1__SetDomainAuthorizedSshKeysRequest *request,
    Virtgrpc__V1__SetDomainAuthorizedSshKeysResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;

    (void)response;
    if (VG_FLAGS(call, vg_enum_authorized_ssh_keys_set_flag, request, flags, &flags) < 0 ||
        vg_guest_user_check(call, request->user) < 0)
        return -1;
    if (request->n_keys == 0)
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'keys' is empty: give at least one authorized_keys line");
    if (vg_string_list_check(call, "keys", request->keys, request->n_keys) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainAuthorizedSSHKeysSet(domain, request->user, (const char **)request->keys,
                                      (unsigned int)request->n_keys, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

/* --- file systems ------------------------------------------------------------------- */

int
vgh_guest_agent_service_trim_domain_filesystems(
    vg_call *call, const Virtgrpc__V1__TrimDomainFilesystemsRequest *request,
    Virtgrpc__V1__TrimDomainFilesystemsResponse *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);

    (void)response;
    if (!domain)
        return -1;
    if (virDomainFSTrim(domain, *request->mountpoint ? request->mountpoint : NULL,
                        request->minimum_bytes, 0) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

/* virDomainFSFreeze and virDomainFSThaw: the same shape, a count of file systems. */
static int
vg_fs_freeze_thaw(vg_call *call, const Virtgrpc__V1__DomainRef *ref,
                  char *const *mountpoints, size_t n_mountpoints,
                  int (*action)(virDomainPtr, const char **, unsigned int, unsigned int),
                  uint32_t *count)
{
    virDomainPtr domain;
    int n;

    if (vg_string_list_check(call, "mountpoints", mountpoints, n_mountpoints) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, ref)))
        return -1;
    n = action(domain, n_mountpoints ? (const char **)mountpoints : NULL,
               (unsigned int)n_mountpoints, 0);
    if (n < 0)
        return vg_call_fail_libvirt(call);
    *count = (uint32_t)n;
    return 0;
}

int
vgh_guest_agent_service_freeze_domain_filesystems(
    vg_call *call, const Virtgrpc__V1__FreezeDomainFilesystemsRequest *request,
    Virtgrpc__V1__FreezeDomainFilesystemsResponse *response)
{
    return vg_fs_freeze_thaw(call, request->domain, request->mountpoints,
                             request->n_mountpoints, virDomainFSFreeze, &response->frozen);
}

int
vgh_guest_agent_service_thaw_domain_filesystems(
    vg_call *call, const Virtgrpc__V1__ThawDomainFilesystemsRequest *request,
    Virtgrpc__V1__ThawDomainFilesystemsResponse *response)
{
    return vg_fs_freeze_thaw(call, request->domain, request->mountpoints,
                             request->n_mountpoints, virDomainFSThaw, &response->thawed);
}

typedef struct vg_fs_info_array {
    virDomainFSInfoPtr *info;
    int n;
} vg_fs_info_array;

static void
vg_fs_info_array_free(void *data)
{
    vg_fs_info_array *array = data;

    for (int i = 0; i < array->n; i++)
        virDomainFSInfoFree(array->info[i]);
    free(array->info);
}

int
vgh_guest_agent_service_get_domain_fs_info(
    vg_call *call, const Virtgrpc__V1__GetDomainFsInfoRequest *request,
    Virtgrpc__V1__GetDomainFsInfoResponse *response)
{
    vg_fs_info_array *array = vg_call_alloc(call, sizeof(*array));
    virDomainPtr domain = vg_domain_lookup(call, request->domain);

    if (!domain)
        return -1;
    array->n = virDomainGetFSInfo(domain, &array->info, 0);
    if (array->n < 0)
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, vg_fs_info_array_free, array);

    response->filesystems = vg_call_alloc(call, sizeof(*response->filesystems) *
                                                    (size_t)(array->n ? array->n : 1));
    for (int i = 0; i < array->n; i++) {
        const virDomainFSInfo *info = array->info[i];
        Virtgrpc__V1__DomainFsInfo *fs =
            VG_NEW(call, Virtgrpc__V1__DomainFsInfo, virtgrpc__v1__domain_fs_info__init);

        fs->mountpoint = info->mountpoint ? info->mountpoint : "";
        fs->name = info->name ? info->name : "";
        fs->fstype = info->fstype ? info->fstype : "";
        fs->disk_aliases = info->devAlias;
        fs->n_disk_aliases = info->devAlias ? info->ndevAlias : 0;
        response->filesystems[response->n_filesystems++] = fs;
    }
    return 0;
}

/* --- guest info --------------------------------------------------------------------- */

typedef struct vg_guest_params {
    virTypedParameterPtr params;
    int n;
} vg_guest_params;

/* The string parameter `name` (printf format), or "" when absent or not a string; the
 * string stays owned by the parameters (freed when the call ends). */
static char *vg_guest_string(const vg_guest_params *p, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static char *
vg_guest_string(const vg_guest_params *p, const char *format, ...)
{
    char name[VIR_TYPED_PARAM_FIELD_LENGTH];
    const char *value = NULL;
    va_list args;

    va_start(args, format);
    vsnprintf(name, sizeof(name), format, args);
    va_end(args);
    if (virTypedParamsGetString(p->params, p->n, name, &value) != 1 || !value) {
        virResetLastError();
        return (char *)"";
    }
    return (char *)value;
}

/* The unsigned number `name` (UINT or ULLONG), 0 when absent. */
static uint64_t vg_guest_number(const vg_guest_params *p, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static uint64_t
vg_guest_number(const vg_guest_params *p, const char *format, ...)
{
    char name[VIR_TYPED_PARAM_FIELD_LENGTH];
    virTypedParameterPtr param;
    va_list args;

    va_start(args, format);
    vsnprintf(name, sizeof(name), format, args);
    va_end(args);
    if (!(param = virTypedParamsGet(p->params, p->n, name)))
        return 0;
    switch (param->type) {
    case VIR_TYPED_PARAM_UINT:
        return param->value.ui;
    case VIR_TYPED_PARAM_ULLONG:
        return param->value.ul;
    case VIR_TYPED_PARAM_INT:
        return param->value.i > 0 ? (uint64_t)param->value.i : 0;
    case VIR_TYPED_PARAM_LLONG:
        return param->value.l > 0 ? (uint64_t)param->value.l : 0;
    default:
        return 0;
    }
}

/* Upper bound for a "<x>.count" (a guest cannot make us allocate without bound). */
#define VG_GUEST_MAX_ITEMS 4096

static size_t
vg_guest_count(const vg_guest_params *p, const char *name)
{
    uint64_t count = vg_guest_number(p, "%s", name);

    return count > VG_GUEST_MAX_ITEMS ? VG_GUEST_MAX_ITEMS : (size_t)count;
}

static void
vg_guest_info_decode(vg_call *call, const vg_guest_params *p,
                     Virtgrpc__V1__GetDomainGuestInfoResponse *response)
{
    size_t n;

    if (virTypedParamsGet(p->params, p->n, "hostname"))
        response->hostname = vg_guest_string(p, "hostname");

    for (int i = 0; i < p->n; i++) {
        if (strncmp(p->params[i].field, "os.", 3) == 0) {
            Virtgrpc__V1__GuestOsInfo *os =
                VG_NEW(call, Virtgrpc__V1__GuestOsInfo, virtgrpc__v1__guest_os_info__init);

            os->id = vg_guest_string(p, "os.id");
            os->name = vg_guest_string(p, "os.name");
            os->pretty_name = vg_guest_string(p, "os.pretty-name");
            os->version = vg_guest_string(p, "os.version");
            os->version_id = vg_guest_string(p, "os.version-id");
            os->kernel_release = vg_guest_string(p, "os.kernel-release");
            os->kernel_version = vg_guest_string(p, "os.kernel-version");
            os->machine = vg_guest_string(p, "os.machine");
            os->variant = vg_guest_string(p, "os.variant");
            os->variant_id = vg_guest_string(p, "os.variant-id");
            response->os = os;
            break;
        }
    }

    if (virTypedParamsGet(p->params, p->n, "timezone.name") ||
        virTypedParamsGet(p->params, p->n, "timezone.offset")) {
        Virtgrpc__V1__GuestTimezone *tz =
            VG_NEW(call, Virtgrpc__V1__GuestTimezone, virtgrpc__v1__guest_timezone__init);
        int offset = 0;

        tz->name = vg_guest_string(p, "timezone.name");
        if (virTypedParamsGetInt(p->params, p->n, "timezone.offset", &offset) != 1)
            virResetLastError();
        tz->offset_seconds = offset;
        response->timezone = tz;
    }

    n = vg_guest_count(p, "user.count");
    response->users = vg_call_alloc(call, sizeof(*response->users) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        Virtgrpc__V1__GuestUser *user =
            VG_NEW(call, Virtgrpc__V1__GuestUser, virtgrpc__v1__guest_user__init);

        user->name = vg_guest_string(p, "user.%zu.name", i);
        user->domain = vg_guest_string(p, "user.%zu.domain", i);
        user->login_time_ms = vg_guest_number(p, "user.%zu.login-time", i);
        response->users[response->n_users++] = user;
    }

    n = vg_guest_count(p, "fs.count");
    response->filesystems =
        vg_call_alloc(call, sizeof(*response->filesystems) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        Virtgrpc__V1__GuestFilesystem *fs = VG_NEW(call, Virtgrpc__V1__GuestFilesystem,
                                                   virtgrpc__v1__guest_filesystem__init);
        char count_name[VIR_TYPED_PARAM_FIELD_LENGTH];
        size_t n_disks;

        fs->mountpoint = vg_guest_string(p, "fs.%zu.mountpoint", i);
        fs->name = vg_guest_string(p, "fs.%zu.name", i);
        fs->fstype = vg_guest_string(p, "fs.%zu.fstype", i);
        fs->total_bytes = vg_guest_number(p, "fs.%zu.total-bytes", i);
        fs->used_bytes = vg_guest_number(p, "fs.%zu.used-bytes", i);
        snprintf(count_name, sizeof(count_name), "fs.%zu.disk.count", i);
        n_disks = vg_guest_count(p, count_name);
        fs->disks = vg_call_alloc(call, sizeof(*fs->disks) * (n_disks ? n_disks : 1));
        for (size_t d = 0; d < n_disks; d++) {
            Virtgrpc__V1__GuestFilesystemDisk *disk =
                VG_NEW(call, Virtgrpc__V1__GuestFilesystemDisk,
                       virtgrpc__v1__guest_filesystem_disk__init);

            disk->alias = vg_guest_string(p, "fs.%zu.disk.%zu.alias", i, d);
            disk->serial = vg_guest_string(p, "fs.%zu.disk.%zu.serial", i, d);
            disk->device = vg_guest_string(p, "fs.%zu.disk.%zu.device", i, d);
            fs->disks[fs->n_disks++] = disk;
        }
        response->filesystems[response->n_filesystems++] = fs;
    }
}

int
vgh_guest_agent_service_get_domain_guest_info(
    vg_call *call, const Virtgrpc__V1__GetDomainGuestInfoRequest *request,
    Virtgrpc__V1__GetDomainGuestInfoResponse *response)
{
    vg_guest_params *p = vg_call_alloc(call, sizeof(*p));
    unsigned int types = 0;
    virDomainPtr domain;

    if (VG_FLAGS(call, vg_enum_guest_info_type, request, types, &types) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainGetGuestInfo(domain, types, &p->params, &p->n, 0) < 0)
        return vg_call_fail_libvirt(call);
    vg_domain_params_own(call, p->params, p->n, false);

    vg_domain_params_to_proto(call, p->params, p->n, &response->parameters,
                              &response->n_parameters);
    vg_guest_info_decode(call, p, response);
    return 0;
}

/* --- agent timeout ------------------------------------------------------------------ */

int
vgh_guest_agent_service_set_domain_agent_response_timeout(
    vg_call *call, const Virtgrpc__V1__SetDomainAgentResponseTimeoutRequest *request,
    Virtgrpc__V1__SetDomainAgentResponseTimeoutResponse *response)
{
    virDomainPtr domain;
    int timeout;

    (void)response;
    switch (request->timeout_case) {
    case VIRTGRPC__V1__SET_DOMAIN_AGENT_RESPONSE_TIMEOUT_REQUEST__TIMEOUT_MODE:
        if (VG_ENUM(call, vg_enum_agent_response_timeout_mode, request, mode, &timeout) < 0)
            return -1;
        break;
    case VIRTGRPC__V1__SET_DOMAIN_AGENT_RESPONSE_TIMEOUT_REQUEST__TIMEOUT_SECONDS:
        if (request->seconds < 1)
            return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                                VG_REASON_INVALID_REQUEST,
                                "'seconds' is %d: give at least 1, or 'mode' NOWAIT (0), "
                                "DEFAULT (-1) or BLOCK (-2)",
                                request->seconds);
        timeout = request->seconds;
        break;
    default:
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "neither 'mode' nor 'seconds' is set: give one");
    }
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainAgentSetResponseTimeout(domain, timeout, 0) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}
