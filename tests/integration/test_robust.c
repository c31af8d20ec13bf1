/*
 * The corners users hit: a signal before the workload is up, a stopped workload,
 * runs started at the same moment, commands whose names are not valid run names,
 * a runtime directory that does not exist yet, what the workload inherits.
 */
#include "harness.h"

TestSuite(robust, .init = h_setup, .fini = h_teardown, .timeout = 300);

/*
 * SIGTERM at once, before supervise has (maybe) launched anything: it must end
 * promptly, as a shell would report SIGTERM (143), and leave nothing behind.
 */
Test(robust, sigterm_right_after_start)
{
	for (int i = 0; i < 20; i++) {
		struct h_proc p;
		h_start(&p, "--cgroup-base", H.base, "--", "sleep", "30");
		if (i % 4)
			h_sleep_ms(i % 4);
		kill(p.pid, SIGTERM);
		h_finish(&p, H_TIMEOUT_S);
		H_ASSERT(&p, h_exited_with(&p, 128 + SIGTERM) || (WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGTERM),
			 "round %d: SIGTERM during start-up should end the run as 143", i);
		H_ASSERT(&p, !p.timed_out, "round %d: supervise hung", i);
		for (double end = h_now() + 1; h_exists(h_leaf_parent()) && h_now() < end; h_sleep_ms(10))
			;
		H_ASSERT_CLEAN(&p);
		h_proc_free(&p);
	}
}

/* A workload that stops itself has not ended: supervise waits for it. */
Test(robust, stopped_workload_is_not_an_exit)
{
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--", "sh", "-c", "echo pid $$; kill -STOP $$; echo resumed; exit 3");
	char *line = h_wait_line(&p, "pid ", H_TIMEOUT_S);
	H_ASSERT(&p, line, "the workload did not start");
	int wpid = atoi(line + 4);
	char path[64], stat[512] = "";
	snprintf(path, sizeof(path), "/proc/%d/stat", wpid);
	for (double end = h_now() + 5; h_now() < end; h_sleep_ms(10)) {
		h_read_file(path, stat, sizeof(stat));
		char *rp = strrchr(stat, ')');
		if (rp && rp[2] == 'T')
			break;
	}
	h_sleep_ms(200);
	H_ASSERT(&p, !h_poll_exit(&p), "supervise ended while its workload was only stopped");
	H_ASSERT(&p, kill(wpid, SIGCONT) == 0, "SIGCONT %d: %s", wpid, strerror(errno));
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 3);
	H_ASSERT(&p, strstr(p.out.data, "resumed"), "the workload should have resumed");
	H_ASSERT_CLEAN(&p);
	free(line);
	h_proc_free(&p);
}

/* Runs started together get distinct names and leaves; none is refused. */
Test(robust, concurrent_runs_of_one_command)
{
	enum { N = 8 };
	struct h_proc p[N];
	for (int i = 0; i < N; i++)
		h_start(&p[i], "--cgroup-base", H.base, "--", "sh", "-c", "cat /proc/self/cgroup; sleep 0.5");
	for (int i = 0; i < N; i++)
		h_finish(&p[i], H_TIMEOUT_S);
	for (int i = 0; i < N; i++) {
		H_ASSERT_EXIT(&p[i], 0);
		char *leaf = h_v2_path_in(p[i].out.data);
		H_ASSERT(&p[i], leaf, "no cgroup printed");
		for (int j = 0; j < i; j++) {
			char *other = h_v2_path_in(p[j].out.data);
			H_ASSERT(&p[i], strcmp(leaf, other), "runs %d and %d shared the leaf %s", j, i, leaf);
			free(other);
		}
		free(leaf);
	}
	H_ASSERT_CLEAN(&p[0]);
	for (int i = 0; i < N; i++)
		h_proc_free(&p[i]);
}

/* The default name comes from the command's basename, whatever characters it has. */
static void run_odd_name(const char *base_name)
{
	char *file = h_strf("%s/%s", H.scratch, base_name);
	FILE *f = fopen(file, "w");
	cr_assert(f, "create %s: %s", file, strerror(errno));
	fputs("#!/bin/sh\ncat /proc/self/cgroup\nexit 6\n", f);
	fclose(f);
	cr_assert(chmod(file, 0755) == 0);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", file);
	H_ASSERT_EXIT(&p, 6);
	char *leaf = h_v2_path_in(p.out.data);
	char *want = h_strf("%s/supervise/", H.base_rel);
	H_ASSERT(&p, leaf && !strncmp(leaf, want, strlen(want)) && !strchr(leaf + strlen(want), '/'),
		 "the workload should run in a leaf %s<name>-<id>", want);
	H_ASSERT_CLEAN(&p);
	free(want);
	free(leaf);
	h_proc_free(&p);
	free(file);
}

Test(robust, command_name_with_spaces_and_symbols) { run_odd_name("my tool+x!.sh"); }
Test(robust, command_name_starting_with_dot) { run_odd_name(".hidden-tool"); }
Test(robust, command_name_very_long)
{
	char name[201];
	memset(name, 'x', 200);
	name[200] = '\0';
	run_odd_name(name);
}
Test(robust, command_name_non_ascii) { run_odd_name("outil-\xc3\xa9t\xc3\xa9"); }

/* A runtime directory that does not exist yet is made (as /run/supervise is). */
Test(robust, runtime_dir_created)
{
	char *rt = h_strf("%s/fresh", H.runtime_dir);
	setenv("SUPERVISE_RUNTIME_DIR", rt, 1);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", "true");
	setenv("SUPERVISE_RUNTIME_DIR", H.runtime_dir, 1);
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, h_count_entries(rt) == 0, "run directories left in %s: %s", rt, h_list_dir(rt));
	rmdir(rt);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
	free(rt);
}

/* The workload inherits the caller's environment and working directory. */
Test(robust, environment_and_cwd_pass_through)
{
	char cwd[PATH_MAX];
	cr_assert(getcwd(cwd, sizeof(cwd)));
	setenv("SV_TEST_MARKER", "hello world", 1);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", "sh", "-c", "echo \"marker=$SV_TEST_MARKER\"; echo \"cwd=$(pwd -P)\"");
	unsetenv("SV_TEST_MARKER");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.out.data, "marker=hello world\n"), "the environment should pass through");
	char *want = h_strf("cwd=%s\n", cwd);
	H_ASSERT(&p, strstr(p.out.data, want), "the working directory should be %s", cwd);
	free(want);
	h_proc_free(&p);
}

/* The workload's stdin is the caller's. */
Test(robust, stdin_passes_through)
{
	struct h_proc p;
	/* The harness gives supervise /dev/null as stdin: the workload reads EOF at once. */
	h_run(&p, "--cgroup-base", H.base, "--", "sh", "-c", "if read x; then echo got-line; else echo eof; fi; readlink /proc/self/fd/0");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.out.data, "eof\n/dev/null\n"), "the workload's stdin should be the caller's /dev/null");
	h_proc_free(&p);
}
