/* maps-test N [--wait]: create N separate mappings, then unmap every other one.
 *
 * Step 1 maps N one-page regions with alternating protections so that the
 * kernel cannot merge neighbours (each is its own VMA, map_count grows by N);
 * step 2 unmaps every second one (map_count falls by N/2). After each step it
 * prints "step K <pid>" on stdout and, with --wait, waits for one byte on stdin
 * before going on (EOF goes on too), so a test can compare at each step.
 * Without --wait it pauses 300 ms per step for samplers to see it.
 * vm.max_map_count (65530 by default) bounds N. */
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
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 50000;
	int wait = argc > 2 && strcmp(argv[2], "--wait") == 0;
	long page = sysconf(_SC_PAGESIZE);
	void **maps;

	if (n <= 0) {
		fprintf(stderr, "usage: maps-test N [--wait]\n");
		return 2;
	}
	maps = calloc(n, sizeof(*maps));
	if (!maps)
		return 1;
	for (long i = 0; i < n; i++) {
		maps[i] = mmap(NULL, page, (i & 1) ? PROT_READ : PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (maps[i] == MAP_FAILED) {
			fprintf(stderr, "maps-test: mmap %ld of %ld: %s\n", i, n, strerror(errno));
			return 1;
		}
	}
	step(1, wait);
	for (long i = 0; i < n; i += 2)
		munmap(maps[i], page);
	step(2, wait);
	return 0;
}
