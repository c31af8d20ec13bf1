#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "rundir.h"
#include "status.h"

/* Real wait statuses from real children, not hand-built bit patterns. */
static int wait_status_of_exit(int code)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(code);
	int st;
	waitpid(pid, &st, 0);
	return st;
}

static int wait_status_of_signal(int sig)
{
	pid_t pid = fork();
	if (pid == 0) {
		signal(sig, SIG_DFL);
		raise(sig);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return st;
}

Test(exit_status, exit_codes)
{
	int codes[] = { 0, 1, 7, 125, 255 };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		cr_expect_eq(exit_status_from_wait(wait_status_of_exit(codes[i])), codes[i]);
}

Test(exit_status, signals_are_128_plus_n)
{
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGKILL, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		cr_expect_eq(exit_status_from_wait(wait_status_of_signal(sigs[i])), 128 + sigs[i], "signal %d", sigs[i]);
}

Test(exit_status, exec_errors)
{
	cr_expect_eq(exit_status_from_exec_errno(ENOENT), 127);
	cr_expect_eq(exit_status_from_exec_errno(ENOTDIR), 127);
	cr_expect_eq(exit_status_from_exec_errno(EACCES), 126);
	cr_expect_eq(exit_status_from_exec_errno(ENOEXEC), 126);
	cr_expect_eq(exit_status_from_exec_errno(EISDIR), 126);
}

Test(proc_stat, starttime_with_hostile_comm)
{
	/* comm may contain spaces and ')': field 22 counts from the last ')'. */
	const char *t = "4242 (a) b (c) d) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 "
			"2674688 250 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	uint64_t st;
	cr_assert_eq(proc_stat_starttime(t, &st), 0);
	cr_expect_eq(st, 987654);
	cr_expect_eq(proc_stat_starttime("4242 (short) S 1 2\n", &st), -EINVAL);
}

/* What run_owner_alive relies on: a live pid's start time is field 22 of its
 * /proc/PID/stat (read here with a plain scanf: our own comm has no spaces),
 * a child started later has a later or equal one, and a reaped pid has none. */
Test(proc_stat, start_times_tell_processes_apart)
{
	uint64_t own, child, want;
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	cr_assert(f && fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_eq(sscanf(buf, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d "
				 "%" SCNu64, &want), 1);
	cr_assert_eq(pid_starttime(getpid(), &own), 0);
	cr_expect_eq(own, want);
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(pid_starttime(pid, &child), 0);
	cr_expect_geq(child, own);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_expect_eq(pid_starttime(pid, &child), -ESRCH, "a reaped pid has no start time");
}

Test(run_name, valid_names)
{
	cr_expect(run_name_valid("make"));
	cr_expect(run_name_valid("cargo-build_2.x"));
	cr_expect(!run_name_valid(""));
	cr_expect(!run_name_valid(".hidden"));
	cr_expect(!run_name_valid("a/b"));
	cr_expect(!run_name_valid("a b"));
	cr_expect(!run_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "65 chars");
}

Test(run_name, from_command)
{
	char n[80];
	run_name_from_command("/usr/bin/make", n, sizeof(n));
	cr_expect_str_eq(n, "make");
	run_name_from_command("./my tool", n, sizeof(n));
	cr_expect_str_eq(n, "my_tool");
	run_name_from_command("/", n, sizeof(n));
	cr_expect(run_name_valid(n), "'%s' from '/' is not a valid name", n);
	run_name_from_command(".x", n, sizeof(n));
	cr_expect(run_name_valid(n), "'%s' from '.x' is not a valid name", n);
}
