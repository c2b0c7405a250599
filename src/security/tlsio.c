/* tlsio: the socket and configuration shared by the security layer's TLS
   clients (see tlsio.h). Every wait is a poll() bounded by the
   connection's deadline and broken into 100 ms slices that check the
   node's abort flag. Holds no state of its own; any thread. */
#include "tlsio.h"

#include <errno.h>
#include <mbedtls/net_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "meshwatch/util.h"

void
tlsio_init(struct tlsio *io, int timeout_ms)
{
	io->fd = -1;
	io->deadline_ms = mw_now_ms() + timeout_ms;
	io->eof = 0;
	io->wlen = io->rpos = io->rlen = 0;
}

int
tlsio_wait(struct tlsio *io, short events)
{
	for (;;) {
		int64_t left = io->deadline_ms - mw_now_ms();
		if (left <= 0 || mw_abort_requested())
			return 0;
		struct pollfd p = {.fd = io->fd, .events = events};
		int r = poll(&p, 1, left > 100 ? 100 : (int)left);
		if (r != 0)
			return r;
	}
}

int
tlsio_connect(struct tlsio *io, const struct sockaddr *sa, socklen_t salen)
{
	return tlsio_connect_from(io, sa, salen, NULL, 0);
}

int
tlsio_connect_from(struct tlsio *io, const struct sockaddr *sa, socklen_t salen, const struct sockaddr *src,
    socklen_t srclen)
{
	if (src && src->sa_family != sa->sa_family)
		src = NULL;
	io->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (io->fd < 0)
		return errno;
	int one = 1;
	setsockopt(io->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if ((src && bind(io->fd, src, srclen) != 0) || (connect(io->fd, sa, salen) != 0 && errno != EINPROGRESS)) {
		int e = errno;
		if (src && (e == EADDRNOTAVAIL || e == EINVAL || e == ENETUNREACH)) {
			close(io->fd);
			io->fd = -1;
			return tlsio_connect_from(io, sa, salen, NULL, 0);
		}
		return e;
	}
	if (tlsio_wait(io, POLLOUT) <= 0)
		return ETIMEDOUT;
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		return errno;
	return soerr;
}

static int
send_now(struct tlsio *io, const unsigned char *buf, size_t len)
{
	for (;;) {
		ssize_t n = send(io->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return MBEDTLS_ERR_NET_SEND_FAILED;
		int r = tlsio_wait(io, POLLOUT);
		if (r == 0)
			return MBEDTLS_ERR_SSL_TIMEOUT;
		if (r < 0 && errno != EINTR)
			return MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

int
tlsio_flush(struct tlsio *io)
{
	size_t off = 0;
	while (off < io->wlen) {
		int n = send_now(io, io->wbuf + off, io->wlen - off);
		if (n < 0)
			return n;
		off += (size_t)n;
	}
	io->wlen = 0;
	return 0;
}

int
tlsio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tlsio *io = ctx;
	if (io->wlen + len > TLSIO_WBUF) {
		int r = tlsio_flush(io);
		if (r != 0)
			return r;
		if (len > TLSIO_WBUF)
			return send_now(io, buf, len);
	}
	memcpy(io->wbuf + io->wlen, buf, len);
	io->wlen += len;
	return (int)len;
}

static int
recv_now(struct tlsio *io, unsigned char *buf, size_t len)
{
	for (;;) {
		ssize_t n = recv(io->fd, buf, len, 0);
		if (n > 0)
			return (int)n;
		if (n == 0) {
			io->eof = 1;
			return MBEDTLS_ERR_NET_CONN_RESET;
		}
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			return MBEDTLS_ERR_NET_CONN_RESET;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return MBEDTLS_ERR_NET_RECV_FAILED;
		int r = tlsio_wait(io, POLLIN);
		if (r == 0)
			return MBEDTLS_ERR_SSL_TIMEOUT;
		if (r < 0 && errno != EINTR)
			return MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

int
tlsio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tlsio *io = ctx;
	int r = tlsio_flush(io); /* what we wrote is what the peer waits for */
	if (r != 0)
		return r;
	if (io->rpos == io->rlen) {
		if (len >= TLSIO_RBUF)
			return recv_now(io, buf, len);
		r = recv_now(io, io->rbuf, TLSIO_RBUF);
		if (r < 0)
			return r;
		io->rpos = 0;
		io->rlen = (size_t)r;
	}
	size_t k = io->rlen - io->rpos < len ? io->rlen - io->rpos : len;
	memcpy(buf, io->rbuf + io->rpos, k);
	io->rpos += k;
	return (int)k;
}

static const mbedtls_ecp_group_id curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE,
};

int
tlsio_client_conf(mbedtls_ssl_config *conf, mbedtls_ctr_drbg_context *drbg, const char *pers, char *err,
    size_t errlen)
{
	int r;
	if ((r = mbedtls_ctr_drbg_seed(drbg, mw_drbg_entropy, NULL, (const unsigned char *)pers, strlen(pers))) != 0 ||
	    (r = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
	         MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
		snprintf(err, errlen, "cannot set up the TLS client (mbedTLS -0x%04x)", (unsigned)-r);
		return MW_ECRYPTO;
	}
	/* Self-signed certificates are the rule among peers and on small mail
	   relays: accepted (tlsclient reports the key so callers can pin it). */
	mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, drbg);
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_curves(conf, curves);
	return 0;
}
