/* Closes stdout early, keeps working, exits 3. */
#include "hostile.h"

int main(void)
{
	close(1);
	fprintf(stderr, "closed stdout\n");
	usleep(20000);
	REPORT("write", write(1, "x", 1));
	return 3;
}
