/* rss-test [TOUCH_MIB [FREE_MIB]] [--wait]: touch TOUCH_MIB (default 512) of
 * anonymous memory page by page, then unmap FREE_MIB (default 256) of it.
 *
 * After each step it prints "step K <pid>" on stdout and, with --wait, waits
 * for one byte on stdin (EOF goes on too), so a test can compare the RSS it
 * reads with /proc/PID/status at each step. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void step(int k, int wait)
{
	char c;

	printf("step %d %d\n", k, (int)getpid());
	fflush(stdout);
	if (!wait) {
		usleep(300 * 1000);
		return;
	}
	while (read(0, &c, 1) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	int wait = 0, nargs = 0;
	long mib[2] = { 512, 256 };
	long page = sysconf(_SC_PAGESIZE);
	char *p;
	size_t len, free_len;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0)
			wait = 1;
		else if (nargs < 2)
			mib[nargs++] = strtol(argv[i], NULL, 10);
	}
	if (mib[0] <= 0 || mib[1] < 0 || mib[1] > mib[0]) {
		fprintf(stderr, "usage: rss-test [TOUCH_MIB [FREE_MIB]] [--wait]\n");
		return 2;
	}
	len = (size_t)mib[0] << 20;
	free_len = (size_t)mib[1] << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "rss-test: mmap: %s\n", strerror(errno));
		return 1;
	}
	/* One write per page: every page faults in on its own. */
	for (size_t off = 0; off < len; off += page)
		p[off] = 1;
	step(1, wait);
	munmap(p + len - free_len, free_len);
	step(2, wait);
	return 0;
}
