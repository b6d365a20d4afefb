/*
 * CheckpointService: creating, listing, reading and deleting a domain's checkpoints
 * (virDomainCheckpoint*), and reading the XML of a running backup job
 * (virDomainBackupGetXMLDesc). Every handle a handler gets from libvirt is freed when
 * the call ends.
 */
#include <libvirt/virterror.h>
#include <stdlib.h>

#include "server/services/domain-tree.h"
#include "server/services/service.h"
#include "vg-methods.h"

/* libvirt rejects a NULL XML; this is what `virsh checkpoint-create` sends without one. */
#define VG_CHECKPOINT_DEFAULT_XML "<domaincheckpoint/>"

static void
vg_checkpoint_release(void *checkpoint)
{
    virDomainCheckpointFree(checkpoint);
}

static virDomainCheckpointPtr
vg_checkpoint_adopt(vg_call *call, virDomainCheckpointPtr checkpoint)
{
    if (checkpoint)
        vg_call_defer(call, vg_checkpoint_release, checkpoint);
    return checkpoint;
}

static const char *
vg_checkpoint_name(void *checkpoint)
{
    return virDomainCheckpointGetName(checkpoint);
}

/* The checkpoint `ref` names, freed when the call ends; NULL with the failure recorded. */
static virDomainCheckpointPtr
vg_checkpoint_lookup(vg_call *call, const Virtgrpc__V1__CheckpointRef *ref)
{
    virDomainPtr domain;
    virDomainCheckpointPtr checkpoint;

    if (vg_tree_ref_check(call, "checkpoint", ref != NULL, ref ? ref->name : NULL) < 0)
        return NULL;
    if (!(domain = vg_domain_lookup(call, ref->domain)))
        return NULL;
    if (!(checkpoint = virDomainCheckpointLookupByName(domain, ref->name, 0))) {
        vg_call_fail_libvirt(call); /* libvirt's message names the checkpoint */
        return NULL;
    }
    return vg_checkpoint_adopt(call, checkpoint);
}

/* Everything Checkpoint holds: name, domain, parent. */
static int
vg_checkpoint_fill(vg_call *call, virDomainCheckpointPtr checkpoint,
                   Virtgrpc__V1__Checkpoint *out)
{
    virDomainPtr domain =
        virDomainCheckpointGetDomain(checkpoint); /* not a new reference */
    virDomainCheckpointPtr parent;
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (virDomainGetUUIDString(domain, uuid) < 0)
        return vg_call_fail_libvirt(call);
    out->name = vg_call_strdup(call, virDomainCheckpointGetName(checkpoint));
    out->domain_uuid = vg_call_strdup(call, uuid);
    out->domain_name = vg_call_strdup(call, virDomainGetName(domain));
    if ((parent = virDomainCheckpointGetParent(checkpoint, 0))) {
        out->parent_name = vg_call_strdup(call, virDomainCheckpointGetName(parent));
        virDomainCheckpointFree(parent);
    } else {
        /* A root checkpoint: libvirt says so with NO_DOMAIN_CHECKPOINT. */
        virErrorPtr error = virGetLastError();

        if (!error || error->code != VIR_ERR_NO_DOMAIN_CHECKPOINT)
            return vg_call_fail_libvirt(call);
        virResetLastError();
    }
    return 0;
}

/*
 * Fills a listing from the `n` handles libvirt returned in `checkpoints` (taking
 * ownership of the array and of each handle): sorted by name unless libvirt was asked
 * for TOPOLOGICAL order.
 */
static int
vg_checkpoint_list_fill(vg_call *call, virDomainCheckpointPtr *checkpoints, int n,
                        unsigned int flags,
                        Virtgrpc__V1__ListDomainCheckpointsResponse *out)
{
    vg_call_defer(call, free, checkpoints);
    for (int i = 0; i < n; i++)
        vg_checkpoint_adopt(call, checkpoints[i]);
    if (!(flags & VIR_DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL)) {
        vg_tree_sort_handles((void **)checkpoints, (size_t)n, vg_checkpoint_name);
    }
    out->checkpoints = vg_call_alloc(call, sizeof(*out->checkpoints) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        Virtgrpc__V1__Checkpoint *checkpoint =
            VG_NEW(call, Virtgrpc__V1__Checkpoint, virtgrpc__v1__checkpoint__init);

        if (vg_checkpoint_fill(call, checkpoints[i], checkpoint) < 0)
            return -1;
        out->checkpoints[out->n_checkpoints++] = checkpoint;
    }
    return 0;
}

