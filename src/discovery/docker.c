/* docker: the container engine's API over its unix socket (see docker.h).
   The response is parsed with http_parser (chunked bodies included), the
   JSON with cJSON. */
#include "meshwatch/docker.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "meshwatch/buf.h"
#include "meshwatch/util.h"

static void
copy_str(char *out, size_t outlen, const cJSON *v)
{
	snprintf(out, outlen, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

int
docker_parse_containers(const char *json, size_t len, struct docker_container *out, int max)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return MW_EINVAL;
	}
	int n = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, root) {
		if (n >= max)
			break;
		if (!cJSON_IsObject(c))
			continue;
		struct docker_container *d = &out[n];
		memset(d, 0, sizeof *d);
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "Id");
		if (cJSON_IsString(id))
			snprintf(d->id, sizeof d->id, "%.12s", id->valuestring);
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(c, "Names");
		const cJSON *first = cJSON_IsArray(names) ? cJSON_GetArrayItem(names, 0) : NULL;
		if (cJSON_IsString(first))
			snprintf(d->name, sizeof d->name, "%s", first->valuestring[0] == '/' ? first->valuestring + 1 : first->valuestring);
		copy_str(d->image, sizeof d->image, cJSON_GetObjectItemCaseSensitive(c, "Image"));
		copy_str(d->state, sizeof d->state, cJSON_GetObjectItemCaseSensitive(c, "State"));
		const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
		copy_str(d->label_service, sizeof d->label_service, cJSON_GetObjectItemCaseSensitive(labels, "meshwatch.service"));
		copy_str(d->label_title, sizeof d->label_title,
		    cJSON_GetObjectItemCaseSensitive(labels, "org.opencontainers.image.title"));
		copy_str(d->compose_service, sizeof d->compose_service,
		    cJSON_GetObjectItemCaseSensitive(labels, "com.docker.compose.service"));
		const cJSON *ports = cJSON_GetObjectItemCaseSensitive(c, "Ports"), *p;
		cJSON_ArrayForEach(p, ports) {
			const cJSON *priv = cJSON_GetObjectItemCaseSensitive(p, "PrivatePort");
			const cJSON *pub = cJSON_GetObjectItemCaseSensitive(p, "PublicPort");
			if (!cJSON_IsNumber(priv) || priv->valueint < 1 || priv->valueint > 65535)
				continue;
			int dup = 0;
			for (int k = 0; k < d->nports; k++)
				dup |= d->ports[k].port == priv->valueint;
			if (dup || d->nports >= DOCKER_MAX_PORTS)
				continue;
			struct docker_port *dp = &d->ports[d->nports++];
			dp->port = (uint16_t)priv->valueint;
			dp->public_port = cJSON_IsNumber(pub) && pub->valueint > 0 && pub->valueint < 65536 ? (uint16_t)pub->valueint : 0;
			copy_str(dp->proto, sizeof dp->proto, cJSON_GetObjectItemCaseSensitive(p, "Type"));
			if (dp->proto[0] == '\0')
				snprintf(dp->proto, sizeof dp->proto, "tcp");
		}
		const cJSON *ns = cJSON_GetObjectItemCaseSensitive(c, "NetworkSettings");
		const cJSON *nets = cJSON_GetObjectItemCaseSensitive(ns, "Networks"), *net;
		cJSON_ArrayForEach(net, nets) {
			const cJSON *ip = cJSON_GetObjectItemCaseSensitive(net, "IPAddress");
			if (!cJSON_IsString(ip) || ip->valuestring[0] == '\0' || strlen(ip->valuestring) >= sizeof d->ip)
				continue;
			snprintf(d->ip, sizeof d->ip, "%s", ip->valuestring);
			snprintf(d->network, sizeof d->network, "%s", net->string ? net->string : "");
			copy_str(d->mac, sizeof d->mac, cJSON_GetObjectItemCaseSensitive(net, "MacAddress"));
			break;
		}
		n++;
	}
	cJSON_Delete(root);
	return n;
}

