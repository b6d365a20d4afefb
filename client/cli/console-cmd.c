/*
 * console (ConsoleService.OpenDomainConsole: the guest's serial console on this
 * terminal) and screenshot (ConsoleService.GetDomainScreenshot into a file).
 *
 * On a terminal, console puts it in raw mode (every key goes to the guest, Ctrl-] leaves)
 * and restores it on every way out: normal return, exit(), and the signals that end the
 * process. With stdin a pipe, console sends what it reads and, at EOF, waits until the
 * guest has been quiet for --linger milliseconds before it half-closes (the server then
 * ends the stream): the output of piped commands gets printed, and the input is not cut
 * off on its way (QEMU's pty drops what the guest has not read yet when the console
 * side closes).
 */
#include <errno.h>
#include <stdatomic.h>
#include <time.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "client/cli/cli.h"

#define CLI_ESCAPE_CHAR 0x1d /* Ctrl-] */

/* ---- the terminal ---- */

static struct termios cli_saved_termios;
static volatile sig_atomic_t cli_terminal_is_raw;

/* Async-signal-safe: tcsetattr is. */
static void
cli_restore_terminal(void)
{
    if (cli_terminal_is_raw) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &cli_saved_termios);
        cli_terminal_is_raw = 0;
    }
}

static void
cli_restore_and_die(int signal_number)
{
    cli_restore_terminal();
    signal(signal_number, SIG_DFL);
    raise(signal_number);
}

static int
cli_make_terminal_raw(void)
{
    static const int fatal_signals[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGPIPE};
    struct termios raw;

    if (tcgetattr(STDIN_FILENO, &cli_saved_termios) < 0)
        return -1;
    atexit(cli_restore_terminal);
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
        signal(fatal_signals[i], cli_restore_and_die);
    raw = cli_saved_termios;
    cfmakeraw(&raw);
    cli_terminal_is_raw = 1;
    return tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
}

/* ---- console ---- */

typedef struct cli_console {
    vg_client_stream *stream;
    bool on_terminal;
    pthread_mutex_t lock;  /* guards `stream_done` against the free in the main thread */
    bool stream_done;      /* the main thread is done with the stream */
    volatile bool escaped; /* the user pressed Ctrl-] */
    uint64_t linger_ms;    /* pipe mode: quiet time before the half-close */
    _Atomic int64_t last_output_ms; /* monotonic time of the guest's last output */
} cli_console;

static int64_t
cli_now_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Pipe mode, after EOF: returns once the guest said nothing for linger_ms. */
static void
cli_console_linger(cli_console *console)
{
    atomic_store(&console->last_output_ms, cli_now_ms());
    for (;;) {
        int64_t quiet = cli_now_ms() - atomic_load(&console->last_output_ms);
        if (quiet >= (int64_t)console->linger_ms)
            return;
        usleep((useconds_t)(console->linger_ms - quiet) * 1000);
    }
}

static int
cli_console_send(cli_console *console, const char *bytes, size_t length)
{
    Virtgrpc__V1__OpenDomainConsoleRequest request =
        VIRTGRPC__V1__OPEN_DOMAIN_CONSOLE_REQUEST__INIT;
    vg_status status = {0};
    int rc = -1;

    request.request_case = VIRTGRPC__V1__OPEN_DOMAIN_CONSOLE_REQUEST__REQUEST_INPUT;
    request.input.data = (uint8_t *)bytes;
    request.input.len = length;
    pthread_mutex_lock(&console->lock);
    if (!console->stream_done)
        rc = vgc_console_service_open_domain_console_send(console->stream, &request,
                                                          &status);
    pthread_mutex_unlock(&console->lock);
    vg_status_clear(&status); /* the main thread reports how the stream ended */
    return rc;
}

/* Copies stdin to the guest until EOF (then half-closes) or Ctrl-] (then cancels). */
static void *
cli_console_input(void *opaque)
{
    cli_console *console = opaque;
    char buffer[4096];

    for (;;) {
        ssize_t length = read(STDIN_FILENO, buffer, sizeof(buffer));
        char *escape;

        if (length < 0 && errno == EINTR)
            continue;
        if (length <= 0)
            break;
        escape = console->on_terminal ? memchr(buffer, CLI_ESCAPE_CHAR, length) : NULL;
        if (escape) {
            if (escape > buffer)
                cli_console_send(console, buffer, escape - buffer);
            console->escaped = true;
            vg_client_stream_cancel(console->stream);
            return NULL;
        }
        if (cli_console_send(console, buffer, length) < 0)
            return NULL;
    }
    cli_console_linger(console);
    pthread_mutex_lock(&console->lock);
    if (!console->stream_done) {
        vg_status status = {0};
        vg_client_stream_close_send(console->stream, &status);
        vg_status_clear(&status);
    }
    pthread_mutex_unlock(&console->lock);
    return NULL;
}

static const cli_option cli_console_options[] = {
    {"devname", "NAME", "the console's alias (default: the first console)"},
    {"force", NULL, "take the console over from another client"},
    {"safe", NULL, "only if the driver can guarantee exclusive access"},
    {"linger", "MS",
     "stdin not a terminal: at its end, wait until the guest is quiet for MS ms (default "
     "500) before closing"},
    {NULL},
};

