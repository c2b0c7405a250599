/* docker: containers and networks of the local container engine, read
   from its API over the unix socket (GET /containers/json, /networks).
   Blocking with a short timeout: call from a worker thread (the scanner's),
   never from the prober's event loop. */
#ifndef MESHWATCH_DOCKER_H
#define MESHWATCH_DOCKER_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/limits.h" /* DOCKER_MAX_CONTAINERS, DOCKER_MAX_PORTS, DOCKER_MAX_BODY */
#include "meshwatch/util.h"

struct docker_port {
	uint16_t port;         /* inside the container */
	uint16_t public_port;  /* published on the host, 0 when not */
	char proto[4];         /* "tcp" or "udp" */
};

struct docker_container {
	char id[16];           /* short id */
	char name[128];
	char image[128];
	char state[16];
	char network[64];      /* first network with an address */
	/* labels used to name what runs in it: meshwatch.service (an
	   explicit service name), org.opencontainers.image.title and
	   com.docker.compose.service ("" when absent) */
	char label_service[64];
	char label_title[64];
	char compose_service[64];
	char ip[16];
	char mac[18];
	int nports;
	struct docker_port ports[DOCKER_MAX_PORTS];
};

struct docker_network {
	char name[64];
	char subnet[20];
	char driver[16];
};

/* Parses a /containers/json body into out (at most max). Containers
   without an IPv4 address are kept with ip "". Returns the count or
   MW_EINVAL when the body is not the expected JSON array. */
int docker_parse_containers(const char *json, size_t len, struct docker_container *out, int max) MW_MUST_CHECK;
/* Parses a /networks body into out (at most max); networks without an
   IPv4 subnet are kept with subnet "". Count or MW_EINVAL. */
int docker_parse_networks(const char *json, size_t len, struct docker_network *out, int max) MW_MUST_CHECK;

/* GET path over the unix socket at sock_path (HTTP/1.0, Connection:
   close): 0 with the malloc'd body in *body, or MW_EIO/MW_ETOOBIG/
   MW_EINVAL with a reason in err. Blocks up to timeout_ms per read. */
int docker_get(const char *sock_path, const char *path, int timeout_ms, char **body, size_t *len, char *err,
    size_t errlen);

#endif
