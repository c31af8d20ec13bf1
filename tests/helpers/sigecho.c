/*
 * sigecho [--default | --count]
 *
 * A workload for the signal tests of supervise.
 *
 * Without options: catches SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and
 * SIGWINCH; once the handlers are in place prints
 *     ready PID CGROUP
 * (CGROUP: the "0::" path of /proc/self/cgroup) on stdout, waits for one of them,
 * prints "got N" (N: the signal number) and exits with 100+N.
 *
 * --default: sets those signals to their default action and unblocks them, prints
 * the same ready line and waits forever, so a forwarded signal kills it (SIGWINCH,
 * whose default is to ignore, does not).
 *
 * --count: catches them as without options, but after the first one keeps
 * counting deliveries for 500 ms more, then prints "count N SIGNO" (N: how many
 * times the first signal was delivered) and exits 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
#define NSIGS (sizeof(sigs) / sizeof(sigs[0]))

static volatile sig_atomic_t got, times;

static void on_signal(int sig)
{
	if (!got)
		got = sig;
	if (sig == got)
		times++;
}

static void print_ready(void)
{
	char line[4096] = "?";
	FILE *f = fopen("/proc/self/cgroup", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3))
			break;
	if (f)
		fclose(f);
	line[strcspn(line, "\n")] = '\0';
	printf("ready %d %s\n", (int)getpid(), strncmp(line, "0::", 3) ? "?" : line + 3);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	sigset_t these, empty;
	sigemptyset(&these);
	sigemptyset(&empty);
	for (size_t i = 0; i < NSIGS; i++)
		sigaddset(&these, sigs[i]);

	if (argc > 1 && !strcmp(argv[1], "--default")) {
		for (size_t i = 0; i < NSIGS; i++)
			signal(sigs[i], SIG_DFL);
		sigprocmask(SIG_UNBLOCK, &these, NULL);
		print_ready();
		for (;;)
			pause();
	}
	bool count = argc > 1 && !strcmp(argv[1], "--count");
	if (argc > 1 && !count) {
		fprintf(stderr, "usage: sigecho [--default | --count]\n");
		return 2;
	}

	/* Block first so a signal sent right after "ready" waits for sigsuspend. */
	sigprocmask(SIG_BLOCK, &these, NULL);
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NSIGS; i++)
		sigaction(sigs[i], &sa, NULL);
	print_ready();
	while (!got)
		sigsuspend(&empty);
	if (count) {
		sigprocmask(SIG_UNBLOCK, &these, NULL);
		struct timespec ts = { 0, 500 * 1000 * 1000 };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		printf("count %d %d\n", (int)times, (int)got);
		return 0;
	}
	printf("got %d\n", (int)got);
	fflush(stdout);
	return 100 + got;
}
