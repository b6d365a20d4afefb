/*
 * Registers libvirt's event loop implementation on our libuv loop (see the .c file for
 * the threading rules). Must run before the first virConnectOpen: libvirt refuses event
 * registration ("could not initialize domain event timer") on a connection opened
 * without an implementation.
 */
#pragma once

#include "server/runtime/loop.h"

/* Returns 0, or -1 when an implementation was registered already. */
int vg_libvirt_event_loop_register(vg_loop *loop);
