/* scan: parsing and expansion of scan targets (see scan.h). Everything is
   bounded by the caller's limits before any memory is taken for it. */
#include "meshwatch/scan.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/util.h"

/* Common TCP services (numbers from the IANA registry and common use). */
static const uint16_t default_ports[] = {
	21, 22, 23, 25, 53, 80, 81, 88, 110, 111, 135, 139, 143, 161, 179, 389, 443, 445, 465, 514, 515, 548,
	554, 587, 631, 636, 873, 902, 993, 995, 1080, 1194, 1433, 1521, 1723, 1883, 1900, 2049, 2181, 2375, 2376,
	2379, 3000, 3128, 3268, 3306, 3389, 3478, 4369, 5000, 5001, 5060, 5222, 5353, 5432, 5555, 5601, 5672,
	5900, 5984, 6379, 6443, 6660, 7000, 7001, 7474, 8000, 8008, 8080, 8081, 8086, 8088, 8123, 8200, 8300,
	8333, 8443, 8500, 8883, 8888, 9000, 9001, 9042, 9090, 9091, 9092, 9100, 9200, 9300, 9418, 9443, 10000,
	11211, 15672, 25565, 27017, 32400, 51413,
};

const uint16_t *
scan_default_ports(int *n)
{
	*n = (int)MW_ARRAY_LEN(default_ports);
	return default_ports;
}

static uint32_t
mask_of(int prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int
scan_parse_cidr(const char *s, struct scan_net *out, char *err, size_t errlen)
{
	char buf[64];
	if (strlen(s) >= sizeof buf) {
		snprintf(err, errlen, "\"%.40s...\" is not an IPv4 CIDR block like 192.168.1.0/24", s);
		return MW_EINVAL;
	}
	snprintf(buf, sizeof buf, "%s", s);
	char *slash = strchr(buf, '/');
	long prefix = 32;
	if (slash) {
		*slash = '\0';
		char *end;
		prefix = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || prefix < 0 || prefix > 32) {
			snprintf(err, errlen, "\"%s\": the prefix length must be a number from 0 to 32", s);
			return MW_EINVAL;
		}
	}
	struct in_addr a;
	if (inet_pton(AF_INET, buf, &a) != 1) {
		snprintf(err, errlen, "\"%s\" is not an IPv4 CIDR block like 192.168.1.0/24", s);
		return MW_EINVAL;
	}
	uint32_t v = ntohl(a.s_addr);
	if (v & ~mask_of((int)prefix)) {
		char net[32];
		struct scan_net fixed = {.addr = v & mask_of((int)prefix), .prefix = (int)prefix};
		snprintf(err, errlen, "\"%s\" has host bits set (the block is %s)", s, scan_net_format(&fixed, net, sizeof net));
		return MW_EINVAL;
	}
	out->addr = v;
	out->prefix = (int)prefix;
	return 0;
}

char *
scan_net_format(const struct scan_net *n, char *out, size_t outlen)
{
	snprintf(out, outlen, "%u.%u.%u.%u/%d", n->addr >> 24, (n->addr >> 16) & 255, (n->addr >> 8) & 255,
	    n->addr & 255, n->prefix);
	return out;
}

uint64_t
scan_net_hosts(const struct scan_net *n)
{
	uint64_t size = 1ull << (32 - n->prefix);
	return n->prefix >= 31 ? size : size - 2;
}

int
scan_net_has(const struct scan_net *n, uint32_t addr)
{
	return (addr & mask_of(n->prefix)) == n->addr;
}

int
scan_net_contains(const struct scan_net *outer, const struct scan_net *inner)
{
	return inner->prefix >= outer->prefix && scan_net_has(outer, inner->addr);
}

int
scan_allowed(const struct scan_net *allowed, int nallowed, const struct scan_net *req)
{
	for (int i = 0; i < nallowed; i++)
		if (scan_net_contains(&allowed[i], req))
			return i;
	return -1;
}

/* Calls fn on each comma-separated, space-trimmed item of s. */
static int
each_item(const char *s, int (*fn)(const char *item, void *ctx), void *ctx)
{
	const char *p = s;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		size_t len = (size_t)(e - p);
		while (len > 0 && p[len - 1] == ' ')
			len--;
		char item[64];
		if (len >= sizeof item)
			len = sizeof item - 1;
		memcpy(item, p, len);
		item[len] = '\0';
		int rc = fn(item, ctx);
		if (rc != 0)
			return rc;
		p = e;
	}
	return 0;
}

