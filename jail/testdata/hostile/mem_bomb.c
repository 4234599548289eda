/* Allocates and touches memory (with varied bytes, so that no page is
 * shared or deduplicated) until it fails; argv[1] MiB at most. */
#include "hostile.h"

int main(int argc, char **argv)
{
	long max = argc > 1 ? atol(argv[1]) : 1 << 20;
	for (long i = 0; i < max; i++) {
		char *p = malloc(1 << 20);
		if (!p) {
			printf("malloc failed after %ld MiB\n", i);
			return 1;
		}
		for (long k = 0; k < 1 << 20; k += 4096)
			p[k] = (char)(i * 31 + k);
	}
	printf("allocated %ld MiB\n", max);
	return 0;
}