int
docker_parse_networks(const char *json, size_t len, struct docker_network *out, int max)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return MW_EINVAL;
	}
	int n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, root) {
		if (n >= max)
			break;
		if (!cJSON_IsObject(e))
			continue;
		struct docker_network *d = &out[n++];
		memset(d, 0, sizeof *d);
		copy_str(d->name, sizeof d->name, cJSON_GetObjectItemCaseSensitive(e, "Name"));
		copy_str(d->driver, sizeof d->driver, cJSON_GetObjectItemCaseSensitive(e, "Driver"));
		const cJSON *ipam = cJSON_GetObjectItemCaseSensitive(e, "IPAM");
		const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(ipam, "Config"), *c;
		cJSON_ArrayForEach(c, cfg) {
			const cJSON *sn = cJSON_GetObjectItemCaseSensitive(c, "Subnet");
			if (cJSON_IsString(sn) && strchr(sn->valuestring, '.') && strlen(sn->valuestring) < sizeof d->subnet) {
				snprintf(d->subnet, sizeof d->subnet, "%s", sn->valuestring);
				break;
			}
		}
	}
	cJSON_Delete(root);
	return n;
}

struct body {
	struct mw_buf b; /* at most DOCKER_MAX_BODY */
	int too_big, done;
};

static int
on_body(http_parser *hp, const char *at, size_t len)
{
	struct body *b = hp->data;
	if (mw_buf_append(&b->b, at, len) != 0) {
		b->too_big = 1;
		return 1;
	}
	return 0;
}

static int
on_complete(http_parser *hp)
{
	((struct body *)hp->data)->done = 1;
	return 0;
}

int
docker_get(const char *sock_path, const char *path, int timeout_ms, char **body, size_t *len, char *err,
    size_t errlen)
{
	*body = NULL;
	*len = 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock_path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "socket path %s is too long", sock_path);
		return MW_EINVAL;
	}
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return MW_EIO;
	}
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int rc = MW_EIO;
	struct body b = {0};
	mw_buf_init(&b.b, DOCKER_MAX_BODY);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		snprintf(err, errlen, "%s: %s", sock_path, strerror(errno));
		goto out;
	}
	char req[512];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: docker\r\nUser-Agent: meshwatch/%s\r\n\r\n", path,
	    MW_VERSION);
	if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
		snprintf(err, errlen, "%s: cannot send the request", sock_path);
		goto out;
	}
	http_parser_settings settings;
	http_parser_settings_init(&settings);
	settings.on_body = on_body;
	settings.on_message_complete = on_complete;
	http_parser hp;
	http_parser_init(&hp, HTTP_RESPONSE);
	hp.data = &b;
	char buf[16384];
	while (!b.done) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", sock_path, errno == EAGAIN ? "no answer in time" : strerror(errno));
			goto out;
		}
		size_t used = http_parser_execute(&hp, &settings, buf, (size_t)r);
		if (b.too_big) {
			snprintf(err, errlen, "%s: answer larger than %d bytes", sock_path, DOCKER_MAX_BODY);
			rc = MW_ETOOBIG;
			goto out;
		}
		if (HTTP_PARSER_ERRNO(&hp) != HPE_OK || used != (size_t)r) {
			snprintf(err, errlen, "%s: malformed HTTP answer (%s)", sock_path,
			    http_errno_description(HTTP_PARSER_ERRNO(&hp)));
			rc = MW_EINVAL;
			goto out;
		}
		if (r == 0)
			break;
	}
	if (!b.done || hp.status_code != 200) {
		snprintf(err, errlen, "%s: GET %s answered %s %u", sock_path, path, b.done ? "status" : "incompletely, status",
		    hp.status_code);
		rc = MW_EINVAL;
		goto out;
	}
	*body = mw_buf_take(&b.b, len);
	rc = *body ? 0 : MW_ENOMEM;
out:
	mw_buf_finish(&b.b);
	close(fd);
	return rc;
}
