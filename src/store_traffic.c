/* store_traffic: the traffic tables and their queries (see store_internal.h). */
#include "store_internal.h"

#include "meshwatch/store.h"

/* Schema version slot reserved; the tables arrive with the traffic module. */
const char store_schema_traffic[] = "SELECT 1;";
