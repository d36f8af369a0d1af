/* Host-side plumbing shared by atollctl and atoll-control-hostd: sockets as TLS raw
 * streams, the OS entropy source, key files. */
#ifndef ATOLL_TOOLS_ATOLLCTL_HOST_IO_H
#define ATOLL_TOOLS_ATOLLCTL_HOST_IO_H
#include <stdbool.h>
#include <stddef.h>
#include "net/tls/tls_conn.h"
#include "net/tls/tls_identity.h"

/* getrandom(2) as a tls_entropy_fn. */
int host_entropy(void *ctx, void *buf, size_t len);

/* Splits "HOST:PORT" (HOST may be [v6]); false on a malformed address. */
bool host_split(const char *hostport, char *host, size_t cap, char *port, size_t pcap);

/* Raw stream over a socket fd (ctx = pointer to the int fd).  Blocking sockets report a
 * receive timeout (SO_RCVTIMEO) as TLS_IO_TIMEOUT; non-blocking ones return 0. */
struct tls_raw_io host_socket_io(int *fd);

/* Where the key-file errors below go: by default "PROG: LINE" on stderr. */
void host_io_set_error_sink(void (*sink)(const char *line));

/* Reads a key file and loads it; on failure prints one clear line and returns false. */
bool host_load_identity(const char *prog, const char *path, struct tls_identity *id);
/* Writes a new key file (mode 0600, refuses to overwrite unless force). */
bool host_write_key(const char *prog, const char *path, const struct tls_identity *id, bool force);

#endif
