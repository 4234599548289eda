/* Prints every file named in argv, and lists the directories named with a
 * trailing slash. */
#include "hostile.h"
#include <dirent.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (n > 0 && argv[i][n - 1] == '/') {
			DIR *d = opendir(argv[i]);
			REPORT(argv[i], d ? 0 : -1);
			for (struct dirent *e; d && (e = readdir(d));)
				printf("entry %s\n", e->d_name);
			continue;
		}
		dump(argv[i]);
	}
	return 0;
}
