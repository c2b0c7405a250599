/* scan: what a scan covers. Parses IPv4 CIDR blocks and port lists,
   expands them into bounded host and port arrays, checks requested blocks
   against the allowed ones, and lists the node's directly connected
   subnets. Pure functions (no I/O except scan_local_subnets), usable from
   any thread. */
#ifndef MESHWATCH_SCAN_H
#define MESHWATCH_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/limits.h" /* SCAN_MAX_NETS, SCAN_PORTS_LIMIT */
#include "meshwatch/util.h"

struct scan_net {
	uint32_t addr;  /* network address, host byte order */
	int prefix;     /* 0..32 */
	char ifname[16]; /* the interface it is connected to (scan_local_subnets), else "" */
};

/* Parses "A.B.C.D/N" (or a bare address = /32). Host bits must be zero
   except for /32. 0, or MW_EINVAL with a sentence in err. */
int scan_parse_cidr(const char *s, struct scan_net *out, char *err, size_t errlen) MW_MUST_CHECK;
/* "A.B.C.D/N" into out (at least 19 bytes). */
char *scan_net_format(const struct scan_net *n, char *out, size_t outlen);
/* Hosts a block holds: /32 one, /31 two, else all but network and broadcast. */
uint64_t scan_net_hosts(const struct scan_net *n);
/* 1 when inner lies within outer. */
int scan_net_contains(const struct scan_net *outer, const struct scan_net *inner);
/* 1 when addr (host order) lies within n. */
int scan_net_has(const struct scan_net *n, uint32_t addr);

/* Parses a comma-separated list of CIDR blocks ("10.0.0.0/24,10.0.1.5")
   into out (at most max). Returns the count or MW_EINVAL/MW_ETOOBIG with
   err naming the bad item. An empty string gives 0. */
int scan_parse_net_list(const char *s, struct scan_net *out, int max, char *err, size_t errlen) MW_MUST_CHECK;

/* Parses "22,80,8000-8010" into out (at most max ports, duplicates
   dropped). Returns the count or MW_EINVAL/MW_ETOOBIG naming the item. */
int scan_parse_port_list(const char *s, uint16_t *out, int max, char *err, size_t errlen) MW_MUST_CHECK;

/* Expands blocks into a sorted, duplicate-free array of host addresses
   (host order, malloc'd into *out). MW_ETOOBIG with err when there are more
   than max_hosts, MW_ENOMEM. Returns the count. */
int scan_expand(const struct scan_net *nets, int n, int max_hosts, uint32_t **out, char *err, size_t errlen);

/* Adds ports (skipping duplicates) to a list of *n entries of capacity
   max; MW_ETOOBIG when it would overflow. */
int scan_ports_add(uint16_t *list, int *n, int max, const uint16_t *add, int nadd);

/* The built-in list of common service ports. */
const uint16_t *scan_default_ports(int *n);

/* The node's directly connected IPv4 subnets (interfaces that are up,
   loopback excluded), at most max, each with its interface's name.
   Returns the count (0 when none). */
int scan_local_subnets(struct scan_net *out, int max);

/* Which allowed block covers req, or -1. */
int scan_allowed(const struct scan_net *allowed, int nallowed, const struct scan_net *req);

#endif
