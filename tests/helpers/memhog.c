/*
 * memhog MIB [SECONDS] [STEP_MIB] [MIB_PER_S]
 *
 * Allocate MIB MiB of anonymous memory in steps of STEP_MIB MiB (default 8),
 * writing to every page so the memory is really resident (RSS and the cgroup's
 * memory.current count it), hold it for SECONDS seconds (default 0), then exit 0.
 * SECONDS may have a fraction ("0.5"). MIB_PER_S (default 0: as fast as the
 * kernel faults pages in) paces the ramp: a job that touches 1.5 GiB at 350
 * MiB/s grows for about 4 s, as a compiler or a linker does, instead of the
 * half second a bare fault loop takes on a fast machine.
 *
 * Prints nothing unless an argument or an allocation is wrong. A test uses it
 * to push a workload past memory.high or memory.max: the kernel then throttles
 * or OOM-kills it, which the test reads from memory.events and the exit status.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)

static void usage(void)
{
	fprintf(stderr, "usage: memhog MIB [SECONDS] [STEP_MIB] [MIB_PER_S]\n");
	exit(2);
}

/* Parse a non-negative decimal number that fits in [0, max]; exit 2 otherwise. */
static unsigned long parse_ulong(const char *s, unsigned long max, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max) {
		fprintf(stderr, "memhog: bad %s '%s'\n", what, s);
		usage();
	}
	return v;
}

/* Parse a non-negative decimal with an optional fraction, at most max. */
static double parse_seconds(const char *s, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || s[0] == '-' || !(v >= 0 && v <= max) || strpbrk(s, "xXeEnN")) {
		fprintf(stderr, "memhog: bad SECONDS '%s'\n", s);
		usage();
	}
	return v;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double seconds)
{
	if (seconds <= 0)
		return;
	struct timespec ts = { .tv_sec = (time_t)seconds, .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9) };

	/* Resume after a signal handler so the hold time is the whole time asked. */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	unsigned long total_mib, step_mib = 8, done_mib = 0, rate = 0;
	double hold_s = 0;
	long page = sysconf(_SC_PAGESIZE);

	if (argc < 2 || argc > 5)
		usage();
	total_mib = parse_ulong(argv[1], ULONG_MAX / MIB, "MIB");
	if (argc > 2)
		hold_s = parse_seconds(argv[2], INT_MAX);
	if (argc > 3)
		step_mib = parse_ulong(argv[3], ULONG_MAX / MIB, "STEP_MIB");
	if (argc > 4)
		rate = parse_ulong(argv[4], ULONG_MAX / MIB, "MIB_PER_S");
	if (step_mib == 0) {
		fprintf(stderr, "memhog: STEP_MIB must be at least 1\n");
		usage();
	}
	if (page <= 0)
		page = 4096;
	double start = now_s();

	while (done_mib < total_mib) {
		unsigned long n = total_mib - done_mib < step_mib ? total_mib - done_mib : step_mib;
		size_t len = n * MIB;
		/*
		 * mmap rather than malloc: each step is its own mapping that is never
		 * freed, and no allocator keeps untouched pages that would make the
		 * RSS smaller than asked.
		 */
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			fprintf(stderr, "memhog: mmap of %lu MiB after %lu MiB failed: %s\n", n, done_mib,
				strerror(errno));
			return 1;
		}
		/* A non-zero write per page: the kernel must back each page with its own frame. */
		for (size_t off = 0; off < len; off += (size_t)page)
			p[off] = (char)(off / (size_t)page + 1);
		done_mib += n;
		/* Paced: step k ends no earlier than k * STEP_MIB / MIB_PER_S after the start. */
		if (rate)
			sleep_seconds(start + (double)done_mib / (double)rate - now_s());
	}

	sleep_seconds(hold_s);
	return 0;
}
