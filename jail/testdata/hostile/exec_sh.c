/* execve /bin/sh to create argv[1]. */
#include "hostile.h"

int main(int argc, char **argv)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "echo pwned > %s", argv[1]);
	char *args[] = {"/bin/sh", "-c", cmd, NULL};
	char *env[] = {NULL};
	REPORT("execve", execve("/bin/sh", args, env));
	return 0;
}
