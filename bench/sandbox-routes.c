/* sandbox-routes: what a seccomp filter costs on the allowed path, per way
 * of reporting denied calls. Builds the --sandbox default filter (the same
 * code supervise uses: syscall_filter_parse, sandbox_filter_build) with the denied
 * calls going to ERRNO (the kernel alone, nothing reported), LOG (the
 * kernel's audit log) or NOTIFY (a listener: supervise's route), loads it in
 * a child, and times N getppid calls there — none of them denied.
 *
 *   sandbox-routes N none|errno|log|notify      prints "ns_per_call X" (CPU time)
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

/* CPU time of this thread: on a shared, loaded machine wall time mostly
 * measures the other tenants; the filter's cost is CPU time in the kernel. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: sandbox-routes N none|errno|log|notify\n");
		return 2;
	}
	long n = atol(argv[1]);
	const char *route = argv[2];
	uint32_t deny = !strcmp(route, "errno") ? SCMP_ACT_ERRNO(EPERM)
			: !strcmp(route, "log")  ? SCMP_ACT_LOG
			: !strcmp(route, "notify") ? SCMP_ACT_NOTIFY
						   : 0;
	struct sock_fprog prog = { 0 };
	if (deny) {
		struct syscall_set set;
		char err[512];
		if (syscall_filter_parse(NULL, true, &set, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		/* supervise's own builder: every ABI, the namespace rules. */
		if (sandbox_filter_build(&set, true, deny, &prog) < 0)
			return 1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* As supervise's child loads it: raw seccomp(2), a listener when
		 * the route is NOTIFY (nobody answers: nothing here is denied). */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    (deny && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				     deny == SCMP_ACT_NOTIFY ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog) < 0)) {
			perror("seccomp");
			_exit(1);
		}
		double t0 = now();
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		printf("ns_per_call %.2f\n", (now() - t0) * 1e9 / n);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
