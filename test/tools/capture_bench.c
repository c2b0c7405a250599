/* capture_bench FILE [MAX_FLOWS]: how fast meshwatch turns a capture file
   into flows, on one core.
     1. decode + flowtable alone: the file is loaded into memory first, then
        every frame is decoded and counted into the flow table, closing a
        sweep at each second of packet time as the capture thread does;
     2. the node's whole offline pipeline (capture.c: libpcap reading the
        file, decode, flows, rollup), as --pcap runs it.
   Prints one line per part: "<name> packets=N seconds=S pps=R flows=F". */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/capture.h"
#include "meshwatch/config.h"
#include "meshwatch/decode.h"
#include "meshwatch/flowtable.h"
#include "meshwatch/log.h"
#include "meshwatch/util.h"

struct frame {
	int64_t us;
	uint32_t caplen, len;
	size_t off;
};

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: capture_bench FILE [MAX_FLOWS]\n");
		return 2;
	}
	uint32_t max_flows = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 262144;
	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(argv[1], eb);
	if (p == NULL) {
		fprintf(stderr, "capture_bench: %s\n", eb);
		return 1;
	}
	int lt = pcap_datalink(p) == DLT_EN10MB ? DECODE_LINK_ETHERNET : DECODE_LINK_RAW;
	size_t nf = 0, capf = 1 << 20, used = 0, capb = 64 << 20;
	struct frame *fr = malloc(capf * sizeof *fr);
	uint8_t *buf = malloc(capb);
	struct pcap_pkthdr *h;
	const u_char *data;
	while (fr && buf && pcap_next_ex(p, &h, &data) == 1) {
		if (nf == capf) {
			capf *= 2;
			fr = realloc(fr, capf * sizeof *fr);
		}
		uint32_t keep = h->caplen < 160 ? h->caplen : 160; /* the node's default snaplen */
		if (used + keep > capb) {
			capb *= 2;
			buf = realloc(buf, capb);
		}
		if (fr == NULL || buf == NULL)
			break;
		memcpy(buf + used, data, keep);
		fr[nf++] = (struct frame){(int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec, keep, h->len, used};
		used += keep;
	}
	pcap_close(p);
	if (fr == NULL || buf == NULL) {
		fprintf(stderr, "capture_bench: out of memory\n");
		return 1;
	}
	struct flowtable *ft = flowtable_create(max_flows, 12345);
	static struct flow_batch batch;
	double t0 = mw_now_s();
	int64_t sec = 0;
	uint64_t errors = 0;
	for (size_t i = 0; i < nf; i++) {
		int64_t s = fr[i].us / 1000000;
		if (s > sec) {
			flowtable_batch_flush(ft, &batch);
			if (sec)
				flowtable_sweep(ft, fr[i].us, NULL, NULL);
			sec = s;
		}
		struct decoded d;
		if (decode_packet(lt, buf + fr[i].off, fr[i].caplen, fr[i].len, &d) == DECODE_OK)
			flowtable_batch_add(ft, &batch, &d, fr[i].len, fr[i].us);
		else
			errors++;
	}
	flowtable_batch_flush(ft, &batch);
	double el = mw_now_s() - t0;
	printf("decode+flowtable packets=%zu seconds=%.3f pps=%.0f flows=%u errors=%llu\n", nf, el, (double)nf / el,
	    flowtable_count(ft), (unsigned long long)errors);
	flowtable_destroy(ft);
	free(fr);
	free(buf);

	/* the node's pipeline, as --pcap runs it */
	static struct config cfg;
	char err[512], flows_arg[32];
	snprintf(flows_arg, sizeof flows_arg, "%u", max_flows);
	char *cargv[] = {"meshwatch", "--pcap", argv[1], "--bpf", "", "--max-flows", flows_arg, NULL};
	if (config_load(&cfg, 7, cargv, err, sizeof err) != 0) {
		fprintf(stderr, "capture_bench: %s\n", err);
		return 1;
	}
	log_set_level(LOG_WARN);
	struct capture *c = capture_create(&cfg, NULL);
	if (c == NULL || capture_start(c) != 0)
		return 1;
	capture_wait(c);
	struct capture_stats st;
	capture_get_stats(c, &st);
	printf("pipeline packets=%llu seconds=%.3f pps=%.0f flows=%u errors=%llu\n", (unsigned long long)st.packets,
	    st.processing_s, (double)st.packets / st.processing_s, st.flows,
	    (unsigned long long)(st.packets - st.decode[DECODE_OK]));
	capture_destroy(c);
	return 0;
}
