/* Symlink and hard-link tricks from the working directory to argv[1]
 * (a secret outside it), then reads through them. */
#include "hostile.h"

int main(int argc, char **argv)
{
	REPORT("symlink", symlink(argv[1], "sym"));
	REPORT("symlink-dir", symlink("/", "root"));
	REPORT("link", link(argv[1], "hard"));
	REPORT("linkat", linkat(AT_FDCWD, argv[1], AT_FDCWD, "hard2", 0));
	REPORT("rename-in", rename(argv[1], "moved"));
	dump("sym");
	dump("hard");
	dump("root/etc/passwd");
	/* An output that is not a regular file: a FIFO and a directory. */
	REPORT("mkfifo", mknod("fifo", S_IFIFO | 0666, 0));
	REPORT("mkdir", mkdir("dir", 0777));
	return 0;
}
