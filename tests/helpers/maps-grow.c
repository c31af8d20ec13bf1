/* maps-grow: create separate one-page mappings until mmap fails (ENOMEM at
 * vm.max_map_count) or --max is reached, pausing between batches so a
 * watcher has time to react, as a mapping-hungry runtime would grow.
 *
 *   maps-grow [--batch N] [--pause-us U] [--max M] [--hold-ms T]
 *             [--gate P:PATH]...
 *
 * At each gate (up to 4, in rising order), it stops after P % of
 * vm.max_map_count mappings, says so ("maps-grow: holding at N mappings until
 * PATH exists"), and goes on once PATH exists (or after 60 s): a test lets it
 * grow on only after it has seen what the watcher says at that point, however
 * loaded the machine is.
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

/* The number of mappings P % of vm.max_map_count makes, -1 without a limit. */
static long gate_at(long pct)
{
	char buf[32];
	int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
	ssize_t r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	return atol(buf) * pct / 100;
}

static void wait_for_file(const char *path, long n)
{
	fprintf(stderr, "maps-grow: holding at %ld mappings until %s exists\n", n, path);
	for (int i = 0; i < 6000 && access(path, F_OK) < 0; i++)
		sleep_us(10000);
}

int main(int argc, char **argv)
{
	long batch = 1000, pause_us = 2000, max = -1, hold_ms = 0;
	long gate[4];
	const char *gate_file[4];
	int nr_gates = 0, next_gate = 0;
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
		else if (!strcmp(argv[i], "--gate") && nr_gates < 4 && strchr(argv[i + 1], ':')) {
			gate[nr_gates] = gate_at(v);
			gate_file[nr_gates++] = strchr(argv[i + 1], ':') + 1;
		} else {
			fprintf(stderr, "usage: maps-grow [--batch N] [--pause-us U] [--max M] [--hold-ms T] "
					"[--gate P:PATH]...\n");
			return 2;
		}
	}
	for (long n = 0;; n++) {
		if (next_gate < nr_gates && n == gate[next_gate])
			wait_for_file(gate_file[next_gate++], n);
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
