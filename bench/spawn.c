/* spawn PROCS MAPS: the steady-state workload of bench/steady.py — fork PROCS
 * children, each making MAPS one-page mappings that cannot merge (alternating
 * protections), print "ready" once all are, then sleep until killed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: spawn PROCS MAPS\n");
		return 2;
	}
	unsigned procs = (unsigned)atoi(argv[1]), maps = (unsigned)atoi(argv[2]);
	int p[2];
	if (pipe(p) < 0)
		return 1;
	for (unsigned i = 0; i < procs; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			char c = 1;
			close(p[0]);
			for (unsigned k = 0; k < maps; k++)
				if (mmap(NULL, 4096, k & 1 ? PROT_READ : PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
					c = 0;
			if (write(p[1], &c, 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
	}
	close(p[1]);
	unsigned ok = 0;
	char c;
	for (unsigned i = 0; i < procs && read(p[0], &c, 1) == 1; i++)
		ok += c == 1;
	printf("ready %u\n", ok);
	fflush(stdout);
	for (;;)
		pause();
}
