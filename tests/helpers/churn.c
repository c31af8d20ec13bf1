/*
 * churn MAX_MIB HOLD_MIB
 *
 * Allocate and free anonymous memory in a loop (a random size up to MAX_MIB,
 * every page written, then unmapped) until a byte arrives on stdin; then hold
 * HOLD_MIB MiB, print "step 1 PID" and wait for EOF on stdin. The race test of
 * the monitor runs 16 of these while it moves the alert thresholds.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)

static void *touch(size_t bytes)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("churn: mmap");
		exit(1);
	}
	for (size_t o = 0; o < bytes; o += 4096)
		p[o] = 1;
	return p;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: churn MAX_MIB HOLD_MIB\n");
		return 2;
	}
	unsigned long max = strtoul(argv[1], NULL, 10), hold = strtoul(argv[2], NULL, 10);
	if (!max)
		max = 1;
	srand((unsigned)getpid());
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	while (poll(&pfd, 1, 0) == 0) {
		size_t bytes = (1 + (unsigned long)rand() % max) * MIB;
		void *p = touch(bytes);
		munmap(p, bytes);
	}
	char c;
	if (read(0, &c, 1) != 1)
		return 1;
	if (hold)
		touch(hold * MIB);
	printf("step 1 %d\n", (int)getpid());
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
