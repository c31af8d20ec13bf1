/*
 * Exit status: supervise exits with the workload's status as a shell reports it
 * (128+N when it was killed by signal N), 126 when the command is not
 * executable, 127 when it is not found.
 */
#include "harness.h"

TestSuite(exit, .init = h_setup, .fini = h_teardown, .timeout = 120);

static void expect_exit_code(int code)
{
	struct h_proc p;
	char *script = h_strf("exit %d", code);
	h_run(&p, "--cgroup-base", H.base, "--", "sh", "-c", script);
	H_ASSERT_EXIT(&p, code);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
	free(script);
}

Test(exit, zero) { expect_exit_code(0); }
Test(exit, one) { expect_exit_code(1); }
Test(exit, seven) { expect_exit_code(7); }
Test(exit, two_five_five) { expect_exit_code(255); }

Test(exit, true_and_false)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&p, 0);
	h_proc_free(&p);
	h_run(&p, "--cgroup-base", H.base, "--", "false");
	H_ASSERT_EXIT(&p, 1);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
}

/* The workload's stdout and stderr are the caller's: supervise passes them through. */
Test(exit, output_passes_through)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3");
	H_ASSERT_EXIT(&p, 3);
	H_ASSERT(&p, strstr(p.out.data, "to-stdout\n"), "the workload's stdout should reach ours");
	H_ASSERT(&p, strstr(p.err.data, "to-stderr\n"), "the workload's stderr should reach ours");
	h_proc_free(&p);
}

/* The workload kills itself with a signal: 128+N, as a shell reports it. */
static void expect_self_kill(int sig)
{
	struct h_proc p;
	char *script = h_strf("kill -%d $$", sig);
	h_run(&p, "--cgroup-base", H.base, "--", "sh", "-c", script);
	H_ASSERT_EXIT(&p, 128 + sig);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
	free(script);
}

Test(exit, self_killed_by_sigterm) { expect_self_kill(SIGTERM); }
Test(exit, self_killed_by_sigkill) { expect_self_kill(SIGKILL); }
Test(exit, self_killed_by_sigsegv) { expect_self_kill(SIGSEGV); }
Test(exit, self_killed_by_sigabrt) { expect_self_kill(SIGABRT); }

/*
 * A forwarded signal kills the workload: supervise exits 128+N, and is not itself
 * killed by it. SIGWINCH is forwarded too but its default action is to ignore, so
 * it cannot kill a workload (test_signals checks it arrives).
 */
static void expect_killed_by_forwarded(int sig)
{
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--", h_helper("sigecho"), "--default");
	char *ready = h_wait_line(&p, "ready ", H_TIMEOUT_S);
	H_ASSERT(&p, ready, "the workload never printed its ready line");
	H_ASSERT(&p, kill(p.pid, sig) == 0, "kill(%d, %d): %s", (int)p.pid, sig, strerror(errno));
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 128 + sig);
	H_ASSERT_CLEAN(&p);
	free(ready);
	h_proc_free(&p);
}

Test(exit, killed_by_forwarded_sigint) { expect_killed_by_forwarded(SIGINT); }
Test(exit, killed_by_forwarded_sigterm) { expect_killed_by_forwarded(SIGTERM); }
Test(exit, killed_by_forwarded_sighup) { expect_killed_by_forwarded(SIGHUP); }
Test(exit, killed_by_forwarded_sigquit) { expect_killed_by_forwarded(SIGQUIT); }
Test(exit, killed_by_forwarded_sigusr1) { expect_killed_by_forwarded(SIGUSR1); }
Test(exit, killed_by_forwarded_sigusr2) { expect_killed_by_forwarded(SIGUSR2); }

Test(exit, not_executable_126)
{
	char *file = h_strf("%s/not-executable", H.scratch);
	FILE *f = fopen(file, "w");
	cr_assert(f, "create %s: %s", file, strerror(errno));
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	cr_assert(chmod(file, 0644) == 0);

	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", file);
	H_ASSERT_EXIT(&p, 126);
	H_ASSERT(&p, strstr(p.err.data, "not-executable"), "the message should name the command");
	H_ASSERT(&p, !h_exists(h_leaf_parent()), "no leaf should be left: %s", h_list_dir(h_leaf_parent()));
	h_proc_free(&p);
	unlink(file);
	free(file);
}

Test(exit, directory_126)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", "/tmp");
	H_ASSERT_EXIT(&p, 126);
	h_proc_free(&p);
}

Test(exit, nonexistent_path_127)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", "/nonexistent");
	H_ASSERT_EXIT(&p, 127);
	H_ASSERT(&p, strstr(p.err.data, "/nonexistent"), "the message should name the command");
	H_ASSERT(&p, !h_exists(h_leaf_parent()), "no leaf should be left: %s", h_list_dir(h_leaf_parent()));
	h_proc_free(&p);
}

Test(exit, not_in_path_127)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", "sv-no-such-command-here");
	H_ASSERT_EXIT(&p, 127);
	H_ASSERT(&p, strstr(p.err.data, "sv-no-such-command-here"), "the message should name the command");
	h_proc_free(&p);
}
