/* alerts_internal: what alerts.c (rules, the engine, the API side) and
   notify.c (channels, messages, delivery) share. */
#ifndef MESHWATCH_ALERTS_INTERNAL_H
#define MESHWATCH_ALERTS_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "meshwatch/alerts.h"
#include "meshwatch/limits.h"
#include "meshwatch/store.h"

#define ALERT_NAME_MAX 64
#define ALERT_VALUES_MAX 8
#define ALERT_LABELS_MAX 512
#define ALERT_SUMMARY_MAX 256
#define ALERTS_GONE_RING 32

enum rule_type { RULE_EVENT, RULE_THRESHOLD };
enum rule_metric { METRIC_PEER_RTT_MS, METRIC_PEER_LOSS_PCT, METRIC__COUNT };
enum alert_state { ALERT_PENDING, ALERT_FIRING, ALERT_RESOLVED };
enum channel_type { CH_WEBHOOK, CH_SLACK, CH_ALERTMANAGER, CH_SMTP, CH__COUNT };

struct rule {
	int64_t id;
	char name[ALERT_NAME_MAX];
	int enabled, builtin;
	int type;
	char event_kind[EVENT_KIND_MAX];
	char fire_on[ALERT_VALUES_MAX][EVENT_VALUE_MAX];
	int nfire;
	char resolve_on[ALERT_VALUES_MAX][EVENT_VALUE_MAX];
	int nresolve;
	int metric, op_gt;          /* threshold: the value, and > (1) or < (0) */
	double threshold;
	int for_s, severity, confirm_k, repeat_s, group_wait_s;
	char labels[ALERT_LABELS_MAX]; /* a JSON object of strings */
};

struct alert {
	int64_t id, rule_id;
	char rule[ALERT_NAME_MAX];
	int severity;
	char subject_type[16], subject[EVENT_SUBJECT_MAX], subject_name[EVENT_SUBJECT_MAX];
	int state;
	char value[EVENT_VALUE_MAX];
	char summary[ALERT_SUMMARY_MAX];
	char evidence[EVENT_EVIDENCE_MAX];
	char labels[ALERT_LABELS_MAX];
	int64_t started_at, fired_at, resolved_at, last_notified_at; /* wall s, 0 = not yet */
	int acked;
	char acked_by[64];
	int silenced;
	int notified;       /* its firing message was queued here */
	char sent_by[128];  /* another node sends its messages (that node's name); "" = this one */
	int64_t due_ms;     /* a message is due since (0: none) */
	int due_status;     /* ALERT_FIRING or ALERT_RESOLVED */
	int repeat;         /* the due firing message repeats an earlier one */
	uint64_t changed;   /* the change counter when it last changed */
};

struct channel {
	int64_t id;                    /* 1-based, the file's order */
	char name[ALERT_NAME_MAX];
	int type;
	int min_severity;
	/* HTTP types */
	char url[512];
	int tls;
	char host[256];
	int port;
	char path[512];
	char secret[256];              /* webhook HMAC key ("" = unsigned) */
	int tls_verify;                /* https: check the receiver's certificate (default 1) */
	/* smtp */
	int starttls;
	char user[128], password[128], from[256];
	char to[4][256];
	int nto;
	/* delivery state, under the engine's lock */
	int queued, failing;
	uint64_t sent, failed, dropped;
	int attempts;
	int64_t next_try_ms, last_ok_at, last_error_at;
	char last_error[200];
};

struct alerts {
	struct node *node;
	struct store *st;
	pthread_mutex_t lock;
	pthread_cond_t wake;           /* the delivery thread's */
	int stop;
	pthread_t thread;
	int started;

	struct rule *rules;
	int nrules;
	struct alert *active;          /* pending and firing; resolved ones until their message is queued */
	int nactive;
	int64_t next_alert_id;
	struct store_doc *silences;    /* bodies are the API's JSON */
	int nsilences;
	int64_t silences_loaded_ms;
	int64_t thresholds_at;         /* the main thread's, when thresholds were last evaluated */

	struct channel *channels;
	int nchannels;

	/* the events tap's queue */
	struct event_row *evq;
	int nevq;
	uint64_t ev_dropped;

	uint64_t change_seq;
	/* alerts that left memory lately, for the live feed (a ring) */
	struct alert gone[ALERTS_GONE_RING];
	int gone_head;
	uint64_t fired, resolved;
	int confirm_k_default, group_wait_default, repeat_default;
};

/* alert_view.c */
const char *alert_state_name(int s);
cJSON *alert_json(const struct alert *x);

/* notify.c */
int channels_parse(const cJSON *arr, struct channel **out, int *n, char *why, size_t whylen);
const char *channel_type_name(int t);
/* Queues the messages for alerts group[0..n) (all of one rule and one
   status) on every channel that takes their severity. Lock held. */
void notify_queue_group(struct alerts *a, struct alert *const *group, int n, int status);
/* Queues a test message on c. Lock held. */
int notify_queue_test(struct alerts *a, struct channel *c, const char *user);
void *notify_main(void *arg);
cJSON *channel_json(const struct channel *c);

#endif
