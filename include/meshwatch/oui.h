/* oui: MAC address vendors from the IEEE registry as Debian's ieee-data
   package ships it (/usr/share/ieee-data/oui.txt, or oui.csv). The file is
   read once, on the first lookup, into a sorted array of 24-bit prefixes
   and one blob of names (about 1 MB for the whole registry). Thread-safe
   (loading happens under a lock; the table is immutable afterwards). */
#ifndef MESHWATCH_OUI_H
#define MESHWATCH_OUI_H

#include <stddef.h>
#include <stdint.h>

#include "meshwatch/util.h"

struct oui_db;

/* Parses registry text (oui.txt lines "00-22-72   (hex)\t\tName" or
   oui.csv rows "MA-L,002272,Name,...") into a table. NULL only when out
   of memory; unknown lines are skipped. */
struct oui_db *oui_parse(const char *text, size_t len) MW_MUST_CHECK;
/* Reads and parses path; NULL when it cannot be read (reason in err). */
struct oui_db *oui_load(const char *path, char *err, size_t errlen) MW_MUST_CHECK;
void oui_free(struct oui_db *db);
int oui_count(const struct oui_db *db);

/* The vendor of mac ("aa:bb:cc:dd:ee:ff", any case, ':' or '-'), or NULL. */
const char *oui_lookup(const struct oui_db *db, const char *mac);

/* Lazily loaded process-wide table from path (first call decides the
   path). NULL when the file is absent (logged once at debug level). */
const struct oui_db *oui_shared(const char *path);
void oui_shared_free(void);

#endif
