/*
 * crosser THRESH_MIB BASE_MIB CYCLES UP_MS DOWN_MS LOG
 *
 * The reaction-latency workload (bench/jobserver.py reaction): hold BASE_MIB
 * MiB, then CYCLES times: grow (reading its own RSS from /proc/self/statm) to
 * 1 MiB below THRESH_MIB, touch 2 MiB more (crossing the threshold supervise
 * armed at THRESH_MIB), hold UP_MS ms, unmap, wait DOWN_MS ms below. LOG gets
 * "T0 T1" per cycle in CLOCK_MONOTONIC nanoseconds: the start and the end of
 * touching those 2 MiB. The crossing happened between them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)

static unsigned long long mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void touch(char *p, size_t len)
{
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
}

static size_t rss_bytes(void)
{
	unsigned long size, res;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%lu %lu", &size, &res) != 2)
		exit(1);
	fclose(f);
	return res * 4096;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0)
		;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: crosser THRESH_MIB BASE_MIB CYCLES UP_MS DOWN_MS LOG\n");
		return 2;
	}
	size_t thresh = strtoul(argv[1], NULL, 10) * MIB, base = strtoul(argv[2], NULL, 10) * MIB;
	long cycles = strtol(argv[3], NULL, 10), up = strtol(argv[4], NULL, 10), down = strtol(argv[5], NULL, 10);
	FILE *log = fopen(argv[6], "w");
	if (!log || thresh <= base + 4 * MIB)
		return 2;
	char *b = mmap(NULL, base, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		return 1;
	touch(b, base);
	sleep_ms(500);   /* let supervise settle on the base */
	size_t chunk = thresh - base + 16 * MIB;
	for (long i = 0; i < cycles; i++) {
		char *c = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (c == MAP_FAILED)
			return 1;
		size_t off = 0;
		while (off + 2 * MIB < chunk && rss_bytes() + MIB < thresh) {
			touch(c + off, 256 * 1024);
			off += 256 * 1024;
		}
		unsigned long long t0 = mono();
		touch(c + off, 2 * MIB);
		unsigned long long t1 = mono();
		fprintf(log, "%llu %llu\n", t0, t1);
		sleep_ms(up);
		munmap(c, chunk);
		sleep_ms(down);
	}
	fclose(log);
	return 0;
}
