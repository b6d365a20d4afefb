/*
 * Logging to stderr (journald and kubectl logs pick it up), one line per event, with a
 * level filter. gRPC core's own log lines are routed here too.
 */
#pragma once

typedef enum vg_log_level {
    VG_LOG_ERROR,
    VG_LOG_WARN,
    VG_LOG_INFO,
    VG_LOG_DEBUG,
} vg_log_level;

/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int vg_log_level_parse(const char *name, vg_log_level *level);
void vg_log_set_level(vg_log_level level);
/* Routes gRPC core's gpr_log output through vg_log. */
void vg_log_route_grpc(void);

void vg_log(vg_log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#define vg_log_error(...) vg_log(VG_LOG_ERROR, __VA_ARGS__)
#define vg_log_warn(...) vg_log(VG_LOG_WARN, __VA_ARGS__)
#define vg_log_info(...) vg_log(VG_LOG_INFO, __VA_ARGS__)
#define vg_log_debug(...) vg_log(VG_LOG_DEBUG, __VA_ARGS__)
