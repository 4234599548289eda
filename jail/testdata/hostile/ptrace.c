/* ptrace of itself or of its parent (the node). */
#include "hostile.h"
#include <sys/ptrace.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "parent") == 0)
		REPORT("attach", ptrace(PTRACE_ATTACH, getppid(), 0, 0));
	else
		REPORT("traceme", ptrace(PTRACE_TRACEME, 0, 0, 0));
	return 0;
}
