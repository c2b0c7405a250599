/* Fuzzes mw_parse_time, which reads every time query parameter
   (?from=, ?to=, ?since=): whatever the text, it either refuses it or
   gives a time within [0, MW_TIME_MAX], so handlers may compute
   milliseconds and spans from it without overflow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshwatch/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[64];
	if (size >= sizeof buf)
		size = sizeof buf - 1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	int64_t t = -1;
	int rc = mw_parse_time(buf, &t);
	if (rc == 0 && (t < 0 || t > MW_TIME_MAX))
		abort();
	if (rc != 0 && rc != MW_EINVAL && rc != MW_ETOOBIG)
		abort();
	if (rc == 0) {
		/* what handlers do with it must stay in range */
		int64_t ms = t * 1000;
		if (ms / 1000 != t)
			abort();
	}
	return 0;
}
