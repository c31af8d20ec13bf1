/*
 * 100 sequential runs leave nothing behind: no leaf, no supervise/ directory, no
 * run directory, no process; and no run hands the workload a descriptor of its
 * own (the harness starts supervise with only 0, 1, 2 open).
 */
#include "harness.h"

TestSuite(repeat, .init = h_setup, .fini = h_teardown, .timeout = 600);

#define RUNS 100

Test(repeat, hundred_sequential_runs)
{
	const char *fdlist = h_helper("fdlist");
	char *summary = h_strf("%s/summary.json", H.scratch);
	for (int i = 0; i < RUNS; i++) {
		struct h_proc p;
		/* Every other run takes the longer paths too: limits and a summary. */
		if (i % 2)
			h_run(&p, "--mem", "64MiB", "--pids", "50", "--summary-json", summary, "--cgroup-base",
			      H.base, "--", fdlist);
		else
			h_run(&p, "--cgroup-base", H.base, "--", fdlist);
		H_ASSERT_EXIT(&p, 0);
		H_ASSERT(&p, !strncmp(p.out.data, "fds 0 1 2\n", 10),
			 "run %d: the workload should have only fds 0 1 2 open", i + 1);
		H_ASSERT(&p, !h_exists(h_leaf_parent()), "run %d left %s: %s", i + 1, h_leaf_parent(),
			 h_list_dir(h_leaf_parent()));
		H_ASSERT(&p, h_count_entries(H.runtime_dir) == 0, "run %d left run directories: %s", i + 1,
			 h_list_dir(H.runtime_dir));
		h_proc_free(&p);
	}
	cr_assert(h_cg_populated(H.base) == 0, "processes left in %s", H.base);
	cr_assert(h_count_subdirs(H.base) == 0, "cgroups left under %s: %s", H.base, h_list_dir(H.base));
	free(summary);
}
