/*
 * grpc.health.v1.Health. The server is SERVING while its libvirt connection is alive and
 * it is not shutting down; Watch streams see every change.
 */
#pragma once

#include <stdbool.h>

/* Any thread. Watchers hear about the change at once. */
void vg_health_set_serving(bool serving);
bool vg_health_is_serving(void);
