/* Fuzzes the JSON config file parser (node.json) through --config. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "meshwatch/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/mw-fuzz-config-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	static struct config cfg;
	char err[1024];
	char *argv[] = {"meshwatch", "--config", path, NULL};
	int rc = config_load(&cfg, 3, argv, err, sizeof err);
	(void)rc; /* accepted or refused, both are fine: the fuzzer looks for crashes */
	unlink(path);
	return 0;
}
