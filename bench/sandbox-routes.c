/* sandbox-routes: what a seccomp filter costs on the allowed path, per way
 * of reporting denied calls. Builds the --sandbox default filter (the same
 * code supervise uses: syscall_filter_parse, every x86 ABI) with the denied
 * calls going to ERRNO (the kernel alone, nothing reported), LOG (the
 * kernel's audit log) or NOTIFY (a listener: supervise's route), loads it in
 * a child, and times N getppid calls there — none of them denied.
 *
 *   sandbox-routes N none|errno|log|notify      prints "ns_per_call X"
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

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
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
	scmp_filter_ctx ctx = NULL;
	if (deny) {
		struct syscall_set s;
		char err[512];
		if (syscall_filter_parse(NULL, true, &s, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		ctx = seccomp_init(SCMP_ACT_ALLOW);
		seccomp_arch_add(ctx, SCMP_ARCH_X86);
		seccomp_arch_add(ctx, SCMP_ARCH_X32);
		for (size_t i = 0; i < s.n; i++) {
			int nr = seccomp_syscall_resolve_name(s.names[i]);
			if (nr != __NR_SCMP_ERROR)
				seccomp_rule_add(ctx, deny, nr, 0);
		}
	}
	pid_t pid = fork();
	if (pid == 0) {
		if (ctx && seccomp_load(ctx) < 0) {
			fprintf(stderr, "seccomp_load failed\n");
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
