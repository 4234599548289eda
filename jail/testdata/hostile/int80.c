/* The i386 ABI from 64-bit code: creat(argv[1]) is i386 syscall 8 (on
 * x86-64, 8 is lseek), via int 0x80. */
#include "hostile.h"

int main(int argc, char **argv)
{
	static char path[256];
	strncpy(path, argv[1], sizeof path - 1); /* int 0x80 takes 32-bit pointers */
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(8), "b"((unsigned)(unsigned long)path), "c"(0666) : "memory");
	printf("int80 creat: %ld\n", r);
	return 0;
}
