/*
 * SnapshotService: taking, listing, reading, reverting to and deleting a domain's
 * snapshots (virDomainSnapshot*). Every handle a handler gets from libvirt is freed when
 * the call ends. CreateDomainSnapshot and RevertDomainSnapshot block their worker for
 * as long as libvirt takes (memory snapshots write or load the guest's RAM).
 */
#include <libvirt/virterror.h>
#include <stdlib.h>

#include "server/services/domain-tree.h"
#include "server/services/service.h"
#include "vg-methods.h"

/* libvirt rejects a NULL XML; this is what `virsh snapshot-create` sends without one. */
#define VG_SNAPSHOT_DEFAULT_XML "<domainsnapshot/>"

static void
vg_snapshot_release(void *snapshot)
{
    virDomainSnapshotFree(snapshot);
}

static virDomainSnapshotPtr
vg_snapshot_adopt(vg_call *call, virDomainSnapshotPtr snapshot)
{
    if (snapshot)
        vg_call_defer(call, vg_snapshot_release, snapshot);
    return snapshot;
}

static const char *
vg_snapshot_name(void *snapshot)
{
    return virDomainSnapshotGetName(snapshot);
}

/* The snapshot `ref` names, freed when the call ends; NULL with the failure recorded. */
static virDomainSnapshotPtr
vg_snapshot_lookup(vg_call *call, const Virtgrpc__V1__SnapshotRef *ref)
{
    virDomainPtr domain;
    virDomainSnapshotPtr snapshot;

    if (vg_tree_ref_check(call, "snapshot", ref != NULL, ref ? ref->name : NULL) < 0)
        return NULL;
    if (!(domain = vg_domain_lookup(call, ref->domain)))
        return NULL;
    if (!(snapshot = virDomainSnapshotLookupByName(domain, ref->name, 0))) {
        vg_call_fail_libvirt(call); /* libvirt's message names the snapshot */
        return NULL;
    }
    return vg_snapshot_adopt(call, snapshot);
}

/* Name and domain: what every handle knows without asking libvirtd. */
static int
vg_snapshot_fill_identity(vg_call *call, virDomainSnapshotPtr snapshot,
                          Virtgrpc__V1__Snapshot *out)
{
    virDomainPtr domain = virDomainSnapshotGetDomain(snapshot); /* not a new reference */
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (virDomainGetUUIDString(domain, uuid) < 0)
        return vg_call_fail_libvirt(call);
    out->name = vg_call_strdup(call, virDomainSnapshotGetName(snapshot));
    out->domain_uuid = vg_call_strdup(call, uuid);
    out->domain_name = vg_call_strdup(call, virDomainGetName(domain));
    return 0;
}

/* Everything Snapshot holds: identity, parent, current, metadata. */
static int
vg_snapshot_fill(vg_call *call, virDomainSnapshotPtr snapshot, Virtgrpc__V1__Snapshot *out)
{
    virDomainSnapshotPtr parent;
    int is_current;
    int has_metadata;

    if (vg_snapshot_fill_identity(call, snapshot, out) < 0)
        return -1;
    if ((parent = virDomainSnapshotGetParent(snapshot, 0))) {
        out->parent_name = vg_call_strdup(call, virDomainSnapshotGetName(parent));
        virDomainSnapshotFree(parent);
    } else {
        /* A root snapshot: libvirt says so with NO_DOMAIN_SNAPSHOT. */
        virErrorPtr error = virGetLastError();

        if (!error || error->code != VIR_ERR_NO_DOMAIN_SNAPSHOT)
            return vg_call_fail_libvirt(call);
        virResetLastError();
    }
    if ((is_current = virDomainSnapshotIsCurrent(snapshot, 0)) < 0)
        return vg_call_fail_libvirt(call);
    if ((has_metadata = virDomainSnapshotHasMetadata(snapshot, 0)) < 0)
        return vg_call_fail_libvirt(call);
    out->is_current = is_current != 0;
    out->has_metadata = has_metadata != 0;
    return 0;
}

/*
 * Fills a listing from the `n` handles libvirt returned in `snapshots` (taking
 * ownership of the array and of each handle): sorted by name unless libvirt was asked
 * for TOPOLOGICAL order.
 */
static int
vg_snapshot_list_fill(vg_call *call, virDomainSnapshotPtr *snapshots, int n,
                      unsigned int flags, Virtgrpc__V1__ListDomainSnapshotsResponse *out)
{
    vg_call_defer(call, free, snapshots);
    for (int i = 0; i < n; i++)
        vg_snapshot_adopt(call, snapshots[i]);
    if (!(flags & VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL)) {
        vg_tree_sort_handles((void **)snapshots, (size_t)n, vg_snapshot_name);
    }
    out->snapshots = vg_call_alloc(call, sizeof(*out->snapshots) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        Virtgrpc__V1__Snapshot *snapshot =
            VG_NEW(call, Virtgrpc__V1__Snapshot, virtgrpc__v1__snapshot__init);

        if (vg_snapshot_fill(call, snapshots[i], snapshot) < 0)
            return -1;
        out->snapshots[out->n_snapshots++] = snapshot;
    }
    return 0;
}

