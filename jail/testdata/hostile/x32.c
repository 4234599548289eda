/* The x32 ABI: open(argv[1], O_CREAT) with __X32_SYSCALL_BIT. */
#include "hostile.h"

int main(int argc, char **argv)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(0x40000000L | 2), "D"(argv[1]), "S"(O_WRONLY | O_CREAT), "d"(0666)
			 : "rcx", "r11", "memory");
	printf("x32 open: %ld\n", r);
	return 0;
}
