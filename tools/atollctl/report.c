/* atollctl's errors: plain lines on stderr, or one JSON object under --json. */
#include "tools/atollctl/report.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "tools/atollctl/client.h"

static bool json;
static char message[1024];

void report_json(bool on) { json = on; }

void report_error(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    line[strcspn(line, "\n")] = '\0';
    if (!json) {
        fprintf(stderr, "atollctl: %s\n", line);
        return;
    }
    size_t used = strlen(message);
    snprintf(message + used, sizeof message - used, "%s%s", used ? "; " : "", line);
}

const char *report_kind(int rc)
{
    switch (rc) {
    case EXIT_OK: return "ok";
    case EXIT_COMMAND: return "refused-by-server";
    case EXIT_USAGE: return "usage";
    case EXIT_CONNECT: return "cannot-connect";
    case EXIT_TIMEOUT: return "timeout";
    case EXIT_UNAUTHENTICATED: return "unauthenticated";
    case EXIT_VERSION: return "version-mismatch";
    case EXIT_PROTOCOL: return "protocol";
    case EXIT_LOCAL: return "local";
    default: return "error";
    }
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

int report_exit(int rc)
{
    if (json && rc != EXIT_OK) {
        fputs("{\"error\":", stdout);
        json_string(stdout, message[0] ? message : report_kind(rc));
        printf(",\"exit\":%d,\"kind\":\"%s\"}\n", rc, report_kind(rc));
    }
    return rc;
}
