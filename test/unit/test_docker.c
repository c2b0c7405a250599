/* Unit tests for docker.c: parsing /containers/json and /networks, and
   docker_get against a fake engine: a unix socket served by a thread in
   this test that answers canned JSON (plain and chunked), an error
   status, garbage, and silence (the timeout). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "meshwatch/docker.h"
#include "meshwatch/util.h"

static const char containers_json[] =
	"[{\"Id\":\"0123456789abcdef0123\",\"Names\":[\"/web\"],\"Image\":\"nginx:1.25\",\"State\":\"running\","
	"\"Labels\":{\"meshwatch.service\":\"Storefront\",\"org.opencontainers.image.title\":\"nginx\","
	"\"com.docker.compose.service\":\"web\",\"other\":\"x\"},"
	"\"Ports\":[{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},"
	"{\"IP\":\"::\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},{\"PrivatePort\":53,\"Type\":\"udp\"}],"
	"\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAddress\":\"172.17.0.2\",\"MacAddress\":\"02:42:ac:11:00:02\"}}}},"
	"{\"Id\":\"fedcba\",\"Names\":[\"/hostnet\"],\"Image\":\"busybox\",\"State\":\"running\",\"Ports\":[],"
	"\"NetworkSettings\":{\"Networks\":{\"host\":{\"IPAddress\":\"\"}}}},"
	"\"junk\"]";

static const char networks_json[] =
	"[{\"Name\":\"bridge\",\"Driver\":\"bridge\",\"IPAM\":{\"Config\":[{\"Subnet\":\"fd00::/64\"},{\"Subnet\":\"172.17.0.0/16\","
	"\"Gateway\":\"172.17.0.1\"}]}},{\"Name\":\"none\",\"Driver\":\"null\",\"IPAM\":{\"Config\":[]}}]";

static void
test_parse(void **state)
{
	(void)state;
	struct docker_container c[4];
	int n = docker_parse_containers(containers_json, strlen(containers_json), c, 4);
	assert_int_equal(n, 2);
	assert_string_equal(c[0].id, "0123456789ab");
	assert_string_equal(c[0].name, "web");
	assert_string_equal(c[0].image, "nginx:1.25");
	assert_string_equal(c[0].ip, "172.17.0.2");
	assert_string_equal(c[0].mac, "02:42:ac:11:00:02");
	assert_string_equal(c[0].network, "bridge");
	assert_string_equal(c[0].label_service, "Storefront");
	assert_string_equal(c[0].label_title, "nginx");
	assert_string_equal(c[0].compose_service, "web");
	assert_string_equal(c[1].label_service, ""); /* no Labels at all */
	assert_int_equal(c[0].nports, 2); /* 80 once (v4 and v6 bindings), 53 */
	assert_int_equal(c[0].ports[0].port, 80);
	assert_int_equal(c[0].ports[0].public_port, 8080);
	assert_string_equal(c[0].ports[1].proto, "udp");
	assert_string_equal(c[1].ip, "");
	assert_int_equal(docker_parse_containers(containers_json, strlen(containers_json), c, 1), 1);
	assert_int_equal(docker_parse_containers("{}", 2, c, 4), MW_EINVAL);
	assert_int_equal(docker_parse_containers("[", 1, c, 4), MW_EINVAL);
	struct docker_network nw[4];
	assert_int_equal(docker_parse_networks(networks_json, strlen(networks_json), nw, 4), 2);
	assert_string_equal(nw[0].name, "bridge");
	assert_string_equal(nw[0].subnet, "172.17.0.0/16");
	assert_string_equal(nw[1].subnet, "");
	assert_int_equal(docker_parse_networks("null", 4, nw, 4), MW_EINVAL);
}

/* The fake engine: one connection per canned answer, in order. */
struct fake {
	char path[108];
	int lfd;
	const char *answers[8];
	int n;
	char last_request[512];
	pthread_t th;
};

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	for (int i = 0; i < f->n; i++) {
		int c = accept(f->lfd, NULL, NULL);
		if (c < 0)
			break;
		ssize_t r = read(c, f->last_request, sizeof f->last_request - 1);
		f->last_request[r > 0 ? r : 0] = '\0';
		if (f->answers[i] && write(c, f->answers[i], strlen(f->answers[i])) < 0)
			break;
		if (f->answers[i] == NULL)
			usleep(400 * 1000); /* silence: the client must time out */
		close(c);
	}
	return NULL;
}

static void
fake_start(struct fake *f)
{
	snprintf(f->path, sizeof f->path, "/tmp/mw-test-docker-%d.sock", (int)getpid());
	unlink(f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->path);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void
fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
}

static void
test_socket(void **state)
{
	(void)state;
	static char plain[4096], chunked[4096];
	snprintf(plain, sizeof plain, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(containers_json), containers_json);
	size_t half = strlen(networks_json) / 2;
	snprintf(chunked, sizeof chunked,
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n", half, (int)half,
	    networks_json, strlen(networks_json) - half, networks_json + half);
	struct fake f = {.answers = {plain, chunked, "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}",
	                     "garbage\r\n\r\n", NULL},
		.n = 5};
	fake_start(&f);
	char *body, err[256];
	size_t len;
	assert_int_equal(docker_get(f.path, "/containers/json", 2000, &body, &len, err, sizeof err), 0);
	assert_non_null(strstr(f.last_request, "GET /containers/json HTTP/1.0\r\n"));
	struct docker_container c[4];
	assert_int_equal(docker_parse_containers(body, len, c, 4), 2);
	free(body);
	assert_int_equal(docker_get(f.path, "/networks", 2000, &body, &len, err, sizeof err), 0);
	struct docker_network nw[4];
	assert_int_equal(docker_parse_networks(body, len, nw, 4), 2);
	free(body);
	assert_int_equal(docker_get(f.path, "/containers/json", 2000, &body, &len, err, sizeof err), MW_EINVAL);
	assert_non_null(strstr(err, "500"));
	assert_null(body);
	assert_int_equal(docker_get(f.path, "/containers/json", 2000, &body, &len, err, sizeof err), MW_EINVAL);
	assert_non_null(strstr(err, "malformed"));
	assert_int_equal(docker_get(f.path, "/containers/json", 100, &body, &len, err, sizeof err), MW_EIO);
	assert_non_null(strstr(err, "no answer in time"));
	fake_stop(&f);
	/* no engine at all */
	assert_int_equal(docker_get(f.path, "/containers/json", 100, &body, &len, err, sizeof err), MW_EIO);
	assert_non_null(strstr(err, f.path));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
