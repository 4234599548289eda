/* Re-executes itself through /proc/self/exe and through execveat on fd 4
 * (the fd number the launcher used for the lambda). */
#include "hostile.h"
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	char *args[] = {"again", "again", NULL};
	char *env[] = {NULL};
	if (argc > 1) {
		puts("re-executed!");
		return 0;
	}
	int fd = open("/proc/self/exe", O_RDONLY);
	if (fd >= 0 && fd != 4)
		dup2(fd, 4);
	REPORT("execveat", syscall(SYS_execveat, 4, "", args, env, AT_EMPTY_PATH));
	return 0;
}
