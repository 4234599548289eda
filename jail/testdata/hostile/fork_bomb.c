/* fork() forever; each child creates argv[1].N so that escapes show. */
#include "hostile.h"
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	for (int i = 0; i < 10000; i++) {
		pid_t p = argc > 2 ? (pid_t)syscall(SYS_vfork) : fork();
		if (p == 0) {
			char name[4096];
			snprintf(name, sizeof name, "%s.%d", argv[1], i);
			close(open(name, O_WRONLY | O_CREAT, 0666));
			for (;;)
				pause();
		}
		if (p < 0) {
			REPORT("fork", p);
			return 1;
		}
	}
	return 0;
}
