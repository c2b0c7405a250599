/* store_targets: the targets tables and their queries (see store_internal.h). */
#include "store_internal.h"

#include "meshwatch/store.h"

/* Schema version slot reserved; the tables arrive with the targets module. */
const char store_schema_targets[] = "SELECT 1;";
