/* pthread_create until it fails; every thread sleeps. */
#include "hostile.h"
#include <pthread.h>

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	for (int i = 0; i < 100000; i++) {
		pthread_t t;
		int e = pthread_create(&t, NULL, sleeper, NULL);
		if (e) {
			printf("pthread_create %d: error %d\n", i, e);
			return 1;
		}
	}
	return 0;
}
