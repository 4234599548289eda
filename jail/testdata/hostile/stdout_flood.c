/* Writes to stdout forever. */
#include "hostile.h"

int main(void)
{
	static char buf[1 << 16];
	memset(buf, 'x', sizeof buf);
	for (;;)
		if (write(1, buf, sizeof buf) < 0)
			return 1;
}
