/* Fuzzes the packet decoder: the first byte picks the link type, the rest
   is the frame, copied into a buffer of exactly its size so any read past
   caplen is caught. wirelen is varied too (it must not widen the read). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int links[] = {
		DECODE_LINK_ETHERNET, DECODE_LINK_RAW, DECODE_LINK_SLL, DECODE_LINK_SLL2, DECODE_LINK_IPV4, DECODE_LINK_IPV6, 0,
	};
	if (size < 1)
		return 0;
	int lt = links[data[0] % (sizeof links / sizeof links[0])];
	size_t n = size - 1;
	uint8_t *frame = malloc(n ? n : 1);
	if (frame == NULL)
		return 0;
	memcpy(frame, data + 1, n);
	struct decoded d;
	int rc = decode_packet(lt, frame, (uint32_t)n, (uint32_t)n + data[0], &d);
	if (rc < 0 || rc >= DECODE_NSTATUS)
		abort();
	if (rc == DECODE_OK && d.fragment && (d.sport || d.dport))
		abort(); /* a later fragment never has ports */
	free(frame);
	return 0;
}
