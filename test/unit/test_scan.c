/* Unit tests for scan.c: CIDR parsing, expansion and its limits, port
   lists, the allowed-subnet check; and the scanner's neighbour-table and
   service-hostname parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "meshwatch/scan.h"
#include "meshwatch/scanner.h"
#include "meshwatch/util.h"

static void
test_cidr_parse(void **state)
{
	(void)state;
	struct scan_net n;
	char err[256], buf[32];
	assert_int_equal(scan_parse_cidr("192.168.1.0/24", &n, err, sizeof err), 0);
	assert_int_equal(n.addr, 0xc0a80100u);
	assert_int_equal(n.prefix, 24);
	assert_string_equal(scan_net_format(&n, buf, sizeof buf), "192.168.1.0/24");
	assert_int_equal(scan_parse_cidr("10.1.2.3", &n, err, sizeof err), 0);
	assert_int_equal(n.prefix, 32);
	assert_int_equal(scan_parse_cidr("192.168.1.5/24", &n, err, sizeof err), MW_EINVAL);
	assert_non_null(strstr(err, "host bits"));
	assert_non_null(strstr(err, "192.168.1.0/24"));
	assert_int_equal(scan_parse_cidr("192.168.1.0/33", &n, err, sizeof err), MW_EINVAL);
	assert_non_null(strstr(err, "prefix"));
	assert_int_equal(scan_parse_cidr("192.168.1/24", &n, err, sizeof err), MW_EINVAL);
	assert_int_equal(scan_parse_cidr("fd00::/64", &n, err, sizeof err), MW_EINVAL);
	assert_int_equal(scan_parse_cidr("", &n, err, sizeof err), MW_EINVAL);
	assert_int_equal(scan_parse_cidr("10.0.0.0/", &n, err, sizeof err), MW_EINVAL);
}

static void
test_cidr_sizes(void **state)
{
	(void)state;
	struct scan_net a = {.addr = 0x0a000000, .prefix = 24}, b = {.addr = 0x0a000080, .prefix = 25};
	struct scan_net c = {.addr = 0x0a000001, .prefix = 32}, d = {.addr = 0x0a000000, .prefix = 31};
	assert_int_equal(scan_net_hosts(&a), 254);
	assert_int_equal(scan_net_hosts(&c), 1);
	assert_int_equal(scan_net_hosts(&d), 2);
	assert_true(scan_net_contains(&a, &b));
	assert_false(scan_net_contains(&b, &a));
	assert_true(scan_net_contains(&a, &c));
	struct scan_net allowed[] = {{.addr = 0xc0a80000, .prefix = 16}, {.addr = 0x0a000000, .prefix = 24}};
	assert_int_equal(scan_allowed(allowed, 2, &b), 1);
	struct scan_net out = {.addr = 0x0a000100, .prefix = 24};
	assert_int_equal(scan_allowed(allowed, 2, &out), -1);
}

static void
test_expand(void **state)
{
	(void)state;
	struct scan_net nets[3];
	char err[256];
	assert_int_equal(scan_parse_net_list("10.0.0.0/30, 10.0.0.1,10.0.0.8/31", nets, 3, err, sizeof err), 3);
	uint32_t *h = NULL;
	int n = scan_expand(nets, 3, 16, &h, err, sizeof err);
	/* /30: .1 .2; /32: .1 (duplicate); /31: .8 .9 */
	assert_int_equal(n, 4);
	assert_int_equal(h[0], 0x0a000001u);
	assert_int_equal(h[1], 0x0a000002u);
	assert_int_equal(h[2], 0x0a000008u);
	assert_int_equal(h[3], 0x0a000009u);
	free(h);
	/* the host limit: a /22 is 1022 hosts */
	assert_int_equal(scan_parse_net_list("10.0.0.0/22", nets, 3, err, sizeof err), 1);
	assert_int_equal(scan_expand(nets, 1, 1021, &h, err, sizeof err), MW_ETOOBIG);
	assert_non_null(strstr(err, "scan_max_hosts"));
	assert_non_null(strstr(err, "10.0.0.0/22"));
	n = scan_expand(nets, 1, 1022, &h, err, sizeof err);
	assert_int_equal(n, 1022);
	free(h);
	/* a /0 never allocates past the limit */
	struct scan_net all = {.addr = 0, .prefix = 0};
	assert_int_equal(scan_expand(&all, 1, 65536, &h, err, sizeof err), MW_ETOOBIG);
	/* list limit */
	assert_int_equal(scan_parse_net_list("10.0.0.0/24,10.0.1.0/24,10.0.2.0/24,10.0.3.0/24", nets, 3, err, sizeof err),
	    MW_ETOOBIG);
	assert_int_equal(scan_parse_net_list("10.0.0.0/24,nonsense", nets, 3, err, sizeof err), MW_EINVAL);
	assert_non_null(strstr(err, "nonsense"));
	assert_int_equal(scan_parse_net_list("", nets, 3, err, sizeof err), 0);
}

