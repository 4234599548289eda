/* Makes argv[1] (default 1000) system calls that the filter traps and the
 * supervisor allows (prctl(PR_GET_TIMERSLACK)), to time one trap. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	long bad = 0;
	for (long i = 0; i < n; i++)
		if (prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) < 0)
			bad++;
	printf("%ld calls, %ld failed\n", n, bad);
	return bad != 0;
}