struct net_ctx {
	struct scan_net *out;
	int n, max;
	char *err;
	size_t errlen;
};

static int
add_net(const char *item, void *arg)
{
	struct net_ctx *c = arg;
	if (c->n >= c->max) {
		snprintf(c->err, c->errlen, "more than %d subnets", c->max);
		return MW_ETOOBIG;
	}
	if (scan_parse_cidr(item, &c->out[c->n], c->err, c->errlen) != 0)
		return MW_EINVAL;
	c->n++;
	return 0;
}

int
scan_parse_net_list(const char *s, struct scan_net *out, int max, char *err, size_t errlen)
{
	struct net_ctx c = {out, 0, max, err, errlen};
	int rc = each_item(s, add_net, &c);
	return rc ? rc : c.n;
}

int
scan_ports_add(uint16_t *list, int *n, int max, const uint16_t *add, int nadd)
{
	for (int i = 0; i < nadd; i++) {
		int dup = 0;
		for (int j = 0; j < *n && !dup; j++)
			dup = list[j] == add[i];
		if (dup)
			continue;
		if (*n >= max)
			return MW_ETOOBIG;
		list[(*n)++] = add[i];
	}
	return 0;
}

struct port_ctx {
	uint16_t *out;
	int n, max;
	char *err;
	size_t errlen;
};

static int
add_ports(const char *item, void *arg)
{
	struct port_ctx *c = arg;
	char *end;
	long lo = strtol(item, &end, 10), hi = lo;
	if (end != item && *end == '-') {
		const char *h = end + 1;
		hi = strtol(h, &end, 10);
		if (end == h)
			hi = -1;
	}
	if (end == item || *end || lo < 1 || lo > 65535 || hi < lo || hi > 65535) {
		snprintf(c->err, c->errlen, "\"%s\" is not a port (1-65535) or a range like 8000-8010", item);
		return MW_EINVAL;
	}
	for (long p = lo; p <= hi; p++) {
		uint16_t v = (uint16_t)p;
		if (scan_ports_add(c->out, &c->n, c->max, &v, 1) != 0) {
			snprintf(c->err, c->errlen, "more than %d ports (scan_max_ports)", c->max);
			return MW_ETOOBIG;
		}
	}
	return 0;
}

int
scan_parse_port_list(const char *s, uint16_t *out, int max, char *err, size_t errlen)
{
	struct port_ctx c = {out, 0, max, err, errlen};
	int rc = each_item(s, add_ports, &c);
	return rc ? rc : c.n;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int
scan_expand(const struct scan_net *nets, int n, int max_hosts, uint32_t **out, char *err, size_t errlen)
{
	uint64_t total = 0;
	char buf[32];
	for (int i = 0; i < n; i++) {
		total += scan_net_hosts(&nets[i]);
		if (total > (uint64_t)max_hosts) {
			snprintf(err, errlen, "%s brings the scan to more than %d hosts (scan_max_hosts)",
			    scan_net_format(&nets[i], buf, sizeof buf), max_hosts);
			return MW_ETOOBIG;
		}
	}
	uint32_t *h = malloc((total ? total : 1) * sizeof *h);
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return MW_ENOMEM;
	}
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		uint64_t size = 1ull << (32 - nets[i].prefix);
		uint32_t first = nets[i].addr, last = (uint32_t)(nets[i].addr + size - 1);
		if (nets[i].prefix < 31) {
			first++;
			last--;
		}
		for (uint64_t a = first; a <= last; a++)
			h[k++] = (uint32_t)a;
	}
	qsort(h, k, sizeof *h, cmp_u32);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (u == 0 || h[u - 1] != h[i])
			h[u++] = h[i];
	*out = h;
	return (int)u;
}

int
scan_local_subnets(struct scan_net *out, int max)
{
	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) != 0)
		return 0;
	int n = 0;
	for (struct ifaddrs *i = ifa; i && n < max; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_netmask == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		uint32_t a = ntohl(((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr.s_addr);
		uint32_t m = ntohl(((const struct sockaddr_in *)(const void *)i->ifa_netmask)->sin_addr.s_addr);
		int prefix = __builtin_popcount(m);
		struct scan_net net = {.addr = a & mask_of(prefix), .prefix = prefix};
		snprintf(net.ifname, sizeof net.ifname, "%s", i->ifa_name);
		int dup = 0;
		for (int j = 0; j < n; j++)
			dup |= out[j].addr == net.addr && out[j].prefix == net.prefix;
		if (!dup)
			out[n++] = net;
	}
	freeifaddrs(ifa);
	return n;
}
