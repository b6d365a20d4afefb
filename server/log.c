#include "server/log.h"

#include <grpc/support/log.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static vg_log_level vg_log_threshold = VG_LOG_INFO;
static const char *const vg_log_names[] = { "error", "warn", "info", "debug" };

int
vg_log_level_parse(const char *name, vg_log_level *level)
{
    for (int i = VG_LOG_ERROR; i <= VG_LOG_DEBUG; i++) {
        if (strcmp(name, vg_log_names[i]) == 0) {
            *level = (vg_log_level)i;
            return 0;
        }
    }
    return -1;
}

void
vg_log_set_level(vg_log_level level)
{
    vg_log_threshold = level;
    gpr_set_log_verbosity(level >= VG_LOG_DEBUG ? GPR_LOG_SEVERITY_DEBUG
                          : level >= VG_LOG_INFO ? GPR_LOG_SEVERITY_INFO
                                                 : GPR_LOG_SEVERITY_ERROR);
}

void
vg_log(vg_log_level level, const char *format, ...)
{
    char stamp[32];
    struct timespec now;
    struct tm tm;
    va_list args;

    if (level > vg_log_threshold)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

    /* One fprintf per line keeps lines whole across threads (stdio locks the stream). */
    char message[2048];

    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    fprintf(stderr, "%s.%03ldZ virtgrpcd %s: %s\n", stamp, now.tv_nsec / 1000000,
            vg_log_names[level], message);
}

static void
vg_log_from_grpc(gpr_log_func_args *args)
{
    /* Core's INFO lines are start-up chatter (epoll fds, socket options). */
    vg_log_level level = args->severity == GPR_LOG_SEVERITY_ERROR ? VG_LOG_ERROR
                                                                 : VG_LOG_DEBUG;

    vg_log(level, "grpc: %s (%s:%d)", args->message, args->file, args->line);
}

void
vg_log_route_grpc(void)
{
    gpr_set_log_function(vg_log_from_grpc);
}
