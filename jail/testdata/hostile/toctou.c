/* One thread keeps swapping a path buffer between "in.txt" (in the
 * working directory) and argv[1] (a secret outside it) while another
 * opens and reads whatever the buffer names, for argv[2] milliseconds.
 * Prints every read that was not in.txt's content. */
#include "hostile.h"
#include <pthread.h>
#include <time.h>

static char path[4096];
static const char *secret;
static volatile int stop;

static void *swapper(void *arg)
{
	(void)arg;
	while (!stop) {
		strcpy(path, "in.txt");
		strcpy(path, secret);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	secret = argv[1];
	strcpy(path, "in.txt");
	pthread_t t;
	pthread_create(&t, NULL, swapper, NULL);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long tries = 0, opened = 0, leaked = 0;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > atol(argv[2]))
			break;
		tries++;
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		opened++;
		char buf[256] = {0};
		long n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0 && strncmp(buf, "benign", 6) != 0) {
			leaked++;
			printf("LEAK: %s\n", buf);
		}
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("tries %ld opened %ld leaked %ld\n", tries, opened, leaked);
	return 0;
}
