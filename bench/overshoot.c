/* overshoot: an allocator paced at RATE MiB/s (default 1024) that touches up to
 * MAX MiB (default 4096) in 4 MiB steps and records, after every step, how much
 * it has touched in a shared file (PROGRESS: two u64, bytes and ns since start).
 * Killed at a budget, the file says how far past the budget it really got: the
 * overshoot, independent of what the supervisor measured.
 *
 *   overshoot PROGRESS [RATE_MIB_S] [MAX_MIB]
 *
 * It asks for transparent huge pages (MADV_HUGEPAGE); when faulting is still
 * slower than RATE it runs as fast as it can; the file's ns says the rate
 * reached. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024ull * 1024ull)
#define STEP (4 * MIB)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: overshoot PROGRESS [RATE_MIB_S] [MAX_MIB]\n");
		return 2;
	}
	double rate = argc > 2 ? atof(argv[2]) : 1024;
	uint64_t max = (argc > 3 ? strtoull(argv[3], NULL, 10) : 4096) * MIB;
	int fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 2 * sizeof(uint64_t)) < 0) {
		perror(argv[1]);
		return 2;
	}
	volatile uint64_t *progress = mmap(NULL, 2 * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *mem = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (progress == MAP_FAILED || mem == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	/* 2 MiB pages where THP allows: one fault per 2 MiB, so 1 GiB/s is
	 * reachable on machines whose 4 KiB first touch runs at 0.35-1 GB/s. */
	madvise(mem, max, MADV_HUGEPAGE);
	uint64_t t0 = now_ns();
	for (uint64_t done = 0; done < max; done += STEP) {
		for (uint64_t o = 0; o < STEP; o += 4096)
			mem[done + o] = 1;
		progress[0] = done + STEP;
		progress[1] = now_ns() - t0;
		/* Pace: the next step starts when RATE says it is due. */
		uint64_t due = t0 + (uint64_t)((done + STEP) / (rate * MIB) * 1e9);
		struct timespec ts = { (time_t)(due / 1000000000ull), (long)(due % 1000000000ull) };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	return 0;
}
