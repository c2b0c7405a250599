/* tlsio: the socket side of the security layer's TLS clients (tlsclient's
   HTTPS polls and reports, smtp's STARTTLS): a non-blocking connect and
   mbedTLS BIO callbacks that wait at most until one deadline, and the
   client configuration they share (no certificate verification: peers and
   mail relays are reached by address, their certificates self-signed).
   A header of the security layer alone. */
#ifndef MESHWATCH_TLSIO_H
#define MESHWATCH_TLSIO_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* One connection's socket. mbedTLS writes every handshake message as its
   own record and reads each record in two calls (header, then body); on
   loopback and in a VM every send can wake the peer and every call is a
   system call. So writes are gathered and leave together just before the
   next read (or at tlsio_flush), and reads take what the socket has in
   one call: a resumed handshake plus a request is then two writes and
   about two reads instead of five and eight. Safe because its owner waits
   on the socket only through these functions. Not locked: one thread. */
#define TLSIO_WBUF 4096
#define TLSIO_RBUF 4096
struct tlsio {
	int fd;                         /* -1 until tlsio_connect; the owner closes it */
	int64_t deadline_ms;            /* mw_now_ms() time every wait ends by */
	int eof;                        /* the peer closed its side */
	size_t wlen, rpos, rlen;
	unsigned char wbuf[TLSIO_WBUF], rbuf[TLSIO_RBUF];
};

/* No socket yet, and a deadline timeout_ms from now. */
void tlsio_init(struct tlsio *io, int timeout_ms);

/* Opens a non-blocking TCP socket (TCP_NODELAY) to sa and waits for the
   connection until the deadline. 0, or an errno value: ETIMEDOUT when the
   deadline passed (or the node is stopping). io->fd is still -1 when the
   socket itself could not be made. */
int tlsio_connect(struct tlsio *io, const struct sockaddr *sa, socklen_t salen);
/* The same, leaving from source address src (port 0) when it is of sa's
   family (NULL: the kernel's choice). A source the destination cannot be
   reached from (bind or connect fail with EADDRNOTAVAIL, EINVAL or
   ENETUNREACH) is dropped and the connection tried again without it. */
int tlsio_connect_from(struct tlsio *io, const struct sockaddr *sa, socklen_t salen, const struct sockaddr *src,
    socklen_t srclen);

/* Waits for events on the socket until the deadline, in slices of at most
   100 ms so a stopping node does not wait for a slow peer. poll()'s
   result: 0 on timeout or abort. */
int tlsio_wait(struct tlsio *io, short events);

/* Sends everything gathered. 0 or an MBEDTLS_ERR_* code
   (MBEDTLS_ERR_SSL_TIMEOUT at the deadline). */
int tlsio_flush(struct tlsio *io);

/* mbedtls_ssl_set_bio's send and receive callbacks (ctx: the struct
   tlsio); also usable before a handshake, for plain text. tlsio_recv sends
   what was gathered first, and returns MBEDTLS_ERR_NET_CONN_RESET at end
   of stream, MBEDTLS_ERR_SSL_TIMEOUT at the deadline. */
int tlsio_send(void *ctx, const unsigned char *buf, size_t len);
int tlsio_recv(void *ctx, unsigned char *buf, size_t len);

/* Sets up conf as a TLS 1.2 client that accepts any certificate, with the
   curves X25519, P-256 and P-384, and seeds drbg (both initialised by the
   caller, who frees them) as its RNG; pers names the client in the seed.
   0, or MW_ECRYPTO with a reason in err. */
int tlsio_client_conf(mbedtls_ssl_config *conf, mbedtls_ctr_drbg_context *drbg, const char *pers, char *err,
    size_t errlen);

#endif
