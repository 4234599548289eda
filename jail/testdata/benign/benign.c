/* A well-behaved lambda. argv[1] is a mode:
 *   echo     print argv, env, stdin and dep "in.txt"; write out.txt and
 *            sub/out2.txt; exit with argv[2] (default 0)
 *   abort    raise SIGABRT
 *   segv     dereference NULL
 *   bigfile  write argv[2] bytes to big.bin
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static void echo(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	for (char **e = environ; *e; e++)
		printf("env %s\n", *e);
	char buf[1 << 16];
	long n = 0, r;
	while ((r = read(0, buf, sizeof buf)) > 0)
		n += r;
	printf("stdin %ld bytes\n", n);
	FILE *f = fopen("in.txt", "r");
	if (f && fgets(buf, sizeof buf, f))
		printf("in.txt: %s", buf);
	FILE *g = fopen("dir/nested.txt", "r");
	if (g && fgets(buf, sizeof buf, g))
		printf("dir/nested.txt: %s", buf);
	FILE *o = fopen("out.txt", "w");
	fprintf(o, "output of %s\n", argv[0]);
	fclose(o);
	mkdir("sub", 0755);
	o = fopen("sub/out2.txt", "w");
	fprintf(o, "nested output\n");
	fclose(o);
	fprintf(stderr, "done\n");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "echo";
	if (strcmp(mode, "abort") == 0)
		abort();
	if (strcmp(mode, "segv") == 0)
		return *(volatile int *)0;
	if (strcmp(mode, "bigfile") == 0) {
		FILE *f = fopen("big.bin", "w");
		static char chunk[4096];
		long want = atol(argv[2]), done = 0;
		while (done < want && fwrite(chunk, 1, sizeof chunk, f) == sizeof chunk)
			done += sizeof chunk;
		printf("wrote %ld\n", done);
		return fclose(f) != 0;
	}
	echo(argc, argv);
	return argc > 2 ? atoi(argv[2]) : 0;
}
