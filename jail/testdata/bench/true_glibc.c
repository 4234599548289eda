/* A trivial C lambda (static glibc): reads stdin, writes its length. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char buf[4096];
	long n = 0, r;
	while ((r = read(0, buf, sizeof buf)) > 0)
		n += r;
	printf("read %ld\n", n);
	return 0;
}
