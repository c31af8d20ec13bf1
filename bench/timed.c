/* timed: run a command and write its wall time ("loop_ns N") to FILE, so that
 * a driver can tell the workload's own time from a supervisor's start and end
 * around it. Exits with the command's status.
 *
 *     timed FILE COMMAND [ARG...] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	uint64_t t0, t1;
	int status;
	pid_t pid;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: timed FILE COMMAND [ARG...]\n");
		return 2;
	}
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("timed: fork");
		return 125;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror("timed: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("timed: waitpid");
		return 125;
	}
	t1 = now_ns();
	f = fopen(argv[1], "w");
	if (f) {
		fprintf(f, "loop_ns %llu\n", (unsigned long long)(t1 - t0));
		fclose(f);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
