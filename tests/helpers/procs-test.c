/* procs-test MODE N [--wait]: process shapes for the monitor's tests.
 *   threads N   start N threads that sleep; "step 1 <pid>" once all run
 *   fork N      fork N children one after another, each exits at once;
 *               "step 1 <pid>" once all are reaped
 *   sleep       just "step 1 <pid>"
 * After step 1, with --wait, waits for one byte on stdin (EOF goes on too);
 * without, sleeps 300 ms. Then exits 0. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	for (;;)
		pause();
	return arg;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "sleep";
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	int wait = argc > 3 && strcmp(argv[3], "--wait") == 0;
	char c;

	if (strcmp(mode, "threads") == 0) {
		for (long i = 0; i < n; i++) {
			pthread_t t;

			if (pthread_create(&t, NULL, sleeper, NULL) != 0) {
				fprintf(stderr, "procs-test: pthread_create failed\n");
				return 1;
			}
		}
	} else if (strcmp(mode, "fork") == 0) {
		for (long i = 0; i < n; i++) {
			pid_t pid = fork();

			if (pid < 0) {
				fprintf(stderr, "procs-test: fork: %s\n", strerror(errno));
				return 1;
			}
			if (pid == 0)
				_exit(0);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
	} else if (strcmp(mode, "sleep") != 0) {
		fprintf(stderr, "usage: procs-test threads|fork|sleep N [--wait]\n");
		return 2;
	}
	printf("step 1 %d\n", (int)getpid());
	fflush(stdout);
	if (wait) {
		while (read(0, &c, 1) < 0 && errno == EINTR)
			;
	} else {
		usleep(300 * 1000);
	}
	return 0;
}
