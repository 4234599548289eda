/* Creates each file named in argv (outside the working directory). */
#include "hostile.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_WRONLY | O_CREAT | O_TRUNC, 0666);
		REPORT(argv[i], fd);
		if (fd >= 0)
			REPORT("write", write(fd, "pwned\n", 6));
	}
	REPORT("mkdir", mkdir("../escape", 0777));
	REPORT("rename", rename("in.txt", "../in.txt"));
	return 0;
}
