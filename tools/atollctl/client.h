/* atollctl's side of the control protocol: connect, authenticate, one request at a time. */
#ifndef ATOLL_TOOLS_ATOLLCTL_CLIENT_H
#define ATOLL_TOOLS_ATOLLCTL_CLIENT_H
#include <stdbool.h>
#include <stdint.h>
#include "net/control/ctl_codec.h"
#include "net/tls/tls_conn.h"

/* Exit statuses: one per kind of failure, so scripts can tell them apart (atollctl --help
 * lists them). EXIT_COMMAND is the server's own refusal (or a failed operation); not
 * reaching the server at all is EXIT_CONNECT. */
enum atollctl_exit {
    EXIT_OK = 0, EXIT_COMMAND = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3, EXIT_TIMEOUT = 4,
    EXIT_UNAUTHENTICATED = 5, EXIT_VERSION = 6, EXIT_PROTOCOL = 7, EXIT_LOCAL = 8,
};

struct client_opts {
    const char *host;            /* HOST:PORT */
    const char *key_path;
    const char *server_key;      /* fingerprint, or NULL */
    unsigned timeout_s;
    uint16_t protocol_version;   /* normally CTL_VERSION; tests override it */
};

struct client {
    struct client_opts opts;
    int fd;
    uint32_t next_id;
    struct tls_identity id;
    uint8_t pin[1][TLS_FP_SIZE];
    struct tls_conn tls;
    uint64_t app_bytes;          /* control messages sent and received (requests, replies) */
    uint8_t reply[CTL_HEADER_SIZE + CTL_MAX_REPLY_PAYLOAD];
};

struct client_reply {
    uint16_t status;
    const uint8_t *payload;
    uint32_t length;
    char message[256];
};

/* Connects and completes the TLS handshake.  EXIT_OK, or an exit status after printing
 * one clear error line. */
int client_open(struct client *c, const struct client_opts *opts);
/* Sends one request and waits for its reply.  EXIT_OK when the server answered (even with
 * an error status: see r->status); otherwise an exit status, error printed. */
int client_call(struct client *c, uint16_t type, const void *payload, size_t len,
                struct client_reply *r);
void client_close(struct client *c);
/* Prints the server's error reply and returns the matching exit status. */
int client_report_status(const struct client *c, const struct client_reply *r);

#endif