int
vgh_checkpoint_service_create_domain_checkpoint(
    vg_call *call, const Virtgrpc__V1__CreateDomainCheckpointRequest *request,
    Virtgrpc__V1__Checkpoint *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    virDomainCheckpointPtr checkpoint;

    if (VG_FLAGS(call, vg_enum_checkpoint_create_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    checkpoint = virDomainCheckpointCreateXML(
        domain, *request->xml ? request->xml : VG_CHECKPOINT_DEFAULT_XML, flags);
    if (!vg_checkpoint_adopt(call, checkpoint))
        return vg_call_fail_libvirt(call);
    return vg_checkpoint_fill(call, checkpoint, response);
}

int
vgh_checkpoint_service_list_domain_checkpoints(
    vg_call *call, const Virtgrpc__V1__ListDomainCheckpointsRequest *request,
    Virtgrpc__V1__ListDomainCheckpointsResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    virDomainCheckpointPtr *checkpoints = NULL;
    int n;

    if (VG_TREE_FLAGS(call, vg_enum_checkpoint_list_flag, request, filters,
                      VIRTGRPC__V1__CHECKPOINT_LIST_FLAG__CHECKPOINT_LIST_FLAG_DESCENDANTS,
                      "ListDomainCheckpointChildren", &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if ((n = virDomainListAllCheckpoints(domain, &checkpoints, flags)) < 0)
        return vg_call_fail_libvirt(call);
    return vg_checkpoint_list_fill(call, checkpoints, n, flags, response);
}

int
vgh_checkpoint_service_get_domain_checkpoint(
    vg_call *call, const Virtgrpc__V1__GetDomainCheckpointRequest *request,
    Virtgrpc__V1__Checkpoint *response)
{
    virDomainCheckpointPtr checkpoint = vg_checkpoint_lookup(call, request->checkpoint);

    if (!checkpoint)
        return -1;
    return vg_checkpoint_fill(call, checkpoint, response);
}

int
vgh_checkpoint_service_get_domain_checkpoint_xml(
    vg_call *call, const Virtgrpc__V1__GetDomainCheckpointXMLRequest *request,
    Virtgrpc__V1__GetDomainCheckpointXMLResponse *response)
{
    unsigned int flags = 0;
    virDomainCheckpointPtr checkpoint;
    char *xml;

    if (VG_FLAGS(call, vg_enum_checkpoint_xml_flag, request, flags, &flags) < 0)
        return -1;
    if (!(checkpoint = vg_checkpoint_lookup(call, request->checkpoint)))
        return -1;
    if (!(xml = virDomainCheckpointGetXMLDesc(checkpoint, flags)))
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, free, xml);
    response->xml = xml;
    return 0;
}

int
vgh_checkpoint_service_get_domain_checkpoint_parent(
    vg_call *call, const Virtgrpc__V1__GetDomainCheckpointParentRequest *request,
    Virtgrpc__V1__Checkpoint *response)
{
    virDomainCheckpointPtr checkpoint = vg_checkpoint_lookup(call, request->checkpoint);
    virDomainCheckpointPtr parent;

    if (!checkpoint)
        return -1;
    /* flags: reserved */
    if (!(parent = vg_checkpoint_adopt(call, virDomainCheckpointGetParent(checkpoint, 0))))
        return vg_call_fail_libvirt(call);
    return vg_checkpoint_fill(call, parent, response);
}

int
vgh_checkpoint_service_list_domain_checkpoint_children(
    vg_call *call, const Virtgrpc__V1__ListDomainCheckpointChildrenRequest *request,
    Virtgrpc__V1__ListDomainCheckpointsResponse *response)
{
    unsigned int flags = 0;
    virDomainCheckpointPtr checkpoint;
    virDomainCheckpointPtr *children = NULL;
    int n;

    if (VG_TREE_FLAGS(call, vg_enum_checkpoint_list_flag, request, filters,
                      VIRTGRPC__V1__CHECKPOINT_LIST_FLAG__CHECKPOINT_LIST_FLAG_ROOTS,
                      "ListDomainCheckpoints", &flags) < 0)
        return -1;
    if (!(checkpoint = vg_checkpoint_lookup(call, request->checkpoint)))
        return -1;
    if ((n = virDomainCheckpointListAllChildren(checkpoint, &children, flags)) < 0)
        return vg_call_fail_libvirt(call);
    return vg_checkpoint_list_fill(call, children, n, flags, response);
}

int
vgh_checkpoint_service_delete_domain_checkpoint(
    vg_call *call, const Virtgrpc__V1__DeleteDomainCheckpointRequest *request,
    Virtgrpc__V1__DeleteDomainCheckpointResponse *response)
{
    unsigned int flags = 0;
    virDomainCheckpointPtr checkpoint;

    (void)response;
    if (VG_FLAGS(call, vg_enum_checkpoint_delete_flag, request, flags, &flags) < 0)
        return -1;
    if (!(checkpoint = vg_checkpoint_lookup(call, request->checkpoint)))
        return -1;
    if (virDomainCheckpointDelete(checkpoint, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}

int
vgh_checkpoint_service_get_domain_backup_xml(
    vg_call *call, const Virtgrpc__V1__GetDomainBackupXMLRequest *request,
    Virtgrpc__V1__GetDomainBackupXMLResponse *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    char *xml;

    if (!domain)
        return -1;
    if (!(xml = virDomainBackupGetXMLDesc(domain, 0))) /* flags: reserved */
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, free, xml);
    response->xml = xml;
    return 0;
}

int
vgh_checkpoint_service_begin_domain_backup(
    vg_call *call, const Virtgrpc__V1__BeginDomainBackupRequest *request,
    Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;

    if (VG_FLAGS(call, vg_enum_backup_begin_flag, request, flags, &flags) < 0)
        return -1;
    if (!*request->backup_xml) {
        return vg_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, VG_REASON_INVALID_REQUEST,
                            "'backup_xml' is empty: give the <domainbackup> document");
    }
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if (virDomainBackupBegin(domain, request->backup_xml,
                             *request->checkpoint_xml ? request->checkpoint_xml : NULL,
                             flags) < 0)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, domain, response);
}
