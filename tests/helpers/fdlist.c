/*
 * fdlist
 *
 * Prints the file descriptors this process was started with, as one line
 *     fds 0 1 2
 * followed by one line per descriptor, "fd N -> TARGET", and exits 0. The
 * directory stream used to list /proc/self/fd is left out. A test runs it under
 * supervise to see which descriptors supervise leaks into a workload.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	int fds[1024], n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		perror("fdlist: /proc/self/fd");
		return 1;
	}
	struct dirent *de;
	while ((de = readdir(d)) && n < 1024) {
		if (de->d_name[0] == '.')
			continue;
		int fd = atoi(de->d_name);
		if (fd != dirfd(d))
			fds[n++] = fd;
	}
	closedir(d);

	/* readdir order is ascending on procfs, but do not rely on it. */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];
			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}

	printf("fds");
	for (int i = 0; i < n; i++)
		printf(" %d", fds[i]);
	printf("\n");
	for (int i = 0; i < n; i++) {
		char path[64], target[4096];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
		ssize_t len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		printf("fd %d -> %s\n", fds[i], target);
	}
	return 0;
}
