#include "server/services/job-stats.h"

#include "server/enum-convert.h"
#include "server/typed-params-message.h"
#include "vg-enums.h"

int
vg_job_stats_fill(vg_arena *arena, const virTypedParameter *params, int n_params,
                  Virtgrpc__V1__JobStats *out)
{
    const vg_enum_maps_ref enums = {vg_enum_maps, vg_enum_maps_count};

    /* JobStats has its `unknown` field, so the mapper cannot refuse it. */
    return vg_typed_params_to_message(arena, params, n_params, &enums, &out->base);
}

void
vg_job_stats_set_type(Virtgrpc__V1__JobStats *out, int libvirt_type)
{
    int type = vg_enum_from_libvirt(&vg_enum_job_type, libvirt_type);

    out->has_type = type != 0;
    out->type = type;
}

/* Sets one optional uint64 field of JobStats. */
#define VG_JOB_SET(out, field, value) ((out)->has_##field = 1, (out)->field = (value))

void
vg_job_stats_from_info(const virDomainJobInfo *info, Virtgrpc__V1__JobStats *out)
{
    vg_job_stats_set_type(out, info->type);
    if (info->type == VIR_DOMAIN_JOB_NONE)
        return;
    /* virDomainJobInfo's fields are the typed parameters of the same names
     * (libvirt-domain.h says which corresponds to which). */
    VG_JOB_SET(out, time_elapsed, info->timeElapsed);
    if (info->type == VIR_DOMAIN_JOB_BOUNDED)
        VG_JOB_SET(out, time_remaining, info->timeRemaining);
    VG_JOB_SET(out, data_total, info->dataTotal);
    VG_JOB_SET(out, data_processed, info->dataProcessed);
    VG_JOB_SET(out, data_remaining, info->dataRemaining);
    VG_JOB_SET(out, memory_total, info->memTotal);
    VG_JOB_SET(out, memory_processed, info->memProcessed);
    VG_JOB_SET(out, memory_remaining, info->memRemaining);
    VG_JOB_SET(out, disk_total, info->fileTotal);
    VG_JOB_SET(out, disk_processed, info->fileProcessed);
    VG_JOB_SET(out, disk_remaining, info->fileRemaining);
}
