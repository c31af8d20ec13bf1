/*
 * sigecho [--default]
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
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
#define NSIGS (sizeof(sigs) / sizeof(sigs[0]))

static volatile sig_atomic_t got;

static void on_signal(int sig)
{
	if (!got)
		got = sig;
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
	if (argc > 1) {
		fprintf(stderr, "usage: sigecho [--default]\n");
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
	printf("got %d\n", (int)got);
	fflush(stdout);
	return 100 + got;
}
