/* /proc: write its own memory, read the node's environment and memory
 * (argv[1] is the node's pid), and process_vm_readv of the node. */
#include "hostile.h"
#include <sys/uio.h>

int main(int argc, char **argv)
{
	char path[256];
	int fd = open("/proc/self/mem", O_RDWR);
	REPORT("/proc/self/mem", fd);
	if (fd >= 0) {
		lseek(fd, (long)&main, SEEK_SET);
		REPORT("write mem", write(fd, "\xcc", 1));
	}
	snprintf(path, sizeof path, "/proc/%s/environ", argv[1]);
	dump(path);
	snprintf(path, sizeof path, "/proc/%s/mem", argv[1]);
	REPORT(path, open(path, O_RDONLY));
	dump("/proc/self/status");
	if (argc > 2) {
		char buf[64];
		struct iovec l = {buf, sizeof buf}, r = {(void *)0x400000, sizeof buf};
		REPORT("process_vm_readv", process_vm_readv(atoi(argv[1]), &l, 1, &r, 1, 0));
	}
	return 0;
}
