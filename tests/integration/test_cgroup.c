/*
 * The leaf: the workload runs in <base>/supervise/<name>-<id> (its children too),
 * the leaf and the supervise/ directory are removed when it ends, whatever the
 * workload left running in it is killed, and the run directory
 * $SUPERVISE_RUNTIME_DIR/<name>/ lives exactly as long as the run.
 */
#include "harness.h"

TestSuite(cgroup, .init = h_setup, .fini = h_teardown, .timeout = 120);

/* Assert that a "0::" path is <parent_rel>/supervise/<name>-<id>. */
#define ASSERT_LEAF(p, path, parent_rel, name)                                              \
	do {                                                                                \
		char *_want = h_strf("%s/supervise/%s-", (parent_rel), (name));             \
		H_ASSERT(p, (path), "no 0:: line in the workload's /proc/self/cgroup");     \
		H_ASSERT(p, !strncmp((path), _want, strlen(_want)) &&                       \
				    (path)[strlen(_want)] != '\0' &&                        \
				    !strchr((path) + strlen(_want), '/'),                   \
			 "the workload runs in %s, expected %s<id>", (path), _want);        \
		free(_want);                                                                \
	} while (0)

/* issue 2's "done means": a v2 path under supervise/, exit 7, the leaf gone after. */
Test(cgroup, done_means_mem_256mib)
{
	struct h_proc p;
	h_run(&p, "--mem", "256MiB", "--cgroup-base", H.base, "--", "sh", "-c",
	      "cat /proc/self/cgroup; exit 7");
	H_ASSERT_EXIT(&p, 7);
	char *leaf = h_v2_path_in(p.out.data);
	ASSERT_LEAF(&p, leaf, H.base_rel, "sh");
	char *abs = h_strf("%s%s", H.v2, leaf);
	H_ASSERT(&p, !h_exists(abs), "the leaf %s should be removed", abs);
	H_ASSERT_CLEAN(&p);

	/* Without a v2 memory controller, supervise says once that --mem is not enforced
	 * (other stderr lines, such as the closing summary, may mention memory). */
	if (!h_base_has_controller("memory"))
		H_ASSERT(&p, h_count(p.err.data, "--mem") == 1,
			 "no v2 memory controller under %s: expected one warning naming --mem on stderr, found %d",
			 H.base, h_count(p.err.data, "--mem"));
	free(abs);
	free(leaf);
	h_proc_free(&p);
}

Test(cgroup, explicit_name)
{
	struct h_proc p;
	h_run(&p, "--name", "my-run.1", "--cgroup-base", H.base, "--", "cat", "/proc/self/cgroup");
	H_ASSERT_EXIT(&p, 0);
	char *leaf = h_v2_path_in(p.out.data);
	ASSERT_LEAF(&p, leaf, H.base_rel, "my-run.1");
	H_ASSERT_CLEAN(&p);
	free(leaf);
	h_proc_free(&p);
}

/* Children and grandchildren (background, double fork) are in the same leaf.
 * The double-forked cat is an orphan the main shell cannot wait for, and
 * supervise kills what is left when the main process exits: the pipe to the
 * second cat holds the main shell until the orphan has written and exited. */
Test(cgroup, descendants_in_the_leaf)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", "sh", "-c",
	      "cat /proc/self/cgroup; (cat /proc/self/cgroup &) | cat; sh -c 'cat /proc/self/cgroup & wait'; wait");
	H_ASSERT_EXIT(&p, 0);
	char *leaf = h_v2_path_in(p.out.data);
	ASSERT_LEAF(&p, leaf, H.base_rel, "sh");
	char *line = h_strf("0::%s\n", leaf);
	H_ASSERT(&p, h_count(p.out.data, line) == 3, "all three processes should be in %s", leaf);
	H_ASSERT_CLEAN(&p);
	free(line);
	free(leaf);
	h_proc_free(&p);
}

/* When the main process exits, what it left in the leaf is killed at once. */
Test(cgroup, leftovers_killed_when_main_exits)
{
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--", "sh", "-c",
		"sleep 300 & echo bg $!; sh -c 'sleep 300 & echo bg2 $!' ; exit 4");
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 4);
	char *bg = h_wait_line(&p, "bg ", 0), *bg2 = h_wait_line(&p, "bg2 ", 0);
	H_ASSERT(&p, bg && bg2, "the workload did not report its background pids");
	int pid1 = atoi(bg + 3), pid2 = atoi(bg2 + 4);
	H_ASSERT(&p, pid1 > 0 && h_pid_gone(pid1), "background child %d still runs after supervise exited", pid1);
	H_ASSERT(&p, pid2 > 0 && h_pid_gone(pid2), "orphaned grandchild %d still runs after supervise exited", pid2);
	H_ASSERT_CLEAN(&p);
	free(bg);
	free(bg2);
	h_proc_free(&p);
}

