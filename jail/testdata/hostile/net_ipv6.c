/* TCP connect to [::1]:argv[1], and to ::ffff:127.0.0.1 (IPv4-mapped). */
#include "hostile.h"
#include <arpa/inet.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(atoi(argv[1]))};
	inet_pton(AF_INET6, argc > 2 ? argv[2] : "::1", &a.sin6_addr);
	int s = socket(AF_INET6, SOCK_STREAM, 0);
	REPORT("socket", s);
	REPORT("connect", connect(s, (struct sockaddr *)&a, sizeof a));
	return 0;
}
