/* io_uring_setup and the old AIO: I/O the seccomp filter cannot see. */
#include "hostile.h"
#include <sys/syscall.h>

int main(void)
{
	char params[120] = {0};
	REPORT("io_uring_setup", syscall(SYS_io_uring_setup, 8, params));
	unsigned long ctx = 0;
	REPORT("io_setup", syscall(SYS_io_setup, 8, &ctx));
	return 0;
}
