/* Fuzzes the /nodeinfo answer parser: whatever a peer sends must be
   rejected or bounded, never read out of bounds or leaked. */
#include <stdint.h>
#include <stdlib.h>

#include "meshwatch/gossip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peer_news who, *list = NULL;
	int n = 0, dropped = 0;
	char why[160];
	if (gossip_parse_nodeinfo((const char *)data, size, 64, &who, &list, &n, &dropped, NULL, why, sizeof why) == 0) {
		if (n > 64 || n < 0 || dropped < 0 || who.incarnation > MEMBERSHIP_INCARNATION_MAX)
			abort();
		for (int i = 0; i < n; i++)
			if (gossip_check_identity(&list[i], 0) != NULL)
				abort(); /* an entry that passed parsing must be valid */
			else if (list[i].incarnation > MEMBERSHIP_INCARNATION_MAX || list[i].port < 1 || list[i].port > 65535)
				abort(); /* every gossiped number within its range */
	}
	free(list);
	return 0;
}
