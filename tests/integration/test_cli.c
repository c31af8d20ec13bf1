/*
 * The command line: bad input is refused with 125 and a message that names the
 * bad value (and, for sizes, the accepted forms) before anything runs; --help,
 * --version and check.
 */
#include "harness.h"

TestSuite(cli, .init = h_setup, .fini = h_teardown, .timeout = 120);

/*
 * Run supervise with args followed by a command that would create a marker file,
 * and expect it refused: exit 125, stderr naming `names`, the command not run,
 * no leaf and no run directory made.
 */
static void expect_refused(const char *names, const char *const *args)
{
	char *marker = h_strf("%s/ran", H.scratch);
	const char *argv[32];
	size_t n = 0;
	for (; args[n] && n < 24; n++)
		argv[n] = args[n];
	argv[n++] = "--cgroup-base";
	argv[n++] = H.base;
	argv[n++] = "--";
	argv[n++] = "touch";
	argv[n++] = marker;
	argv[n] = NULL;
	struct h_proc p;
	h_startv(&p, NULL, argv);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, !h_exists(marker), "the command ran although supervise refused its arguments");
	H_ASSERT(&p, strstr(p.err.data, names), "the message on stderr should name \"%s\"", names);
	H_ASSERT_CLEAN(&p);
	free(marker);
	h_proc_free(&p);
}

#define REFUSED(names, ...) expect_refused((names), (const char *const[]){ __VA_ARGS__, NULL })

/* The message for a bad size also says what is accepted. */
static void expect_bad_size(const char *opt, const char *val)
{
	struct h_proc p;
	h_run(&p, opt, val, "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&p, 125);
	char *quoted = h_strf("%s", val);
	H_ASSERT(&p, strstr(p.err.data, quoted), "the message should name the bad value \"%s\"", val);
	H_ASSERT(&p, strstr(p.err.data, "MiB") || strstr(p.err.data, "GiB") || strstr(p.err.data, "K/M/G"),
		 "the message should say which sizes are accepted (e.g. 512MiB, 1G, 80%%)");
	H_ASSERT_CLEAN(&p);
	free(quoted);
	h_proc_free(&p);
}

Test(cli, unknown_option) { REFUSED("--bogus", "--bogus"); }
Test(cli, unknown_short_option) { REFUSED("-Z", "-Z"); }
Test(cli, bad_size_lots) { REFUSED("lots", "--mem", "lots"); expect_bad_size("--mem", "lots"); }
Test(cli, bad_size_suffix) { expect_bad_size("--mem", "12Q"); }
Test(cli, bad_size_negative) { expect_bad_size("--mem", "-1G"); }
Test(cli, bad_size_empty)
{
	struct h_proc p;
	h_run(&p, "--mem", "", "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, *p.err.data, "a message is expected on stderr");
	h_proc_free(&p);
}
Test(cli, bad_mem_high) { expect_bad_size("--mem-high", "plenty"); }
Test(cli, bad_cpus) { REFUSED("abc", "--cpus", "abc"); }
Test(cli, bad_pids) { REFUSED("xyz", "--pids", "xyz"); }
/* --advice MODE,-RUNTIME: a runtime not known is named, with the known ones. */
Test(cli, bad_advice_runtime)
{
	REFUSED("--advice: 'perl' is not a runtime; use one of go, rayon, openmp, inko, malloc, cargo, jvm, node",
		"--advice", "env,-perl");
	REFUSED("--advice: 'jvm': after the mode come runtimes to leave out, each as -RUNTIME", "--advice", "env,jvm");
	REFUSED("none sets no variable", "--advice", "none,-go");
	REFUSED("'sometimes' is not a mode; use all, env or none", "--advice", "sometimes");
}
/* A name becomes a directory under the runtime dir: no path separators. */
Test(cli, bad_name_with_slash) { REFUSED("../escape", "--name", "../escape"); }

/* A missing option value: "--mem" then "--" is not a size. */
Test(cli, missing_option_value)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--mem");
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, "--mem"), "the message should name --mem");
	h_proc_free(&p);
}

Test(cli, missing_dashdash)
{
	char *marker = h_strf("%s/ran", H.scratch);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "touch", marker);
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, !h_exists(marker), "the command ran without --");
	H_ASSERT(&p, strstr(p.err.data, "--"), "the message should say that -- is needed");
	h_proc_free(&p);
	h_run(&p, "touch", marker);
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, !h_exists(marker), "the command ran without --");
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
	free(marker);
}

