/*
 * Job commands (JobService): jobs, job-watch (a progress bar on a terminal, one line per
 * update otherwise), job-cancel.
 */
#define _GNU_SOURCE /* strdup */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "client/cli/cli.h"
#include "client/cli/json-message.h"

#define CLI_BAR_WIDTH 30

/* Percent done from what the job reports (block cursor/end, else data processed/total),
 * or -1 when it says nothing. */
static int
cli_job_percent(const Virtgrpc__V1__Job *job)
{
    if (job->state == VIRTGRPC__V1__JOB_STATE__JOB_STATE_COMPLETED)
        return 100;
    if (job->block && job->block->end > 0)
        return (int)(100 * job->block->cursor / job->block->end);
    if (job->progress && job->progress->has_data_total && job->progress->data_total > 0 &&
        job->progress->has_data_processed)
        return (int)(100 * job->progress->data_processed / job->progress->data_total);
    return -1;
}

static const char *
cli_job_domain(const Virtgrpc__V1__Job *job)
{
    return job->domain && job->domain->name ? job->domain->name : "";
}

/* ---- jobs ---- */

static const cli_option cli_jobs_options[] = {
    {"domain", "DOMAIN", "only the jobs of this domain"},
    {"state", "STATES",
     "only jobs in these states, comma-separated: running, completed, failed, cancelled, "
     "ready"},
    {NULL},
};

static int
cli_run_jobs(cli_context *context, const cli_args *args)
{
    Virtgrpc__V1__ListJobsResponse *response = NULL;
    json_object *request = json_object_new_object();
    const char *domain = cli_option_value(args, "domain");
    int rc;

    if (domain)
        json_object_object_add(request, "domain", cli_domain_ref(domain));
    cli_add_enum_options(
        request, args,
        (const cli_enum_option[]){{"state", "states", "JOB_STATE_"}, {NULL}});
    rc = cli_call(context, "JobService.ListJobs", request, (ProtobufCMessage **)&response);
    if (rc)
        return rc;
    if (context->json) {
        cli_print_message(&response->base);
    } else {
        cli_table *table = cli_table_new(5, "Id", "Domain", "Kind", "State", "Progress");
        for (size_t i = 0; i < response->n_jobs; i++) {
            const Virtgrpc__V1__Job *job = response->jobs[i];
            char kind[64], state[64], percent[8] = "-";
            if (cli_job_percent(job) >= 0)
                snprintf(percent, sizeof(percent), "%d%%", cli_job_percent(job));
            cli_table_add(table, job->id, cli_job_domain(job),
                          cli_enum_label(&virtgrpc__v1__job_kind__descriptor, job->kind,
                                         kind, sizeof(kind)),
                          cli_enum_label(&virtgrpc__v1__job_state__descriptor, job->state,
                                         state, sizeof(state)),
                          percent);
        }
        cli_table_print(table);
    }
    cli_free_message(response);
    return CLI_EXIT_OK;
}

/* ---- job-watch ---- */

static const cli_option cli_watch_options[] = {
    {"interval", "MS", "progress updates at most this often (default: the server's)"},
    {NULL},
};

static void
cli_print_progress(const Virtgrpc__V1__Job *job, bool on_terminal)
{
    char kind[64], state[64];
    int percent = cli_job_percent(job);

    cli_enum_label(&virtgrpc__v1__job_kind__descriptor, job->kind, kind, sizeof(kind));
    cli_enum_label(&virtgrpc__v1__job_state__descriptor, job->state, state, sizeof(state));
    if (!on_terminal) {
        if (percent >= 0)
            printf("%s %s %s %d%%\n", job->id, kind, state, percent);
        else
            printf("%s %s %s\n", job->id, kind, state);
    } else {
        char bar[CLI_BAR_WIDTH + 1];
        int filled = percent > 0 ? percent * CLI_BAR_WIDTH / 100 : 0;
        memset(bar, '#', filled);
        memset(bar + filled, '.', CLI_BAR_WIDTH - filled);
        bar[CLI_BAR_WIDTH] = '\0';
        if (percent >= 0)
            printf("\r%s %s [%s] %3d%% %-10s", kind, cli_job_domain(job), bar, percent,
                   state);
        else
            printf("\r%s %s [%s]  ... %-10s", kind, cli_job_domain(job), bar, state);
    }
    fflush(stdout);
}

