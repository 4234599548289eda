/* clone3 (its flags are in memory, out of the filter's reach); the child
 * would create argv[1]. */
#include "hostile.h"
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	struct clone_args a = {.flags = CLONE_UNTRACED, .exit_signal = SIGCHLD};
	long r = syscall(SYS_clone3, &a, sizeof a);
	if (r == 0) {
		close(open(argv[1], O_WRONLY | O_CREAT, 0666));
		_exit(0);
	}
	REPORT("clone3", r);
	return 0;
}