Test(cli, empty_command)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--");
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, *p.err.data, "a message is expected on stderr");
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
	h_run(&p, "--mem", "1G", "--cgroup-base", H.base, "--");
	H_ASSERT_EXIT(&p, 125);
	h_proc_free(&p);
	h_run(&p, NULL);
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, *p.err.data, "a message is expected on stderr");
	h_proc_free(&p);
}

/* Good sizes in every documented form are accepted. */
Test(cli, good_sizes)
{
	const char *sizes[] = { "1073741824", "512K", "512M", "1G", "512KiB", "256MiB", "1.5GiB", "50%" };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct h_proc p;
		h_run(&p, "--mem", sizes[i], "--cgroup-base", H.base, "--", "true");
		/* Accepted; a budget below what `true` maps is enforced (137), by
		 * the kernel or, where it cannot, by supervise. */
		H_ASSERT(&p, h_exited_with(&p, 0) || (strstr(sizes[i], "512K") && h_exited_with(&p, 137)),
			 "--mem %s should be accepted", sizes[i]);
		h_proc_free(&p);
	}
}

Test(cli, help_mentions_every_option)
{
	static const char *words[] = { "--mem", "--mem-high", "--cpus", "--pids", "--name", "--cgroup-base",
				       "--summary-json", "--backend", "--jobs", "--job-mem", "--jobserver-style",
				       "--advice", "--raise-map-count", "-q", "-v", "--help", "--version", "check",
				       "gc", "ls", "stat", "set" };
	struct h_proc p;
	h_run(&p, "--help");
	H_ASSERT_EXIT(&p, 0);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		H_ASSERT(&p, strstr(p.out.data, words[i]), "--help on stdout should mention %s", words[i]);
	h_proc_free(&p);
}

Test(cli, version)
{
	struct h_proc p;
	h_run(&p, "--version");
	H_ASSERT_EXIT(&p, 0);
	int a, b;
	bool found = false;
	for (const char *s = p.out.data; *s && !found; s++)
		found = isdigit((unsigned char)*s) && sscanf(s, "%d.%d", &a, &b) == 2;
	H_ASSERT(&p, found, "--version should print a version number on stdout");
	h_proc_free(&p);
}

/* check: 0 when supervise can run fully, 1 when degraded (no v2 memory controller). */
Test(cli, check)
{
	struct h_proc p;
	h_run(&p, "check");
	H_ASSERT(&p, h_exited_with(&p, 0) || h_exited_with(&p, 1), "check should exit 0 or 1");
	char *all = h_strf("%s%s", p.out.data, p.err.data);
	H_ASSERT(&p, strstr(all, H.v2), "check should print the cgroup v2 mount %s", H.v2);

	char buf[64] = "";
	h_read_file("/proc/sys/vm/max_map_count", buf, sizeof(buf));
	buf[strcspn(buf, "\n")] = '\0';
	H_ASSERT(&p, *buf && strstr(all, buf), "check should print vm.max_map_count (%s)", buf);

	char ctl[1024] = "", path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", H.v2);
	h_read_file(path, ctl, sizeof(ctl));
	if (!h_word_in(ctl, "memory"))
		H_ASSERT_EXIT(&p, 1);
	free(all);
	h_proc_free(&p);
}

/* -v says what is done (on stderr) without changing the outcome: the leaf it
 * made for the workload (the one the workload ran in), which it does not say
 * without -v. */
Test(cli, verbose)
{
	struct h_proc p, q;
	h_run(&p, "-v", "--cgroup-base", H.base, "--", "sh", "-c", "cat /proc/self/cgroup; exit 5");
	H_ASSERT_EXIT(&p, 5);
	char *leaf = h_v2_path_in(p.out.data);
	H_ASSERT(&p, leaf, "the workload did not print its cgroup");
	char *said = h_strf("cgroup: running sh in %s%s", H.v2, leaf);
	H_ASSERT(&p, strstr(p.err.data, said), "-v should say \"%s\" on stderr", said);
	H_ASSERT_CLEAN(&p);
	h_run(&q, "--cgroup-base", H.base, "--", "sh", "-c", "exit 5");
	H_ASSERT_EXIT(&q, 5);
	H_ASSERT(&q, !strstr(q.err.data, "cgroup: running"), "without -v the leaf is not announced");
	free(said);
	free(leaf);
	h_proc_free(&q);
	h_proc_free(&p);
}
