/* Unit tests for oui.c: both registry formats, lookups in any MAC
   notation, unknown prefixes, junk lines, a missing file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "meshwatch/oui.h"

static void
test_txt(void **state)
{
	(void)state;
	const char *text = "OUI/MA-L                                                    Organization\n"
	                   "company_id                                                  Organization\n"
	                   "\n"
	                   "00-22-72   (hex)\t\tAmerican Micro-Fuel Device Corp.\n"
	                   "002272     (base 16)\t\tAmerican Micro-Fuel Device Corp.\n"
	                   "\t\t\t\t2181 Buchanan Loop\n"
	                   "\n"
	                   "B8-27-EB   (hex)\t\tRaspberry Pi Foundation\r\n"
	                   "b827eb     (base 16)\t\tRaspberry Pi Foundation\r\n"
	                   "02-42-AC   (hex)\t\t\n"
	                   "zz-zz-zz   (hex)\t\tNobody\n";
	struct oui_db *db = oui_parse(text, strlen(text));
	assert_non_null(db);
	assert_int_equal(oui_count(db), 2);
	assert_string_equal(oui_lookup(db, "b8:27:eb:12:34:56"), "Raspberry Pi Foundation");
	assert_string_equal(oui_lookup(db, "B8-27-EB-12-34-56"), "Raspberry Pi Foundation");
	assert_string_equal(oui_lookup(db, "00:22:72:00:00:01"), "American Micro-Fuel Device Corp.");
	assert_null(oui_lookup(db, "02:42:ac:11:00:02"));
	assert_null(oui_lookup(db, "nonsense"));
	assert_null(oui_lookup(db, NULL));
	assert_null(oui_lookup(NULL, "b8:27:eb:12:34:56"));
	oui_free(db);
}

static void
test_csv(void **state)
{
	(void)state;
	const char *text = "Registry,Assignment,Organization Name,Organization Address\n"
	                   "MA-L,002272,American Micro-Fuel Device Corp.,2181 Buchanan Loop Ferndale WA US 98248 \n"
	                   "MA-L,08EA44,\"Extreme Networks, Inc.\",\"6480 Via Del Oro San Jose CA US 95119 \"\n"
	                   "MA-M,AABBCC1,Too Long,Somewhere\n";
	struct oui_db *db = oui_parse(text, strlen(text));
	assert_int_equal(oui_count(db), 2);
	assert_string_equal(oui_lookup(db, "08:ea:44:00:00:00"), "Extreme Networks, Inc.");
	assert_string_equal(oui_lookup(db, "00:22:72:00:00:00"), "American Micro-Fuel Device Corp.");
	oui_free(db);
}

static void
test_missing(void **state)
{
	(void)state;
	char err[256];
	assert_null(oui_load("/nonexistent/oui.txt", err, sizeof err));
	assert_non_null(strstr(err, "/nonexistent/oui.txt"));
	assert_null(oui_shared("/nonexistent/oui.txt"));
	oui_shared_free();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
