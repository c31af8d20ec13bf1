/* faults: a page-fault storm — touch SIZE MiB of fresh anonymous memory, one
 * write per 4 KiB page, with transparent huge pages off for the range so that
 * every page is its own fault. Prints the time of the touch loop alone
 * ("loop_ns N") so that a driver can separate the probes' cost from the
 * supervisor's start and end.
 *
 *     faults [MIB]          (default 2048) */
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
	size_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 2048;
	size_t size = mib << 20, page = 4096;
	volatile char *p;
	uint64_t t0, t1;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("faults: mmap");
		return 1;
	}
	madvise((void *)p, size, MADV_NOHUGEPAGE);
	t0 = now_ns();
	for (size_t off = 0; off < size; off += page)
		p[off] = 1;
	t1 = now_ns();
	printf("loop_ns %llu faults %zu\n", (unsigned long long)(t1 - t0), size / page);
	return 0;
}
