/* Fuzzes seed.json and reporting.json parsing through a temporary file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "meshwatch/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/mw-fuzz-seeds-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	struct seed_entry *e = NULL;
	char err[512];
	int n = config_load_seeds(path, 16, &e, err, sizeof err);
	if (n > 16)
		abort();
	free(e);
	e = NULL;
	n = config_load_reporting(path, 16, &e, err, sizeof err);
	if (n > 16)
		abort();
	free(e);
	unlink(path);
	return 0;
}
