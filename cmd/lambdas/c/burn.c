/* burn.c: a synthetic build step, the thunk that `lkv graph gen` writes
 * graphs of. It is an ordinary program, run in raw mode:
 *
 *   burn [-t TIMEFILE] CPU_MS SIZE OUT [INPUT...]
 *
 * It reads every INPUT, keeps the CPU busy until the process has used
 * CPU_MS milliseconds of CPU time (reading the inputs counts), and writes
 * the file OUT: SIZE bytes that depend only on the arguments and on the
 * inputs' contents, so that a retry writes the same bytes. With -t it also
 * writes TIMEFILE: the wall-clock start and end of the run in nanoseconds
 * ("START END\n"), for tests that check how many runs overlapped.
 *
 * The bytes of OUT: h is 64-bit FNV-1a over each argument after the
 * options followed by a 0 byte, then over each input's contents, taken as
 * little-endian 64-bit words (h = (h ^ w) * prime) with the last partial
 * word byte by byte; OUT is the xorshift64* stream seeded with h (1 if h
 * is 0), each value written as 8 little-endian bytes.
 *
 * Build:  gcc -static -O2 -o burn cmd/lambdas/c/burn.c
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static volatile uint64_t sink; /* keeps the busy loop from being optimised away */

static uint64_t mix_bytes(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

static uint64_t mix_words(uint64_t h, const unsigned char *p, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8); /* x86-64: little-endian */
		h = (h ^ w) * FNV_PRIME;
	}
	return mix_bytes(h, p + i, n - i);
}

/* mix_file folds a file's contents into h; -1 on error. */
static int mix_file(uint64_t *h, const char *path, long long *total)
{
	static unsigned char buf[1 << 16];
	unsigned char carry[8];
	size_t ncarry = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	for (;;) {
		size_t n = fread(buf, 1, sizeof buf, f);
		if (n == 0)
			break;
		*total += (long long)n;
		size_t off = 0;
		/* Complete a word left over from the last read first. */
		while (ncarry > 0 && ncarry < 8 && off < n)
			carry[ncarry++] = buf[off++];
		if (ncarry == 8) {
			*h = mix_words(*h, carry, 8);
			ncarry = 0;
		}
		size_t whole = (n - off) / 8 * 8;
		*h = mix_words(*h, buf + off, whole);
		off += whole;
		while (off < n)
			carry[ncarry++] = buf[off++];
	}
	int bad = ferror(f);
	fclose(f);
	if (bad)
		return -1;
	*h = mix_bytes(*h, carry, ncarry);
	return 0;
}

static long long now_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int write_output(const char *path, uint64_t seed, long long size)
{
	static unsigned char buf[1 << 16];
	uint64_t x = seed ? seed : 1;
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	while (size > 0) {
		size_t n = size < (long long)sizeof buf ? (size_t)size : sizeof buf;
		for (size_t i = 0; i < n; i += 8) {
			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			uint64_t v = x * 0x2545F4914F6CDD1DULL;
			memcpy(buf + i, &v, 8); /* buf has room: its size is a multiple of 8 */
		}
		if (fwrite(buf, 1, n, f) != n) {
			fclose(f);
			return -1;
		}
		size -= (long long)n;
	}
	return fclose(f);
}

static int parse_count(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	long long start = now_ns(CLOCK_REALTIME);
	const char *timefile = NULL;
	int i = 1;
	if (argc > 2 && strcmp(argv[1], "-t") == 0) {
		timefile = argv[2];
		i = 3;
	}
	long long cpu_ms, size;
	if (argc - i < 3 || parse_count(argv[i], &cpu_ms) || parse_count(argv[i + 1], &size)) {
		fprintf(stderr, "usage: burn [-t TIMEFILE] CPU_MS SIZE OUT [INPUT...]\n");
		return 2;
	}
	const char *out = argv[i + 2];
	uint64_t h = FNV_OFFSET;
	for (int j = i; j < argc; j++)
		h = mix_bytes(h, (const unsigned char *)argv[j], strlen(argv[j]) + 1);
	long long read = 0;
	for (int j = i + 3; j < argc; j++) {
		if (mix_file(&h, argv[j], &read) < 0) {
			fprintf(stderr, "burn: read %s: %s\n", argv[j], strerror(errno));
			return 1;
		}
	}

	uint64_t x = h | 1;
	while (now_ns(CLOCK_PROCESS_CPUTIME_ID) < cpu_ms * 1000000LL) {
		for (int k = 0; k < 1 << 16; k++)
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		sink = x;
	}

	if (write_output(out, h, size) < 0) {
		fprintf(stderr, "burn: write %s: %s\n", out, strerror(errno));
		return 1;
	}
	if (timefile) {
		FILE *f = fopen(timefile, "w");
		if (!f || fprintf(f, "%lld %lld\n", start, now_ns(CLOCK_REALTIME)) < 0 || fclose(f)) {
			fprintf(stderr, "burn: write %s: %s\n", timefile, strerror(errno));
			return 1;
		}
	}
	printf("burn: %d inputs, %lld bytes, hash %016llx; wrote %s, %lld bytes, cpu %lld ms\n",
	       argc - i - 3, read, (unsigned long long)h, out, size,
	       now_ns(CLOCK_PROCESS_CPUTIME_ID) / 1000000LL);
	return 0;
}
