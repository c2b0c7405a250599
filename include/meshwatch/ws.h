/* ws: the dashboard's live updates over a WebSocket at /ws. A client
   subscribes to topics ({"subscribe":["mesh"]}); a pusher thread sends
   each subscribed client one frame a second. A client that stops reading
   is dropped, never buffered for: before each write the pusher checks how
   much the client has left unread in its socket. Clients are bounded. */
#ifndef MESHWATCH_WS_H
#define MESHWATCH_WS_H

#include <stddef.h>

#include "meshwatch/util.h"

struct mg_context;
struct node;
struct ws_hub;

#define WS_MAX_CLIENTS 64
/* Largest message (frame payload) a client may send; a frame announcing
   more is refused on its header with close status 1009. */
#define WS_MAX_MESSAGE 4096

/* An empty hub. NULL with a reason in err. */
struct ws_hub *ws_create(struct node *n, char *err, size_t errlen) MW_MUST_CHECK;
/* Registers /ws on ctx and starts the pusher. 0, or MW_EIO with a reason
   (/ws is not registered then). */
int ws_start(struct ws_hub *h, struct mg_context *ctx, char *err, size_t errlen) MW_MUST_CHECK;
/* Stops the pusher; call before mg_stop. Idempotent; accepts NULL. */
void ws_stop(struct ws_hub *h);
/* Frees the hub; call after mg_stop (civetweb may still call the close
   handler until then). Accepts NULL. */
void ws_destroy(struct ws_hub *h);
int ws_client_count(struct ws_hub *h);

#endif
