/* TCP connect to 127.0.0.1:argv[1] (a listener the test opened). */
#include "hostile.h"
#include <arpa/inet.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	REPORT("socket", s);
	REPORT("connect", connect(s, (struct sockaddr *)&a, sizeof a));
	REPORT("send", write(s, "hello", 5));
	return 0;
}
