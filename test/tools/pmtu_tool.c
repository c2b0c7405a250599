/* pmtu_tool: drives udpprobe and pmtu from the command line for the
   namespace integration test (test/integration/netns_pmtu.sh).

     pmtu_tool respond ADDR PORT        runs a responder until SIGINT/SIGTERM
     pmtu_tool probe IP PORT [TIMEOUT_MS TRIES]
                                        prints one JSON object: the PMTU result
                                        and a 20-probe burst's stats

   Exit status: 0 ok, 1 the operation failed (reason on stderr), 2 usage. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/log.h"
#include "meshwatch/pmtu.h"
#include "meshwatch/udpprobe.h"
#include "meshwatch/util.h"

static int
usage(void)
{
	fprintf(stderr, "usage: pmtu_tool respond ADDR PORT\n"
		"       pmtu_tool probe IP PORT [TIMEOUT_MS TRIES]\n");
	return 2;
}

static int
respond(const char *addr, int port)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* Blocked before the responder thread starts, so it inherits the mask
	   and sigwait below is the only receiver. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	char err[256];
	struct udp_responder *r = udp_responder_create(addr, port, err, sizeof err);
	if (r == NULL || udp_responder_start(r, err, sizeof err) != MW_OK) {
		udp_responder_destroy(r);
		fprintf(stderr, "pmtu_tool: %s\n", err);
		return 1;
	}
	printf("listening %s %d\n", addr, udp_responder_port(r));
	fflush(stdout);
	int sig;
	sigwait(&set, &sig);
	struct udp_responder_stats st;
	udp_responder_stats(r, &st);
	udp_responder_destroy(r);
	fprintf(stderr, "pmtu_tool: probes %llu acks %llu dropped_rate %llu malformed %llu\n",
		(unsigned long long)st.probes, (unsigned long long)st.acks,
		(unsigned long long)st.dropped_rate, (unsigned long long)st.malformed);
	return 0;
}

static int
probe(const char *ip, int port, int timeout_ms, int tries)
{
	struct pmtu_opts o = { .timeout_ms = timeout_ms, .tries = tries };
	struct pmtu_result res;
	int64_t t0 = mw_now_ms();
	int rc = pmtu_discover(ip, port, &o, &res);
	int64_t took = mw_now_ms() - t0;
	if (rc != 0) {
		fprintf(stderr, "pmtu_tool: pmtu_discover %s port %d: %s\n", ip, port, mw_strerror(rc));
		return 1;
	}
	struct udp_stats us;
	rc = udpprobe_burst(ip, port, 20, 10, 500, &us);
	if (rc != 0) {
		fprintf(stderr, "pmtu_tool: udpprobe_burst %s port %d: %s\n", ip, port, mw_strerror(rc));
		return 1;
	}
	printf("{\"value\": %d, \"method\": \"%s\", \"probes\": %d, \"black_hole\": %d, "
		"\"local_mtu\": %d, \"icmp_mtu\": %d, \"took_ms\": %lld, "
		"\"burst\": {\"sent\": %d, \"received\": %d, \"rtt_min_ms\": %.3f, "
		"\"rtt_avg_ms\": %.3f, \"rtt_max_ms\": %.3f, \"jitter_ms\": %.3f, \"loss\": %.3f}}\n",
		res.value, res.method, res.probes, res.black_hole, res.local_mtu, res.icmp_mtu,
		(long long)took, us.sent, us.received, us.rtt_min_ms, us.rtt_avg_ms, us.rtt_max_ms,
		us.jitter_ms, us.loss);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *lvl = getenv("PMTU_TOOL_LOG");
	log_set_level(lvl && log_parse_level(lvl) >= 0 ? log_parse_level(lvl) : LOG_WARN);
	if (argc == 4 && strcmp(argv[1], "respond") == 0)
		return respond(argv[2], atoi(argv[3]));
	if ((argc == 4 || argc == 6) && strcmp(argv[1], "probe") == 0)
		return probe(argv[2], atoi(argv[3]), argc == 6 ? atoi(argv[4]) : 0,
			argc == 6 ? atoi(argv[5]) : 0);
	return usage();
}
