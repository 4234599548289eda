/* A netlink route socket (would list or change interfaces). */
#include "hostile.h"
#include <linux/netlink.h>
#include <sys/socket.h>

int main(void)
{
	REPORT("socket", socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
	return 0;
}
