/* api_capture_pcap: GET /api/capture/pcap?bpf=&seconds=&max_bytes=, the
   recent-packet ring (and, live, what the capture adds for `seconds`) as
   a pcap file that tcpdump, tshark and Wireshark read. Admin only (the
   route's ROUTE_ADMIN: payloads are sensitive). The answer is streamed
   in chunks of at most CHUNK bytes as records come out of the ring, so a
   64 MiB download never sits in memory; it stops before the first record
   that would pass max_bytes, so the file always ends on a whole record.
   Runs on a civetweb worker for as long as the download lasts (at most
   PCAP_DOWNLOAD_MAX_SECONDS plus the time to write the ring); the
   capture thread never waits for it (capture_pcap_*). */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshwatch/api.h"
#include "meshwatch/capture.h"
#include "meshwatch/http.h"
#include "meshwatch/limits.h"
#include "meshwatch/log.h"
#include "meshwatch/node.h"
#include "meshwatch/util.h"

#define CHUNK (64 * 1024)
#define IDLE_WAIT_MS 20     /* live and caught up: how long to wait for more */
#define RETRY_AFTER_S 10

/* "node1.example.com-20260101T000000Z.pcap", the name kept to letters,
   digits, '.', '-' and '_'. */
static void
file_name(const struct node *n, char *out, size_t outlen)
{
	char name[128];
	size_t k = 0;
	for (const char *c = n->fqdn; *c && k + 1 < sizeof name; c++) {
		int okc = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
		          *c == '-' || *c == '_';
		name[k++] = okc ? *c : '_';
	}
	name[k] = '\0';
	time_t t = (time_t)mw_wall_s();
	struct tm tm;
	gmtime_r(&t, &tm);
	char ts[32];
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, outlen, "%s-%s.pcap", k ? name : "meshwatch", ts);
}

struct out {
	struct mg_connection *conn;
	uint8_t buf[CHUNK];
	size_t len;
	int failed;
};

static void
out_flush(struct out *o)
{
	if (o->len == 0 || o->failed)
		return;
	if (mg_send_chunk(o->conn, (const char *)o->buf, (unsigned)o->len) < 0)
		o->failed = 1;
	o->len = 0;
}

static void
out_add(struct out *o, const uint8_t *p, size_t n)
{
	if (o->len + n > sizeof o->buf)
		out_flush(o);
	if (n > sizeof o->buf) { /* a record larger than the buffer goes as its own chunk */
		if (!o->failed && mg_send_chunk(o->conn, (const char *)p, (unsigned)n) < 0)
			o->failed = 1;
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void
api_capture_pcap(struct req *r)
{
	int seconds, max_bytes;
	char bpf[PCAP_DOWNLOAD_BPF_MAX];
	if (http_query_int(r, "seconds", 0, 0, PCAP_DOWNLOAD_MAX_SECONDS, &seconds) != 0 ||
	    http_query_int(r, "max_bytes", PCAP_DOWNLOAD_MAX_BYTES, CAPTURE_PCAP_FILE_HDR, PCAP_DOWNLOAD_MAX_BYTES,
	        &max_bytes) != 0)
		return;
	int rc = http_query_str(r, "bpf", bpf, sizeof bpf);
	if (rc == MW_EREPLIED)
		return;
	if (rc != 0)
		bpf[0] = '\0';

	char err[600];
	int why = 0;
	struct capture_pcap *p = capture_pcap_open(r->node->capture, bpf, &why, err, sizeof err);
	if (p == NULL) {
		switch (why) {
		case CAPTURE_PCAP_OFF:
			http_reply_error(r, 409, "capture_off", "%s", err);
			break;
		case CAPTURE_PCAP_RING_OFF:
			http_reply_error(r, 409, "pcap_ring_off", "%s", err);
			break;
		case CAPTURE_PCAP_UNAVAILABLE:
			http_reply_error(r, 503, "capture_unavailable", "%s", err);
			break;
		case CAPTURE_PCAP_BUSY: {
			char hdr[64];
			snprintf(hdr, sizeof hdr, "Retry-After: %d\r\n", RETRY_AFTER_S);
			http_reply_error_headers(r, 429, "too_many_downloads", hdr, "%s; try again later", err);
			break;
		}
		case CAPTURE_PCAP_BAD_FILTER:
			http_reply_error(r, 400, "invalid_query", "query parameter \"bpf\" is not a valid filter: %s", err);
			break;
		default:
			http_reply_error(r, 500, "internal", "%s", err);
		}
		return;
	}
	int offline = capture_pcap_offline(p);
	int live_s = offline ? 0 : seconds;
	char name[200];
	file_name(r->node, name, sizeof name);
	char note[160] = "";
	if (offline && seconds > 0)
		snprintf(note, sizeof note,
		    "X-Meshwatch-Pcap-Note: the capture reads a file: only the ring's packets, seconds=%d ignored\r\n", seconds);
	r->status = 200;
	mg_printf(r->conn,
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/vnd.tcpdump.pcap\r\n"
	    "Content-Disposition: attachment; filename=\"%s\"\r\n"
	    "Transfer-Encoding: chunked\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Meshwatch-Pcap-Live-Seconds: %d\r\n"
	    "X-Meshwatch-Pcap-Max-Bytes: %d\r\n"
	    "%s"
	    "\r\n",
	    name, live_s, max_bytes, note);
	if (strcmp(r->method, "HEAD") == 0) {
		capture_pcap_close(p);
		return;
	}

	struct out *o = malloc(sizeof *o);
	if (o == NULL) {
		capture_pcap_close(p);
		mg_close_after_response(r->conn);
		return; /* the client sees a chunked body that never ends properly */
	}
	o->conn = r->conn;
	o->len = 0;
	o->failed = 0;
	uint8_t fh[CAPTURE_PCAP_FILE_HDR];
	capture_pcap_file_header(p, fh);
	out_add(o, fh, sizeof fh);
	size_t total = sizeof fh;
	int64_t deadline = mw_now_ms() + (int64_t)live_s * 1000;
	uint64_t records = 0;
	for (;;) {
		const uint8_t *rec;
		size_t len;
		int got = capture_pcap_next(p, live_s > 0, &rec, &len);
		if (o->failed || r->node->stopping)
			break;
		if (got == 1) {
			if (total + len > (size_t)max_bytes)
				break; /* whole records only */
			out_add(o, rec, len);
			total += len;
			records++;
			if (live_s > 0 && mw_now_ms() >= deadline)
				break;
			continue;
		}
		if (live_s == 0 || mw_now_ms() >= deadline)
			break;
		/* caught up with a live capture: let the client have what there is */
		out_flush(o);
		struct timespec ts = {0, IDLE_WAIT_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	out_flush(o);
	if (!o->failed && mg_send_chunk(r->conn, "", 0) < 0)
		o->failed = 1;
	if (o->failed)
		mg_close_after_response(r->conn);
	log_debug("http", "%s: pcap download of %llu records, %zu bytes%s", r->client, (unsigned long long)records, total,
	    o->failed ? " (the client went away)" : "");
	free(o);
	capture_pcap_close(p);
}