/* A --cgroup-base outside the mount's path is taken relative to the v2 root. */
Test(cgroup, base_relative_to_v2_root)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base_rel, "--", "cat", "/proc/self/cgroup");
	H_ASSERT_EXIT(&p, 0);
	char *leaf = h_v2_path_in(p.out.data);
	ASSERT_LEAF(&p, leaf, H.base_rel, "cat");
	H_ASSERT_CLEAN(&p);
	free(leaf);
	h_proc_free(&p);
}

/* Without --cgroup-base the leaf goes under supervise's own cgroup. */
Test(cgroup, default_base_is_own_cgroup)
{
	char *runner = h_strf("%s/runner", H.base);
	cr_assert(mkdir(runner, 0755) == 0, "mkdir %s: %s", runner, strerror(errno));
	char *runner_rel = h_strf("%s/runner", H.base_rel);

	struct h_proc p;
	struct h_opts o = { .enter_cgroup = runner };
	h_startv(&p, &o, (const char *const[]){ "--", "cat", "/proc/self/cgroup", NULL });
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 0);
	char *leaf = h_v2_path_in(p.out.data);
	ASSERT_LEAF(&p, leaf, runner_rel, "cat");
	char *sup = h_strf("%s/supervise", runner);
	H_ASSERT(&p, !h_exists(sup), "%s should be removed, it holds: %s", sup, h_list_dir(sup));
	free(sup);
	free(leaf);
	free(runner_rel);
	free(runner);
	h_proc_free(&p);
}

/* The run directory exists while the run lives, names its owner and leaf, and goes. */
Test(cgroup, run_directory)
{
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--", h_helper("sigecho"));
	char *ready = h_wait_line(&p, "ready ", H_TIMEOUT_S);
	H_ASSERT(&p, ready, "the workload never printed its ready line");
	char leaf[PATH_MAX] = "";
	sscanf(ready, "ready %*d %4095s", leaf);

	char *json = h_strf("%s/sigecho/run.json", H.runtime_dir);
	H_ASSERT(&p, h_wait_exists(json, 5), "%s missing while the run lives; runtime dir holds: %s", json,
		 h_list_dir(H.runtime_dir));
	struct json_object *o = json_object_from_file(json);
	H_ASSERT(&p, o, "%s is not valid JSON", json);
	/* The keys gc and stat rely on, with their values: the owner and its leaf. */
	struct json_object *v = NULL;
	H_ASSERT(&p, json_object_object_get_ex(o, "pid", &v) && json_object_get_int(v) == p.pid,
		 "%s: \"pid\" should be the owner %d: %s", json, (int)p.pid, json_object_to_json_string(o));
	char *abs = h_strf("%s%s", H.v2, leaf);
	H_ASSERT(&p, json_object_object_get_ex(o, "cgroup", &v) && !strcmp(json_object_get_string(v), abs),
		 "%s: \"cgroup\" should be the leaf %s: %s", json, abs, json_object_to_json_string(o));
	free(abs);
	json_object_put(o);

	kill(p.pid, SIGTERM);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 100 + SIGTERM);
	H_ASSERT_CLEAN(&p);
	free(json);
	free(ready);
	h_proc_free(&p);
}

