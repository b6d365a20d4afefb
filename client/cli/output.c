/*
 * Output: JSON of messages (through json-message.c), aligned tables, enum labels and
 * flattened key=value listings for people.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "client/cli/cli.h"
#include "client/cli/json-message.h"

static void
cli_print_json(const ProtobufCMessage *message, int flags)
{
    json_object *json = cli_json_from_message(message);

    puts(json_object_to_json_string_ext(json, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(json);
    fflush(stdout);
}

void
cli_print_json_object(json_object *json)
{
    puts(json_object_to_json_string_ext(json, JSON_C_TO_STRING_PRETTY |
                                                  JSON_C_TO_STRING_SPACED |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
}

void
cli_print_message(const ProtobufCMessage *message)
{
    cli_print_json(message, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
}

void
cli_print_message_line(const ProtobufCMessage *message)
{
    cli_print_json(message, JSON_C_TO_STRING_PLAIN);
}

const char *
cli_enum_label(const ProtobufCEnumDescriptor *type, int value, char *buffer, size_t size)
{
    const ProtobufCEnumValue *known = protobuf_c_enum_descriptor_get_value(type, value);
    const ProtobufCEnumValue *unspecified = protobuf_c_enum_descriptor_get_value(type, 0);
    const char *name;
    size_t prefix = 0;

    if (known == NULL) {
        snprintf(buffer, size, "%d", value);
        return buffer;
    }
    name = known->name;
    /* DOMAIN_STATE_UNSPECIFIED -> the prefix "DOMAIN_STATE_" every value shares. */
    if (unspecified && g_str_has_suffix(unspecified->name, "UNSPECIFIED")) {
        prefix = strlen(unspecified->name) - strlen("UNSPECIFIED");
        if (strncmp(name, unspecified->name, prefix) != 0)
            prefix = 0;
    }
    snprintf(buffer, size, "%s", name + prefix);
    for (char *c = buffer; *c; c++)
        *c = *c == '_' ? ' ' : g_ascii_tolower(*c);
    return buffer;
}

static void
cli_print_flat_at(json_object *json, GString *path, const char *indent)
{
    size_t length = path->len;

    switch (json_object_get_type(json)) {
    case json_type_object: {
        json_object_object_foreach(json, key, value)
        {
            g_string_append_printf(path, "%s%s", length ? "." : "", key);
            cli_print_flat_at(value, path, indent);
            g_string_truncate(path, length);
        }
        break;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(json); i++) {
            g_string_append_printf(path, "%s%zu", length ? "." : "", i);
            cli_print_flat_at(json_object_array_get_idx(json, i), path, indent);
            g_string_truncate(path, length);
        }
        break;
    default:
        printf("%s%s=%s\n", indent, path->str, json_object_get_string(json));
    }
}

void
cli_print_flat(json_object *json, const char *indent)
{
    GString *path = g_string_new("");

    cli_print_flat_at(json, path, indent);
    g_string_free(path, TRUE);
}

/* ---- tables ---- */

struct cli_table {
    int n_columns;
    GPtrArray *cells; /* row-major, n_columns per row, the headers first */
};

cli_table *
cli_table_new(int n_columns, ...)
{
    cli_table *table = g_new0(cli_table, 1);
    va_list args;

    table->n_columns = n_columns;
    table->cells = g_ptr_array_new_with_free_func(g_free);
    va_start(args, n_columns);
    for (int c = 0; c < n_columns; c++)
        g_ptr_array_add(table->cells, g_strdup(va_arg(args, const char *)));
    va_end(args);
    return table;
}

void
cli_table_add(cli_table *table, ...)
{
    va_list args;

    va_start(args, table);
    for (int c = 0; c < table->n_columns; c++) {
        const char *cell = va_arg(args, const char *);
        g_ptr_array_add(table->cells, g_strdup(cell ? cell : ""));
    }
    va_end(args);
}

/* virsh's layout: a header, a dashed rule, columns left-aligned, two spaces apart. */
void
cli_table_print(cli_table *table)
{
    int n = table->n_columns;
    size_t n_rows = table->cells->len / n;
    size_t *widths = g_new0(size_t, n);
    size_t total = 0;

    for (size_t r = 0; r < n_rows; r++) {
        for (int c = 0; c < n; c++) {
            size_t width = g_utf8_strlen(g_ptr_array_index(table->cells, r * n + c), -1);
            if (width > widths[c])
                widths[c] = width;
        }
    }
    for (int c = 0; c < n; c++)
        total += widths[c] + (c + 1 < n ? 2 : 0);
    for (size_t r = 0; r < n_rows; r++) {
        for (int c = 0; c < n; c++) {
            const char *cell = g_ptr_array_index(table->cells, r * n + c);
            if (c + 1 < n)
                printf(" %-*s ", (int)widths[c], cell);
            else
                printf(" %s\n", cell);
        }
        if (r == 0) {
            /* Capped: a long last column (method summaries) would draw a wall. */
            for (size_t i = 0; i < MIN(total + 2, 80); i++)
                putchar('-');
            putchar('\n');
        }
    }
    fflush(stdout);
    g_free(widths);
    g_ptr_array_free(table->cells, TRUE);
    g_free(table);
}