static int
cli_run_console(cli_context *context, const cli_args *args)
{
    cli_console console = {.lock = PTHREAD_MUTEX_INITIALIZER};
    json_object *request = json_object_new_object();
    json_object *open = json_object_new_object();
    const char *device = cli_option_value(args, "devname");
    ProtobufCMessage *message = NULL;
    vg_status status = {0};
    pthread_t input;
    int rc;

    rc = cli_option_uint(args, "linger", 500, &console.linger_ms);
    if (rc) {
        json_object_put(request);
        json_object_put(open);
        return rc;
    }
    json_object_object_add(open, "domain", cli_domain_ref(args->positional[0]));
    if (device)
        json_object_object_add(open, "device", json_object_new_string(device));
    cli_add_enum_options(open, args,
                         (const cli_enum_option[]){{"force", "flags", "CONSOLE_FLAG_FORCE"},
                                                   {"safe", "flags", "CONSOLE_FLAG_SAFE"},
                                                   {NULL}});
    json_object_object_add(request, "open", open);
    rc = cli_message_from_json(
        request, &virtgrpc__v1__open_domain_console_request__descriptor, &message);
    if (rc == 0)
        rc = cli_stream_open(context, "ConsoleService.OpenDomainConsole", NULL,
                             &console.stream);
    if (rc == 0 && vg_client_stream_send(console.stream, message, &status) < 0)
        rc = cli_status_error(&status);
    cli_free_message(message);
    if (rc) {
        vg_client_stream_free(console.stream);
        return rc;
    }

    console.on_terminal = isatty(STDIN_FILENO);
    if (console.on_terminal) {
        fprintf(stderr, "Connected to domain '%s'\r\nEscape character is ^] (Ctrl + ])\r\n",
                args->positional[0]);
        if (cli_make_terminal_raw() < 0) {
            vg_client_stream_free(console.stream);
            return cli_error(CLI_EXIT_FAILED, "cannot put the terminal in raw mode: %s",
                             strerror(errno));
        }
    }
    if (pthread_create(&input, NULL, cli_console_input, &console) != 0)
        abort();
    pthread_detach(input); /* it may sit in read() after the guest side ended */

    while ((rc = vgc_console_service_open_domain_console_next(
                console.stream, (Virtgrpc__V1__GuestOutput **)&message, &status)) == 1) {
        const Virtgrpc__V1__GuestOutput *output =
            (const Virtgrpc__V1__GuestOutput *)message;
        size_t written = 0;

        atomic_store(&console.last_output_ms, cli_now_ms());
        while (written < output->output.len) {
            ssize_t n = write(STDOUT_FILENO, output->output.data + written,
                              output->output.len - written);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            written += n;
        }
        cli_free_message(message);
    }
    cli_restore_terminal();
    if (console.on_terminal)
        fputc('\n', stderr);

    pthread_mutex_lock(&console.lock);
    console.stream_done = true;
    pthread_mutex_unlock(&console.lock);
    if (rc < 0 && !console.escaped)
        rc = cli_status_error(&status);
    else
        rc = CLI_EXIT_OK;
    vg_status_clear(&status);
    vg_client_stream_free(console.stream);
    return rc;
}

/* ---- screenshot ---- */

static const cli_option cli_screenshot_options[] = {
    {"screen", "N", "the screen (head) to capture (default 0)"},
    {NULL},
};

static int
cli_run_screenshot(cli_context *context, const cli_args *args)
{
    const char *path = args->positional[1];
    json_object *request = json_object_new_object();
    vg_client_stream *stream = NULL;
    Virtgrpc__V1__ScreenshotChunk *chunk = NULL;
    vg_status status = {0};
    char *mime_type = NULL;
    uint64_t screen, size = 0;
    FILE *file = NULL;
    int rc;

    rc = cli_option_uint(args, "screen", 0, &screen);
    if (rc) {
        json_object_put(request);
        return rc;
    }
    json_object_object_add(request, "domain", cli_domain_ref(args->positional[0]));
    json_object_object_add(request, "screen", json_object_new_int64(screen));
    rc = cli_stream_open(context, "ConsoleService.GetDomainScreenshot", request, &stream);
    if (rc)
        return rc;
    while ((rc = vgc_console_service_get_domain_screenshot_next(stream, &chunk, &status)) ==
           1) {
        if (chunk->chunk_case == VIRTGRPC__V1__SCREENSHOT_CHUNK__CHUNK_MIME_TYPE) {
            free(mime_type);
            mime_type = strdup(chunk->mime_type);
            /* Created once the server said yes: a refused call leaves no empty file. */
            if (file == NULL && (file = fopen(path, "wb")) == NULL)
                break;
        } else if (file &&
                   fwrite(chunk->data.data, 1, chunk->data.len, file) != chunk->data.len) {
            break;
        } else {
            size += chunk->data.len;
        }
        cli_free_message(chunk);
        chunk = NULL;
    }
    cli_free_message(chunk);
    if (rc < 0) {
        rc = cli_status_error(&status);
    } else if (rc == 1 || file == NULL || fclose(file) != 0) {
        rc = cli_error(CLI_EXIT_FAILED, "cannot write '%s': %s", path, strerror(errno));
        file = NULL;
    } else {
        file = NULL;
        if (context->json) {
            json_object *json = json_object_new_object();
            json_object_object_add(json, "file", json_object_new_string(path));
            json_object_object_add(json, "mimeType", json_object_new_string(mime_type));
            json_object_object_add(json, "sizeBytes", json_object_new_int64(size));
            cli_print_json_object(json);
            json_object_put(json);
        } else {
            printf("Screenshot saved to %s, with type of %s\n", path, mime_type);
        }
        rc = CLI_EXIT_OK;
    }
    if (file)
        fclose(file);
    free(mime_type);
    vg_client_stream_free(stream);
    return rc;
}

const cli_command cli_console_commands[] = {
    {"console", "DOMAIN", 1, 1,
     "connect to a domain's serial console (Ctrl-] leaves; stdin may be a pipe)",
     cli_console_options, cli_run_console},
    {"screenshot", "DOMAIN FILE", 2, 2, "save a screenshot of a domain's display to FILE",
     cli_screenshot_options, cli_run_screenshot},
    {NULL},
};