/* Filters of a domain's listings and counts: DESCENDANTS is for children only. */
#define VG_DOMAIN_SNAPSHOT_FILTERS(call, request, out)                                     \
    VG_TREE_FLAGS(call, vg_enum_snapshot_list_flag, request, filters,                      \
                  VIRTGRPC__V1__SNAPSHOT_LIST_FLAG__SNAPSHOT_LIST_FLAG_DESCENDANTS,        \
                  "ListDomainSnapshotChildren", out)

int
vgh_snapshot_service_create_domain_snapshot(
    vg_call *call, const Virtgrpc__V1__CreateDomainSnapshotRequest *request,
    Virtgrpc__V1__Snapshot *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    virDomainSnapshotPtr snapshot;

    if (VG_FLAGS(call, vg_enum_snapshot_create_flag, request, flags, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    snapshot = virDomainSnapshotCreateXML(
        domain, *request->xml ? request->xml : VG_SNAPSHOT_DEFAULT_XML, flags);
    if (!vg_snapshot_adopt(call, snapshot))
        return vg_call_fail_libvirt(call);
    /* Without metadata libvirt knows nothing more about the snapshot than its name:
     * asking for its parent or whether it is current would fail NO_DOMAIN_SNAPSHOT. */
    if (flags & VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA)
        return vg_snapshot_fill_identity(call, snapshot, response);
    return vg_snapshot_fill(call, snapshot, response);
}

int
vgh_snapshot_service_list_domain_snapshots(
    vg_call *call, const Virtgrpc__V1__ListDomainSnapshotsRequest *request,
    Virtgrpc__V1__ListDomainSnapshotsResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    virDomainSnapshotPtr *snapshots = NULL;
    int n;

    if (VG_DOMAIN_SNAPSHOT_FILTERS(call, request, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if ((n = virDomainListAllSnapshots(domain, &snapshots, flags)) < 0)
        return vg_call_fail_libvirt(call);
    return vg_snapshot_list_fill(call, snapshots, n, flags, response);
}

int
vgh_snapshot_service_count_domain_snapshots(
    vg_call *call, const Virtgrpc__V1__CountDomainSnapshotsRequest *request,
    Virtgrpc__V1__CountDomainSnapshotsResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    int n;

    if (VG_DOMAIN_SNAPSHOT_FILTERS(call, request, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    if ((n = virDomainSnapshotNum(domain, flags)) < 0)
        return vg_call_fail_libvirt(call);
    response->count = (uint32_t)n;
    return 0;
}

static void
vg_snapshot_names_release(void *names)
{
    for (char **name = names; *name; name++)
        free(*name);
    free(names);
}

int
vgh_snapshot_service_list_domain_snapshot_names(
    vg_call *call, const Virtgrpc__V1__ListDomainSnapshotNamesRequest *request,
    Virtgrpc__V1__ListDomainSnapshotNamesResponse *response)
{
    unsigned int flags = 0;
    virDomainPtr domain;
    char **names;
    int capacity;
    int n;

    if (VG_DOMAIN_SNAPSHOT_FILTERS(call, request, &flags) < 0)
        return -1;
    if (!(domain = vg_domain_lookup(call, request->domain)))
        return -1;
    /* The old two-step API: count, then fetch at most that many names. A snapshot taken
     * in between is missed, which is why ListDomainSnapshots exists. */
    if ((capacity = virDomainSnapshotNum(domain, flags)) < 0)
        return vg_call_fail_libvirt(call);
    if (capacity == 0)
        return 0;
    names = calloc((size_t)capacity + 1, sizeof(*names)); /* NULL-terminated */
    if (!names)
        abort(); /* as vg_call_alloc: out of memory is fatal */
    vg_call_defer(call, vg_snapshot_names_release, names);
    if ((n = virDomainSnapshotListNames(domain, names, capacity, flags)) < 0)
        return vg_call_fail_libvirt(call);
    if (!(flags & VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL))
        vg_tree_sort_names(names, (size_t)n);
    response->names = names;
    response->n_names = (size_t)n;
    return 0;
}

int
vgh_snapshot_service_get_domain_snapshot(
    vg_call *call, const Virtgrpc__V1__GetDomainSnapshotRequest *request,
    Virtgrpc__V1__Snapshot *response)
{
    virDomainSnapshotPtr snapshot = vg_snapshot_lookup(call, request->snapshot);

    if (!snapshot)
        return -1;
    return vg_snapshot_fill(call, snapshot, response);
}

int
vgh_snapshot_service_has_domain_current_snapshot(
    vg_call *call, const Virtgrpc__V1__HasDomainCurrentSnapshotRequest *request,
    Virtgrpc__V1__HasDomainCurrentSnapshotResponse *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    int rc;

    if (!domain)
        return -1;
    if ((rc = virDomainHasCurrentSnapshot(domain, 0)) < 0) /* flags: reserved */
        return vg_call_fail_libvirt(call);
    response->has_current_snapshot = rc != 0;
    return 0;
}

int
vgh_snapshot_service_get_domain_current_snapshot(
    vg_call *call, const Virtgrpc__V1__GetDomainCurrentSnapshotRequest *request,
    Virtgrpc__V1__Snapshot *response)
{
    virDomainPtr domain = vg_domain_lookup(call, request->domain);
    virDomainSnapshotPtr snapshot;

    if (!domain)
        return -1;
    /* flags: reserved */
    if (!(snapshot = vg_snapshot_adopt(call, virDomainSnapshotCurrent(domain, 0))))
        return vg_call_fail_libvirt(call);
    return vg_snapshot_fill(call, snapshot, response);
}

int
vgh_snapshot_service_get_domain_snapshot_xml(
    vg_call *call, const Virtgrpc__V1__GetDomainSnapshotXMLRequest *request,
    Virtgrpc__V1__GetDomainSnapshotXMLResponse *response)
{
    unsigned int flags = 0;
    virDomainSnapshotPtr snapshot;
    char *xml;

    if (VG_FLAGS(call, vg_enum_snapshot_xml_flag, request, flags, &flags) < 0)
        return -1;
    if (!(snapshot = vg_snapshot_lookup(call, request->snapshot)))
        return -1;
    if (!(xml = virDomainSnapshotGetXMLDesc(snapshot, flags)))
        return vg_call_fail_libvirt(call);
    vg_call_defer(call, free, xml);
    response->xml = xml;
    return 0;
}

int
vgh_snapshot_service_get_domain_snapshot_parent(
    vg_call *call, const Virtgrpc__V1__GetDomainSnapshotParentRequest *request,
    Virtgrpc__V1__Snapshot *response)
{
    virDomainSnapshotPtr snapshot = vg_snapshot_lookup(call, request->snapshot);
    virDomainSnapshotPtr parent;

    if (!snapshot)
        return -1;
    /* flags: reserved */
    if (!(parent = vg_snapshot_adopt(call, virDomainSnapshotGetParent(snapshot, 0))))
        return vg_call_fail_libvirt(call);
    return vg_snapshot_fill(call, parent, response);
}

int
vgh_snapshot_service_list_domain_snapshot_children(
    vg_call *call, const Virtgrpc__V1__ListDomainSnapshotChildrenRequest *request,
    Virtgrpc__V1__ListDomainSnapshotsResponse *response)
{
    unsigned int flags = 0;
    virDomainSnapshotPtr snapshot;
    virDomainSnapshotPtr *children = NULL;
    int n;

    if (VG_TREE_FLAGS(
            call, vg_enum_snapshot_list_flag, request, filters,
            VIRTGRPC__V1__SNAPSHOT_LIST_FLAG__SNAPSHOT_LIST_FLAG_ROOTS,
            "ListDomainSnapshots, CountDomainSnapshots and ListDomainSnapshotNames",
            &flags) < 0)
        return -1;
    if (!(snapshot = vg_snapshot_lookup(call, request->snapshot)))
        return -1;
    if ((n = virDomainSnapshotListAllChildren(snapshot, &children, flags)) < 0)
        return vg_call_fail_libvirt(call);
    return vg_snapshot_list_fill(call, children, n, flags, response);
}

int
vgh_snapshot_service_revert_domain_snapshot(
    vg_call *call, const Virtgrpc__V1__RevertDomainSnapshotRequest *request,
    Virtgrpc__V1__Domain *response)
{
    unsigned int flags = 0;
    virDomainSnapshotPtr snapshot;

    if (VG_FLAGS(call, vg_enum_snapshot_revert_flag, request, flags, &flags) < 0)
        return -1;
    if (!(snapshot = vg_snapshot_lookup(call, request->snapshot)))
        return -1;
    if (virDomainRevertToSnapshot(snapshot, flags) < 0)
        return vg_call_fail_libvirt(call);
    return vg_domain_fill(call, virDomainSnapshotGetDomain(snapshot), response);
}

int
vgh_snapshot_service_delete_domain_snapshot(
    vg_call *call, const Virtgrpc__V1__DeleteDomainSnapshotRequest *request,
    Virtgrpc__V1__DeleteDomainSnapshotResponse *response)
{
    unsigned int flags = 0;
    virDomainSnapshotPtr snapshot;

    (void)response;
    if (VG_FLAGS(call, vg_enum_snapshot_delete_flag, request, flags, &flags) < 0)
        return -1;
    if (!(snapshot = vg_snapshot_lookup(call, request->snapshot)))
        return -1;
    if (virDomainSnapshotDelete(snapshot, flags) < 0)
        return vg_call_fail_libvirt(call);
    return 0;
}