static void
test_ports(void **state)
{
	(void)state;
	uint16_t p[16];
	char err[256];
	assert_int_equal(scan_parse_port_list("22, 80,8000-8003,80", p, 16, err, sizeof err), 6);
	assert_int_equal(p[0], 22);
	assert_int_equal(p[5], 8003);
	assert_int_equal(scan_parse_port_list("0", p, 16, err, sizeof err), MW_EINVAL);
	assert_non_null(strstr(err, "\"0\""));
	assert_int_equal(scan_parse_port_list("65536", p, 16, err, sizeof err), MW_EINVAL);
	assert_int_equal(scan_parse_port_list("90-80", p, 16, err, sizeof err), MW_EINVAL);
	assert_int_equal(scan_parse_port_list("http", p, 16, err, sizeof err), MW_EINVAL);
	assert_int_equal(scan_parse_port_list("1-17", p, 16, err, sizeof err), MW_ETOOBIG);
	assert_non_null(strstr(err, "scan_max_ports"));
	assert_int_equal(scan_parse_port_list("1-16", p, 16, err, sizeof err), 16);
	int n;
	const uint16_t *def = scan_default_ports(&n);
	assert_true(n >= 90);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			assert_int_not_equal(def[i], def[j]);
}

static void
on_entry(void *ctx, const char *ip, const char *mac)
{
	char *out = ctx;
	strcat(out, ip);
	strcat(out, "=");
	strcat(out, mac);
	strcat(out, ";");
}

static void
test_arp(void **state)
{
	(void)state;
	const char *text = "IP address       HW type     Flags       HW address            Mask     Device\n"
	                   "10.9.0.2         0x1         0x2         02:11:22:33:44:55     *        eth0\n"
	                   "10.9.0.3         0x1         0x0         00:00:00:00:00:00     *        eth0\n"
	                   "10.9.0.4         0x1         0x6         52:54:00:aa:bb:cc     *        eth0\n";
	char out[256] = "";
	assert_int_equal(scanner_parse_arp(text, on_entry, out), 2);
	assert_string_equal(out, "10.9.0.2=02:11:22:33:44:55;10.9.0.4=52:54:00:aa:bb:cc;");
}

static void
test_service_hostname(void **state)
{
	(void)state;
	char h[64];
	scanner_service_hostname("220 mail.example.test ESMTP ready", NULL, h, sizeof h);
	assert_string_equal(h, "mail.example.test");
	scanner_service_hostname("220 Welcome to FTP", NULL, h, sizeof h);
	assert_string_equal(h, "");
	scanner_service_hostname(NULL, "C=NL, O=x, CN=box.lan", h, sizeof h);
	assert_string_equal(h, "box.lan");
	scanner_service_hostname(NULL, "CN=*.wild.test", h, sizeof h);
	assert_string_equal(h, "");
	scanner_service_hostname("SSH-2.0-OpenSSH_9.2", NULL, h, sizeof h);
	assert_string_equal(h, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_sizes),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_service_hostname),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
