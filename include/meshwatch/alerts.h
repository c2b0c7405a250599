/* alerts: rules over events and measurements, the alerts they raise, and
   the notifications that tell people.

   A rule is data (alerts.json at start, /api/alerts/rules at run time):
   either a condition on an event kind ("peer_state" turning "dead", back
   on "alive") or a threshold on a measured value per peer (RTT, loss),
   each with a "for" duration, a severity, labels and a repeat interval.
   An alert is one rule on one subject: pending while its "for" runs,
   firing, then resolved. A peer is alerted as down only when enough of
   the nodes that poll it agree (confirm_k, default a majority of this
   node and the vantage points it asked), and of all the nodes that see
   it, one sends the messages: the alive node with the lowest id.

   Messages go through a SQLite outbox per channel (webhook with an HMAC
   signature, Slack, Alertmanager, SMTP), delivered in order by one thread
   with backoff, so nothing is lost while a receiver is down; each firing
   and resolution is also logged (WARN / INFO). Alerts of one rule that
   become due within group_wait_s of each other leave as one message;
   silences hold messages back for a time; an acknowledged alert is not
   repeated.

   Threads: alerts_on_event from any thread (it only queues); alerts_tick
   from the main thread once a second; the API calls from HTTP workers;
   one delivery thread of its own. One mutex guards the state; no I/O but
   SQLite happens under it. */
#ifndef MESHWATCH_ALERTS_H
#define MESHWATCH_ALERTS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "meshwatch/store.h"
#include "meshwatch/util.h"

struct node;
struct alerts;

/* Reads cfg.alerts_file (channels, rules, settings) and checks it; the
   reason in err names the field. 0 or MW_EINVAL. No node needed: main
   calls it before starting so a typo fails fast. */
int alerts_check_file(const char *path, char *err, size_t errlen) MW_MUST_CHECK;

/* Loads the file, the stored rules (the defaults on a first start), the
   active alerts and the silences. NULL with a reason in err. */
struct alerts *alerts_create(struct node *n, char *err, size_t errlen) MW_MUST_CHECK;
/* Starts the delivery thread. 0 or MW_EIO. */
int alerts_start(struct alerts *a, char *err, size_t errlen) MW_MUST_CHECK;
void alerts_stop(struct alerts *a);
void alerts_destroy(struct alerts *a);

/* The events tap (events_set_tap): queues an event for the next tick. */
void alerts_on_event(void *arg, const struct event_row *e);
/* Evaluates rules, moves alerts along, queues notifications (main,
   every 250 ms: a message waits at most that long past its group_wait). */
void alerts_tick(struct alerts *a);

/* ---- for the API; each returns 0 or an MW_E* code with a sentence in
   why (MW_EINVAL: the request is wrong; MW_ENOTFOUND; MW_EEXIST; MW_EDB) */
cJSON *alerts_rules_json(struct alerts *a);
int alerts_rule_create(struct alerts *a, const cJSON *body, cJSON **out, char *why, size_t whylen) MW_MUST_CHECK;
int alerts_rule_update(struct alerts *a, int64_t id, const cJSON *body, cJSON **out, char *why, size_t whylen)
	MW_MUST_CHECK;
int alerts_rule_delete(struct alerts *a, int64_t id, char *why, size_t whylen) MW_MUST_CHECK;

cJSON *alerts_silences_json(struct alerts *a);
int alerts_silence_create(struct alerts *a, const cJSON *body, const char *user, cJSON **out, char *why,
    size_t whylen) MW_MUST_CHECK;
int alerts_silence_delete(struct alerts *a, int64_t id, char *why, size_t whylen) MW_MUST_CHECK;

/* Acknowledges (ack 1, by user) or un-acknowledges an active alert. */
int alerts_ack(struct alerts *a, int64_t id, int ack, const char *user, cJSON **out, char *why, size_t whylen)
	MW_MUST_CHECK;

cJSON *alerts_channels_json(struct alerts *a);
/* Queues a test message on channel id (1-based, the file's order). */
int alerts_channel_test(struct alerts *a, int64_t id, const char *user, char *why, size_t whylen) MW_MUST_CHECK;

/* Alerts changed since *cursor (the WebSocket topic "alerts"): a JSON
   array, or NULL when none; *cursor moves on. */
cJSON *alerts_changed_since(struct alerts *a, uint64_t *cursor);

struct alerts_stats {
	int pending, firing, rules, silences, channels;
	uint64_t fired, resolved;
};
void alerts_get_stats(struct alerts *a, struct alerts_stats *out);

struct alerts_channel_stats {
	char name[64], type[16];
	int queued;
	uint64_t sent, failed, dropped;
	int failing;
};
/* Up to max channels; returns how many. */
int alerts_get_channel_stats(struct alerts *a, struct alerts_channel_stats *out, int max);

#endif
