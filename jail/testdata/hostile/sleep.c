/* Sleeps forever (uses no CPU). */
#include <unistd.h>
int main(void)
{
	for (;;)
		pause();
}
