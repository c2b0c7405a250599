/* Unit tests for capture.c's capture_state events: a file read (running),
   a file that cannot be opened (failed, with libpcap's reason), and the
   minute-by-minute drop watch behind dropping / running again. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/capture.h"
#include "meshwatch/config.h"
#include "meshwatch/events.h"
#include "meshwatch/log.h"
#include "testdir.h"

/* A capture of file path, its events going to ev. */
static struct capture *
file_capture(const char *path, struct events *ev)
{
	static struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.capture_pcap, sizeof cfg.capture_pcap, "%s", path);
	cfg.capture_snaplen = 262144;
	cfg.capture_buffer_bytes = 1 << 20;
	cfg.capture_retention_s = 3600;
	cfg.capture_max_flows = 1024;
	struct capture *c = capture_create(&cfg, ev);
	assert_non_null(c);
	return c;
}

/* A pcap file with its header only (Ethernet, no packets). */
static void
write_empty_pcap(const char *path)
{
	static const unsigned char hdr[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 0, 0, 1, 0, 0, 0};
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(hdr, 1, sizeof hdr, f), sizeof hdr);
	fclose(f);
}

static void
test_running_and_failed(void **state)
{
	(void)state;
	char dir[] = "/tmp/mw-capture-XXXXXX", path[64], missing[80];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/empty.pcap", dir);
	snprintf(missing, sizeof missing, "%s/missing.pcap", dir);
	write_empty_pcap(path);
	struct events *ev = events_create(NULL, 16, 0);

	struct capture *c = file_capture(path, ev);
	assert_int_equal(capture_start(c), 0);
	capture_wait(c);
	capture_destroy(c);
	struct event_row out[4];
	assert_int_equal(events_recent(ev, 0, out, 4), 1); /* the end of a file is no event */
	assert_string_equal(out[0].kind, "capture_state");
	assert_string_equal(out[0].subject_type, "interface");
	assert_string_equal(out[0].subject, path);
	assert_string_equal(out[0].old_value, "");
	assert_string_equal(out[0].new_value, "running");
	assert_int_equal(out[0].severity, EVENT_INFO);
	assert_non_null(strstr(out[0].evidence, "\"mode\":\"file\""));
	assert_non_null(strstr(out[0].evidence, "\"link_type\":\"ethernet\""));

	c = file_capture(missing, ev);
	assert_int_not_equal(capture_start(c), 0);
	capture_destroy(c);
	assert_int_equal(events_recent(ev, out[0].id, out, 4), 1);
	assert_string_equal(out[0].subject, missing);
	assert_string_equal(out[0].new_value, "failed");
	assert_int_equal(out[0].severity, EVENT_CRITICAL);
	assert_non_null(strstr(out[0].evidence, "\"error\":\"cannot read capture file"));
	assert_non_null(strstr(out[0].evidence, "missing.pcap"));
	events_destroy(ev);
	testdir_remove(dir);
}

/* Drops are judged once a minute against what the kernel offered: 1 % is
   fine, more is dropping, a clean minute after it is running again. */
static void
test_drop_watch(void **state)
{
	(void)state;
	struct capture_drop_watch w;
	memset(&w, 0, sizeof w);
	int64_t t = 1000;
	assert_int_equal(capture_drop_watch_update(&w, t, 0, 0), 0); /* the first window starts */
	assert_int_equal(capture_drop_watch_update(&w, t + 30, 5000, 500), 0); /* within the minute */
	/* 9900 received, 100 dropped: exactly 1 % of 10000, not more */
	assert_int_equal(capture_drop_watch_update(&w, t + 60, 9900, 100), 0);
	assert_int_equal(w.last_packets, 9900);
	assert_int_equal(w.last_drops, 100);
	/* 9899 received, 101 dropped in the next minute: dropping */
	assert_int_equal(capture_drop_watch_update(&w, t + 120, 9900 + 9899, 201), 1);
	assert_int_equal(w.last_drops, 101);
	/* still dropping: no change */
	assert_int_equal(capture_drop_watch_update(&w, t + 180, 9900 + 9899 + 10, 301), 0);
	assert_true(w.dropping);
	/* a clean minute: running again */
	assert_int_equal(capture_drop_watch_update(&w, t + 240, 9900 + 9899 + 10 + 5000, 301), -1);
	assert_false(w.dropping);
	/* nothing offered at all is not dropping */
	assert_int_equal(capture_drop_watch_update(&w, t + 300, 9900 + 9899 + 10 + 5000, 301), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_running_and_failed),
		cmocka_unit_test(test_drop_watch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
