/* authn: who sent a request. One place that reads the credential (an
   Authorization: Bearer header, else the mw_session cookie) and finds
   it: a login session, an API token ("mwt_..."), or the node's metrics
   token (metrics_token_file). Used by http.c for every ROUTE_USER request
   and by ws.c for the WebSocket upgrade, so both accept the same
   credentials. A header of the api layer alone. */
#ifndef MESHWATCH_AUTHN_H
#define MESHWATCH_AUTHN_H

#include "meshwatch/http.h" /* enum req_cred, struct user_row, struct token_row */

struct mg_connection;
struct node;

enum authn_result {
	AUTHN_OK = 0,
	AUTHN_NONE,     /* no credential sent */
	AUTHN_UNKNOWN,  /* a credential no one knows: wrong, revoked, a session that ended */
	AUTHN_EXPIRED,  /* an API token past its expires_at (out->token says which) */
};

struct authn {
	int cred;                  /* REQ_CRED_* */
	int role;                  /* ROLE_*: the user's role or the token's scope */
	struct user_row user;      /* REQ_CRED_SESSION */
	struct token_row token;    /* REQ_CRED_TOKEN, and AUTHN_EXPIRED */
	char token_hash[65];       /* SHA-256 (hex) of the credential */
};

/* Reads and checks the credential conn carries. An API token in use has
   its last_used_at refreshed (at most once a minute). Any thread; blocks
   on the store. */
enum authn_result authn_check(struct node *n, const struct mg_connection *conn, struct authn *out);

#endif
