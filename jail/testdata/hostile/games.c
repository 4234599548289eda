/* prctl and setrlimit games, then a socket to see whether any of them
 * loosened the sandbox. */
#include "hostile.h"
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

int main(void)
{
	struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY}, r;
	REPORT("PR_SET_DUMPABLE", prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
	REPORT("PR_SET_PTRACER", prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0));
	REPORT("PR_SET_SECCOMP", prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0));
	REPORT("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
	REPORT("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
	REPORT("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	REPORT("PR_SET_NAME", prctl(PR_SET_NAME, "games", 0, 0, 0));
	REPORT("setrlimit CPU", setrlimit(RLIMIT_CPU, &inf));
	REPORT("setrlimit NOFILE", setrlimit(RLIMIT_NOFILE, &inf));
	REPORT("setrlimit NPROC", setrlimit(RLIMIT_NPROC, &inf));
	getrlimit(RLIMIT_CPU, &r);
	printf("cpu limit %ld\n", (long)r.rlim_max);
	REPORT("setuid0", setuid(0));
	fflush(stdout);
	REPORT("socket", socket(AF_INET, SOCK_STREAM, 0));
	return 0;
}
