/* socketpair: a socket without the network (could pass fds around). */
#include "hostile.h"
#include <sys/socket.h>

int main(void)
{
	int sv[2];
	REPORT("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	return 0;
}
