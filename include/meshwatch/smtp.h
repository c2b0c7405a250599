/* smtp: sends one e-mail (an alert notification) to a mail server: EHLO
   (HELO when refused), STARTTLS on mbedTLS, AUTH PLAIN or LOGIN only over
   TLS, one message of UTF-8 text. One connection per message, nothing
   kept between calls. The server's certificate is not verified (as for
   peers: small relays have self-signed ones). Thread-safe; each call
   blocks its thread up to timeout_ms (and, before that, for the blocking
   name lookup), so it belongs on a worker thread, never on the main loop. */
#ifndef MESHWATCH_SMTP_H
#define MESHWATCH_SMTP_H

#include <stddef.h>

#include "meshwatch/limits.h"
#include "meshwatch/util.h"

struct smtp_msg {
	const char *host;            /* name or numeric address */
	int port;                    /* 25, 587, ... */
	int starttls;                /* 1: STARTTLS required (fail if the server does not offer it); 0: plain */
	const char *user, *password; /* optional: AUTH PLAIN (or LOGIN) only after STARTTLS, never in the clear */
	const char *helo_name;       /* EHLO name (the node's fqdn); NULL: "localhost" */
	const char *from;
	const char *const *to;       /* nto addresses, 1..SMTP_MAX_RCPT */
	int nto;
	const char *subject;         /* UTF-8; encoded as RFC 2047 when not ASCII; NULL: empty */
	const char *body;            /* UTF-8 text, lines end in \n or \r\n */
	int timeout_ms;              /* the whole exchange, connect to QUIT */
};

/* Sends m. 0 when the server accepted the message (250 after DATA);
   otherwise a negative code and a sentence in err naming the step and the
   server's reply, e.g. "RCPT TO <x@y>: 550 no such user":
   MW_EINVAL   m is refused before connecting: a CR or LF (or other control
               character) in an address, the subject or the EHLO name, an
               address that is not local@domain, credentials without
               STARTTLS;
   MW_ETOOBIG  a limit of limits.h (SMTP_*) was passed, by m or by a reply;
   MW_ENOTFOUND the host name does not resolve;
   MW_ECRYPTO  the TLS handshake failed;
   MW_EAUTH    the server refused the credentials;
   MW_EIO      connecting failed, the exchange timed out or broke off, the
               server refused a step (STARTTLS missing, a sender, a
               recipient, the message) or answered something not SMTP.
   A rejected recipient fails the whole message: nothing is sent to the
   others. Never writes the password into err. */
int smtp_send(const struct smtp_msg *m, char *err, size_t errlen) MW_MUST_CHECK;

#endif
