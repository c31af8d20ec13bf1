/* churn: mmap/munmap churn — N pairs of mmap(4 KiB, anonymous) and munmap,
 * never touched, so that each pair is two write-locked changes of the VMA
 * tree and no page fault. Prints the time of the loop alone ("loop_ns N").
 *
 *     churn [PAIRS]         (default 1000000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned long pairs = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	uint64_t t0, t1;

	t0 = now_ns();
	for (unsigned long i = 0; i < pairs; i++) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED || munmap(p, 4096) < 0) {
			perror("churn: mmap/munmap");
			return 1;
		}
	}
	t1 = now_ns();
	printf("loop_ns %llu pairs %lu\n", (unsigned long long)(t1 - t0), pairs);
	return 0;
}
