/* store_discovery: the discovery tables and their queries (see store_internal.h). */
#include "store_internal.h"

#include "meshwatch/store.h"

/* Schema version slot reserved; the tables arrive with the discovery module. */
const char store_schema_discovery[] = "SELECT 1;";
