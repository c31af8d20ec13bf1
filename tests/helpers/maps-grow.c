/* maps-grow: create separate one-page mappings until mmap fails (ENOMEM at
 * vm.max_map_count) or --max is reached, pausing between batches so a
 * watcher has time to react, as a mapping-hungry runtime would grow.
 *
 *   maps-grow [--batch N] [--pause-us U] [--max M] [--hold-ms T]
 *
 * Adjacent anonymous mappings with the same protection merge into one map
 * area; alternating PROT_READ and PROT_READ|PROT_WRITE keeps each separate.
 * On stderr, one line when it stops:
 *   maps-grow: pid P: first ENOMEM from mmap after N mappings (map_count C)
 *   maps-grow: pid P: reached --max N mappings (map_count C)
 * then it holds the mappings for --hold-ms (default 0) and exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Lines of /proc/self/maps, read without stdio: at the limit, fopen's
 * buffer could not be mapped. */
static long map_count(void)
{
	static char buf[65536];
	long n = 0;
	ssize_t r;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < r; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	long batch = 1000, pause_us = 2000, max = -1, hold_ms = 0;
	long page = sysconf(_SC_PAGESIZE);

	for (int i = 1; i + 1 < argc; i += 2) {
		long v = atol(argv[i + 1]);
		if (!strcmp(argv[i], "--batch"))
			batch = v > 0 ? v : 1;
		else if (!strcmp(argv[i], "--pause-us"))
			pause_us = v;
		else if (!strcmp(argv[i], "--max"))
			max = v;
		else if (!strcmp(argv[i], "--hold-ms"))
			hold_ms = v;
		else {
			fprintf(stderr, "usage: maps-grow [--batch N] [--pause-us U] [--max M] [--hold-ms T]\n");
			return 2;
		}
	}
	for (long n = 0;; n++) {
		if (max >= 0 && n >= max) {
			fprintf(stderr, "maps-grow: pid %d: reached --max %ld mappings (map_count %ld)\n", (int)getpid(),
				n, map_count());
			break;
		}
		int prot = n % 2 ? PROT_READ : PROT_READ | PROT_WRITE;
		void *p = mmap(NULL, page, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			int err = errno;
			fprintf(stderr, "maps-grow: pid %d: first %s from mmap after %ld mappings (map_count %ld)\n",
				(int)getpid(), err == ENOMEM ? "ENOMEM" : strerror(err), n, map_count());
			break;
		}
		if (pause_us > 0 && n % batch == batch - 1)
			sleep_us(pause_us);
	}
	if (hold_ms > 0)
		sleep_us(hold_ms * 1000);
	return 0;
}
