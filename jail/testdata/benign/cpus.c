/* cpus prints how many CPUs it may run on. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>

int main(void)
{
	cpu_set_t s;
	if (sched_getaffinity(0, sizeof s, &s) != 0)
		return 1;
	printf("%d\n", CPU_COUNT(&s));
	return 0;
}
