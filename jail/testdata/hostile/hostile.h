/* Helpers shared by the hostile test programs. Each program tries one
 * attack, reports what happened on stdout ("name: ok" or
 * "name: errno N"), and exits; the jail usually kills it first. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPORT(name, r) report(name, (long)(r))

static void report(const char *name, long r)
{
	if (r < 0)
		printf("%s: errno %d\n", name, errno);
	else
		printf("%s: ok %ld\n", name, r);
	fflush(stdout);
}

/* dump prints up to 4 KiB of the file at path, if it can be read. */
__attribute__((unused)) static void dump(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	REPORT(path, fd);
	if (fd < 0)
		return;
	long n = read(fd, buf, sizeof buf);
	if (n > 0)
		fwrite(buf, 1, n, stdout);
	fflush(stdout);
	close(fd);
}
