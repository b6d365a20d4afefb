/* Transport-internal part of authz.c: server.c identifies each call when it arrives. */
#pragma once

#include "server/transport/listeners.h"

typedef struct vg_call vg_call;

/* Sets the call's listener, role and certificate identity. CQ thread. */
void vg_authz_identify(vg_call *call, const vg_listener_config *listener);
