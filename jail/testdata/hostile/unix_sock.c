/* AF_UNIX connect to argv[1]; a leading '@' means the abstract namespace. */
#include "hostile.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
	if (a.sun_path[0] == '@')
		a.sun_path[0] = 0;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	REPORT("socket", s);
	REPORT("connect", connect(s, (struct sockaddr *)&a, sizeof(sa_family_t) + strlen(argv[1])));
	REPORT("send", write(s, "hello", 5));
	return 0;
}