/* The failure a FAILED job carries (a google.rpc.Status with ErrorInfo) printed the way
 * a failed call is, and its exit code. */
static int
cli_job_error(const Virtgrpc__V1__Job *job)
{
    vg_status status = {.code = VG_CODE_UNKNOWN};

    if (job->outcome_case == VIRTGRPC__V1__JOB__OUTCOME_ERROR && job->error) {
        status.code = (vg_code)job->error->code;
        status.message = strdup(job->error->message ? job->error->message : "job failed");
        for (size_t i = 0; i < job->error->n_details; i++) {
            const Google__Protobuf__Any *detail = job->error->details[i];
            Google__Rpc__ErrorInfo *info;
            if (!g_str_has_suffix(detail->type_url, "/google.rpc.ErrorInfo"))
                continue;
            info = google__rpc__error_info__unpack(NULL, detail->value.len,
                                                   detail->value.data);
            if (info) {
                status.reason = strdup(info->reason);
                google__rpc__error_info__free_unpacked(info, NULL);
            }
        }
    } else {
        status.message = strdup("job failed");
    }
    return cli_status_error(&status);
}

static int
cli_run_watch(cli_context *context, const cli_args *args)
{
    bool on_terminal = !context->json && isatty(STDOUT_FILENO);
    json_object *request = json_object_new_object();
    vg_client_stream *stream = NULL;
    Virtgrpc__V1__Job *last = NULL;
    vg_status status = {0};
    ProtobufCMessage *message;
    uint64_t interval;
    int rc;

    rc = cli_option_uint(args, "interval", 0, &interval);
    if (rc) {
        json_object_put(request);
        return rc;
    }
    json_object_object_add(request, "id", json_object_new_string(args->positional[0]));
    if (interval)
        json_object_object_add(request, "intervalMs", json_object_new_int64(interval));
    rc = cli_stream_open(context, "JobService.WatchJob", request, &stream);
    if (rc)
        return rc;
    while ((rc = vg_client_stream_next(stream, &message, &status)) == 1) {
        if (context->json)
            cli_print_message_line(message);
        else
            cli_print_progress((Virtgrpc__V1__Job *)message, on_terminal);
        cli_free_message(last);
        last = (Virtgrpc__V1__Job *)message;
    }
    if (on_terminal)
        putchar('\n');
    if (rc < 0)
        rc = cli_status_error(&status);
    else if (last && last->state == VIRTGRPC__V1__JOB_STATE__JOB_STATE_FAILED)
        rc = cli_job_error(last);
    else if (last && last->state == VIRTGRPC__V1__JOB_STATE__JOB_STATE_CANCELLED)
        rc = cli_error(CLI_EXIT_FAILED, "job %s was cancelled", last->id);
    else
        rc = CLI_EXIT_OK;
    cli_free_message(last);
    vg_client_stream_free(stream);
    return rc;
}

/* ---- job-cancel ---- */

static const cli_option cli_cancel_options[] = {
    {"pivot", NULL, "finish a READY block copy or active commit instead of aborting it"},
    {NULL},
};

static int
cli_run_cancel(cli_context *context, const cli_args *args)
{
    json_object *request = json_object_new_object();
    Virtgrpc__V1__Job *job = NULL;
    char state[64];
    int rc;

    json_object_object_add(request, "id", json_object_new_string(args->positional[0]));
    if (cli_flag(args, "pivot"))
        json_object_object_add(request, "pivot", json_object_new_boolean(1));
    rc = cli_call(context, "JobService.CancelJob", request, (ProtobufCMessage **)&job);
    if (rc)
        return rc;
    if (context->json)
        cli_print_message(&job->base);
    else
        printf("Job %s is %s\n", job->id,
               cli_enum_label(&virtgrpc__v1__job_state__descriptor, job->state, state,
                              sizeof(state)));
    cli_free_message(job);
    return CLI_EXIT_OK;
}

const cli_command cli_job_commands[] = {
    {"jobs", "", 0, 0, "list the server's jobs (running and recently finished)",
     cli_jobs_options, cli_run_jobs},
    {"job-watch", "JOB", 1, 1,
     "follow a job until it ends (a progress bar on a terminal); fails when it fails",
     cli_watch_options, cli_run_watch},
    {"job-cancel", "JOB", 1, 1, "cancel a running job", cli_cancel_options, cli_run_cancel},
    {NULL},
};
