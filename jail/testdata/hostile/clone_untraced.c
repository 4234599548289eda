/* clone with CLONE_UNTRACED: as a thread (argv[2] == "thread") or as a
 * process; the child creates argv[1]. */
#include "hostile.h"
#include <sched.h>
#include <signal.h>

static char stack[1 << 16];
static const char *path;

static int child(void *arg)
{
	(void)arg;
	close(open(path, O_WRONLY | O_CREAT, 0666));
	return 0;
}

int main(int argc, char **argv)
{
	path = argv[1];
	int flags = CLONE_UNTRACED | SIGCHLD;
	if (argc > 2)
		flags = CLONE_UNTRACED | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
	REPORT("clone", clone(child, stack + sizeof stack, flags, NULL));
	usleep(100000);
	return 0;
}
