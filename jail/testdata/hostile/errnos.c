/* Calls refused with an errno rather than a kill; prints each result. */
#include "hostile.h"
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <termios.h>

int main(void)
{
	REPORT("memfd_create", syscall(SYS_memfd_create, "x", 0));
	REPORT("clone3", syscall(SYS_clone3, NULL, 0));
	REPORT("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
	REPORT("setuid", syscall(SYS_setuid, 0));
	REPORT("chown", chown("in.txt", 0, 0));
	REPORT("symlink", symlink("in.txt", "s"));
	REPORT("TIOCSTI", ioctl(0, TIOCSTI, "x"));
	/* the same ioctl with high bits set in the command */
	REPORT("TIOCSTI-hi", syscall(SYS_ioctl, 0, 0x100000000L | TIOCSTI, "x"));
	REPORT("F_SETOWN", fcntl(0, F_SETOWN, 1));
	REPORT("F_GETFL", fcntl(0, F_GETFL));
	REPORT("sched_setaffinity", syscall(SYS_sched_setaffinity, 0, 0, NULL));
	REPORT("shmget", syscall(SYS_shmget, 0, 4096, 0));
	return 0;
}
