/* A TLS 1.2 connection over an lwIP TCP connection, allocated per connection. */
#ifndef ATOLL_NET_KERNEL_TLS_SESSION_H
#define ATOLL_NET_KERNEL_TLS_SESSION_H
#include "net/kernel/tcp_stream.h"
#include "net/tls/tls_conn.h"

struct tls_session {
    struct tcp_stream tcp;
    struct tls_conn tls;
};

/* Server side of an accepted pcb; the client must show a key on `allowed`.  NULL when
 * out of memory or the TLS engine refuses (the pcb is then aborted: return ERR_ABRT). */
struct tls_session *tls_session_accept(struct tcp_pcb *pcb, const struct tls_identity *id,
                                       const uint8_t (*allowed)[TLS_FP_SIZE], size_t count);
/* An accepted pcb's session handed to take(session, peer) with the peer's IPv4 address as
 * text: ERR_OK once taken; when take refuses (or no session could be made) the pcb is
 * aborted and ERR_ABRT is what the accept callback returns. */
err_t tls_session_accept_into(struct tcp_pcb *pcb, const struct tls_identity *id,
                              const uint8_t (*allowed)[TLS_FP_SIZE], size_t count,
                              bool (*take)(void *session, const char *peer));
/* Client side: connects to ip:port; the server must show the key `pinned`. */
struct tls_session *tls_session_connect(const ip_addr_t *ip, u16_t port,
                                        const struct tls_identity *id,
                                        const uint8_t pinned[TLS_FP_SIZE]);
/* close_notify as far as it goes, TCP close, memory back. */
void tls_session_free(struct tls_session *s);

#endif
