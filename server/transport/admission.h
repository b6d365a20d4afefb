/*
 * Call admission: counts the unary calls in flight and the open streams, in all and per
 * client, against the limits of server/limits.h, and refuses what is over them with
 * RESOURCE_EXHAUSTED (reason VIRTGRPC_LIMIT_EXCEEDED) before any handler runs.
 *
 * A "client" is where the call comes from as the server sees it:
 * - TCP: the peer's IP address without the port, so every connection (and channel) of
 *   one host counts as one client. Behind a Kubernetes Service this is the client pod's
 *   IP (kube-proxy only rewrites the destination), but traffic that is masqueraded
 *   (NodePort / LoadBalancer with externalTrafficPolicy: Cluster) or relayed by an L7
 *   proxy or ingress arrives from the node's or the proxy's address, and all of it then
 *   shares one client's limit: use externalTrafficPolicy: Local, or set the per-client
 *   limits to 0 (off) there and rely on the totals.
 * - Unix sockets: the connection. Peers on a Unix socket have no address, and anything
 *   that can open the socket is local and trusted by its file mode; the total limits
 *   bound them all.
 *
 * Threads: any; one mutex, held for a hash lookup.
 */
#pragma once

#include "server/transport/call.h"

typedef struct vg_admission vg_admission;

vg_admission *vg_admission_new(void);
/* Accepts NULL; returns NULL. Every admitted call must have left. */
vg_admission *vg_admission_free(vg_admission *admission);

/*
 * Counts `call` (a unary call or a stream, by its method) for its client and in all.
 * Over a limit, records RESOURCE_EXHAUSTED on the call and returns -1; the call is
 * counted either way and gives its slot back with vg_admission_leave.
 */
int vg_admission_enter(vg_admission *admission, vg_call *call);
/* When the call is released. Accepts calls that never entered. */
void vg_admission_leave(vg_admission *admission, vg_call *call);

/* Unary calls in flight and open streams, in all (for tests and logs). */
void vg_admission_counts(vg_admission *admission, size_t *unary, size_t *streams);

/*
 * Checks a decoded request against the size limits that depend on its content: every
 * string field that carries XML (named `xml` or ending in `_xml`, and the `metadata` of
 * SetDomainMetadata), at any depth (JobService.StartJob wraps other requests), must be
 * at most max-xml-bytes long. Records INVALID_ARGUMENT naming the field and returns -1
 * otherwise.
 */
int vg_admission_check_request(vg_call *call, const ProtobufCMessage *request);