/* Two live runs of the same command: the second one's name gets "-2". */
Test(cgroup, default_name_gets_suffix_when_taken)
{
	struct h_proc a, b;
	h_start(&a, "--cgroup-base", H.base, "--", h_helper("sigecho"));
	char *ra = h_wait_line(&a, "ready ", H_TIMEOUT_S);
	H_ASSERT(&a, ra, "the first workload never printed its ready line");
	char *ja = h_strf("%s/sigecho/run.json", H.runtime_dir);
	H_ASSERT(&a, h_wait_exists(ja, 5), "%s missing; runtime dir holds: %s", ja, h_list_dir(H.runtime_dir));

	h_start(&b, "--cgroup-base", H.base, "--", h_helper("sigecho"));
	char *rb = h_wait_line(&b, "ready ", H_TIMEOUT_S);
	H_ASSERT(&b, rb, "the second workload never printed its ready line");
	char *jb = h_strf("%s/sigecho-2/run.json", H.runtime_dir);
	H_ASSERT(&b, h_wait_exists(jb, 5), "%s missing; runtime dir holds: %s", jb, h_list_dir(H.runtime_dir));

	char la[PATH_MAX] = "", lb[PATH_MAX] = "";
	sscanf(ra, "ready %*d %4095s", la);
	sscanf(rb, "ready %*d %4095s", lb);
	ASSERT_LEAF(&b, lb, H.base_rel, "sigecho-2");
	H_ASSERT(&b, strcmp(la, lb), "two live runs share the leaf %s", la);

	kill(a.pid, SIGTERM);
	kill(b.pid, SIGTERM);
	h_finish(&a, H_TIMEOUT_S);
	h_finish(&b, H_TIMEOUT_S);
	H_ASSERT_EXIT(&a, 100 + SIGTERM);
	H_ASSERT_EXIT(&b, 100 + SIGTERM);
	H_ASSERT_CLEAN(&b);
	free(ra);
	free(rb);
	free(ja);
	free(jb);
	h_proc_free(&a);
	h_proc_free(&b);
}

/* An explicit --name held by a live run is refused (125); the live run is untouched. */
Test(cgroup, explicit_name_in_use_125)
{
	struct h_proc a, b;
	h_start(&a, "--name", "dup", "--cgroup-base", H.base, "--", h_helper("sigecho"));
	char *ra = h_wait_line(&a, "ready ", H_TIMEOUT_S);
	H_ASSERT(&a, ra, "the first workload never printed its ready line");
	char *ja = h_strf("%s/dup/run.json", H.runtime_dir);
	H_ASSERT(&a, h_wait_exists(ja, 5), "%s missing; runtime dir holds: %s", ja, h_list_dir(H.runtime_dir));

	char *marker = h_strf("%s/ran", H.scratch);
	h_run(&b, "--name", "dup", "--cgroup-base", H.base, "--", "touch", marker);
	H_ASSERT_EXIT(&b, 125);
	H_ASSERT(&b, strstr(b.err.data, "dup"), "the message should name the run name in use");
	H_ASSERT(&b, !h_exists(marker), "the refused command ran anyway");
	H_ASSERT(&a, !h_poll_exit(&a), "the live run ended when a second run tried its name");
	H_ASSERT(&a, h_exists(ja), "the live run's %s was removed by the refused run", ja);

	kill(a.pid, SIGTERM);
	h_finish(&a, H_TIMEOUT_S);
	H_ASSERT_EXIT(&a, 100 + SIGTERM);
	H_ASSERT_CLEAN(&a);
	free(marker);
	free(ra);
	free(ja);
	h_proc_free(&a);
	h_proc_free(&b);
}

/*
 * Limits: where the controller is available under the base, the leaf carries the
 * limit; where it is not (this host has none of them on v2), the run still works
 * and supervise names the limit it cannot apply.
 */
static void expect_limit(const char *opt, const char *val, const char *ctrl, const char *file,
			 const char *want)
{
	struct h_proc p;
	char *script = h_strf("cat \"%s$(sed -n 's/^0:://p' /proc/self/cgroup)/%s\" 2>/dev/null; exit 0",
			      H.v2, file);
	h_run(&p, opt, val, "--cgroup-base", H.base, "--", "sh", "-c", script);
	H_ASSERT_EXIT(&p, 0);
	if (h_base_has_controller(ctrl))
		H_ASSERT(&p, strstr(p.out.data, want), "%s %s: the leaf's %s should read %s", opt, val, file, want);
	else
		H_ASSERT(&p, strstr(p.err.data, opt + 2) || strstr(p.err.data, ctrl),
			 "no %s controller on v2 under %s: supervise should say %s is not enforced", ctrl,
			 H.base, opt);
	H_ASSERT_CLEAN(&p);
	free(script);
	h_proc_free(&p);
}

Test(cgroup, limit_mem) { expect_limit("--mem", "256MiB", "memory", "memory.max", "268435456"); }
Test(cgroup, limit_mem_high) { expect_limit("--mem-high", "128M", "memory", "memory.high", "134217728"); }
Test(cgroup, limit_cpus) { expect_limit("--cpus", "1", "cpu", "cpu.max", "100000 100000"); }
Test(cgroup, limit_pids) { expect_limit("--pids", "100", "pids", "pids.max", "100"); }
