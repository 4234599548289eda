/* UDP datagram to 127.0.0.1:argv[1]. */
#include "hostile.h"
#include <arpa/inet.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	REPORT("socket", s);
	REPORT("sendto", sendto(s, "hello", 5, 0, (struct sockaddr *)&a, sizeof a));
	return 0;
}
