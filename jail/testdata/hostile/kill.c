/* Signals its parent (the node) and every process it may signal, with
 * argv[1] (a signal number the test watches for, never a fatal one). */
#include "hostile.h"
#include <signal.h>

int main(int argc, char **argv)
{
	int sig = atoi(argv[1]);
	if (argc > 2 && strcmp(argv[2], "all") == 0)
		REPORT("kill -1", kill(-1, sig));
	else
		REPORT("kill parent", kill(getppid(), sig));
	return 0;
}
