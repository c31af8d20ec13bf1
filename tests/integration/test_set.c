/*
 * `supervise set` and `supervise stat` on a live run, as a user in another
 * shell sees them: what `set --jobs` answers (and whether it is refused) on a
 * run with and without a jobserver, `set --jobs auto`, and stat's process
 * table, heaviest first.
 */
#include "harness.h"

TestSuite(set, .init = h_setup, .fini = h_teardown, .timeout = 120);

/* Start supervise on `sleep 30` (extra options before --) and wait for its
 * control socket: `set` is only answered from then on. */
static void start_sleeper(struct h_proc *p, const char *name, const char *const *opts)
{
	const char *argv[24];
	size_t n = 0;
	argv[n++] = "--cgroup-base";
	argv[n++] = H.base;
	argv[n++] = "--name";
	argv[n++] = name;
	for (; opts && *opts && n < 16; opts++)
		argv[n++] = *opts;
	argv[n++] = "--";
	argv[n++] = "sleep";
	argv[n++] = "30";
	argv[n] = NULL;
	h_startv(p, NULL, argv);
	char *control = h_strf("%s/%s/control", H.runtime_dir, name);
	H_ASSERT(p, h_wait_exists(control, H_TIMEOUT_S), "no control socket %s", control);
	free(control);
}

static void stop(struct h_proc *p)
{
	kill(p->pid, SIGTERM);
	H_ASSERT(p, h_finish(p, 20), "supervise should end on SIGTERM");
	H_ASSERT_CLEAN(p);
}

/* Issue 15, item 8: without --jobs there is no jobserver; the reply says so
 * and names what did change, the advice page's jobs (clamped to the range). */
Test(set, jobs_without_a_jobserver_say_only_the_advice_page_follows)
{
	struct h_proc p, s;
	start_sleeper(&p, "nojs", NULL);
	h_run(&s, "set", "nojs", "--jobs", "3");
	H_ASSERT_EXIT(&s, 0);
	H_ASSERT(&s, strstr(s.out.data, "ok: jobs 3-3; this run has no jobserver (it started without --jobs), so no "
				       "job count changed: only the advice page's jobs follow the range"),
		 "the reply should say there is no jobserver and what changed");
	unsigned long long gen = 0;
	unsigned threads = 0, jobs = 0;
	const char *g = strstr(s.out.data, "advice generation ");
	H_ASSERT(&s, g && sscanf(g, "advice generation %llu: %u threads, %u jobs", &gen, &threads, &jobs) == 3,
		 "the reply should give the advice page's new figures");
	H_ASSERT(&s, jobs == 3, "the page should advise the 3 jobs of the range, advises %u", jobs);
	h_proc_free(&s);
	stop(&p);
	h_proc_free(&p);
}

/* No jobserver and no page (--advice env): --jobs would change nothing. The
 * whole request is refused (exit 1) and its other parts are not applied. */
Test(set, jobs_are_refused_when_nothing_would_change)
{
	struct h_proc p, s;
	start_sleeper(&p, "nopage", (const char *const[]){ "--advice", "env", NULL });
	h_run(&s, "set", "nopage", "--jobs", "3", "--mem", "1GiB");
	H_ASSERT_EXIT(&s, 1);
	H_ASSERT(&s, strstr(s.err.data, "--jobs would change nothing: this run has no jobserver (it started without "
					"--jobs) and no live advice page (--advice env); nothing was applied"),
		 "the refusal should say why and that nothing was applied");
	H_ASSERT(&s, !*s.out.data, "nothing on stdout for a refusal");
	h_proc_free(&s);

	h_run(&s, "stat", "nopage", "--json");
	H_ASSERT_EXIT(&s, 0);
	struct json_object *o = json_tokener_parse(s.out.data), *v = NULL;
	H_ASSERT(&s, o && json_object_object_get_ex(o, "budget_bytes", &v), "stat --json should have budget_bytes");
	H_ASSERT(&s, v == NULL, "the refused request's --mem must not be applied: budget_bytes is %s",
		 json_object_to_json_string(v));
	json_object_put(o);
	h_proc_free(&s);
	stop(&p);
	h_proc_free(&p);
}

/* set --jobs auto means what --jobs auto means at launch: 1 to 4 x the
 * CPUs. The jobserver takes the range (it says so with -v). */
Test(set, jobs_auto_is_accepted_as_at_launch)
{
	struct h_proc p, s;
	start_sleeper(&p, "jsauto", (const char *const[]){ "-v", "--jobs", "1", NULL });
	h_run(&s, "set", "jsauto", "--jobs", "auto");
	H_ASSERT_EXIT(&s, 0);
	unsigned lo = 0, hi = 0, per = 0, cpus = 0;
	const char *r = strstr(s.out.data, "ok: jobs auto: ");
	H_ASSERT(&s, r && sscanf(r, "ok: jobs auto: %u-%u (%u x %u CPUs)", &lo, &hi, &per, &cpus) == 4,
		 "the reply should give the range auto resolved to");
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	H_ASSERT(&s, lo == 1 && per == 4 && hi == 4 * cpus && cpus >= 1 && cpus <= (unsigned)online,
		 "auto should be 1 to 4 x CPUs (at most the %ld online), got %u-%u for %u CPUs", online, lo, hi, cpus);
	H_ASSERT(&s, !strstr(s.out.data, "no jobserver"), "this run has a jobserver");
	h_proc_free(&s);
	char *said = h_strf("jobserver: budget 0 MiB, 1-%u jobs at once", hi);
	for (double end = h_now() + 5; !strstr(p.err.data, said) && h_now() < end;)
		h_pump(&p, 20);
	H_ASSERT(&p, strstr(p.err.data, said), "the jobserver should take the range: \"%s\"", said);
	free(said);

	h_run(&s, "set", "jsauto", "--jobs", "automatic");
	H_ASSERT_EXIT(&s, 125);
	H_ASSERT(&s, strstr(s.err.data, "'automatic' is not a range") && strstr(s.err.data, "or auto"),
		 "a bad --jobs should be named, with the accepted forms");
	h_proc_free(&s);
	stop(&p);
	h_proc_free(&p);
}

/* ---- stat ------------------------------------------------------------------------ */

/* stat --json of run name; NULL until it parses. */
static struct json_object *stat_json(const char *name)
{
	struct h_proc s;
	h_run(&s, "stat", name, "--json");
	struct json_object *o = h_exited_with(&s, 0) ? json_tokener_parse(s.out.data) : NULL;
	h_proc_free(&s);
	return o;
}

static uint64_t proc_u64(struct json_object *e, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(e, key, &v) ? json_object_get_uint64(v) : 0;
}

#define MIB (1ull << 20)

/* Three memhogs of 16, 64 and 32 MiB (started in that order): stat lists
 * them 64, 32, 16 and their shell last, in both forms. A probe set of the
 * test's own: another tree's supervise replacing the shared set would leave
 * this run's figures where they were at that moment. */
Test(set, stat_lists_processes_heaviest_first, .init = h_private_pin_dir, .fini = h_remove_pin_dir)
{
	static const unsigned sizes[] = { 16, 64, 32 };
	struct h_proc p;
	const char *hog = h_helper("memhog");
	h_start(&p, "--cgroup-base", H.base, "--name", "hogs", "--", "sh", "-c",
		h_strf("%s 16 30 & %s 64 30 & %s 32 30 & wait", hog, hog, hog));

	/* The run is listed once its control socket is there (start-up may
	 * wait on the shared probe set while other runs load it). */
	char *control = h_strf("%s/hogs/control", H.runtime_dir);
	H_ASSERT(&p, h_wait_exists(control, H_TIMEOUT_S), "no control socket %s", control);
	free(control);
	/* Wait until each hog holds its size (the pid of each size, from JSON). */
	int pid_of[3] = { 0 };
	struct json_object *o = NULL;
	for (double end = h_now() + 20; h_now() < end; h_sleep_ms(100)) {
		json_object_put(o);
		o = stat_json("hogs");
		struct json_object *procs;
		if (!o || !json_object_object_get_ex(o, "processes", &procs))
			continue;
		int found = 0;
		for (size_t i = 0; i < json_object_array_length(procs); i++) {
			struct json_object *e = json_object_array_get_idx(procs, i), *c;
			uint64_t rss = proc_u64(e, "rss_bytes");
			if (!json_object_object_get_ex(e, "comm", &c) || strcmp(json_object_get_string(c), "memhog"))
				continue;
			/* Each hog's RSS is its size plus its text and libc: below 8 MiB more. */
			for (size_t k = 0; k < 3; k++)
				if (rss >= sizes[k] * MIB && rss < (sizes[k] + 8) * MIB)
					pid_of[k] = (int)proc_u64(e, "pid"), found++;
		}
		if (found == 3)
			break;
	}
	H_ASSERT(&p, pid_of[0] && pid_of[1] && pid_of[2], "stat --json should show the three hogs at 16, 64 and 32 "
		 "MiB: %s", o ? json_object_to_json_string(o) : "(no JSON)");

	/* JSON: rss_bytes never grows down the list. */
	struct json_object *procs;
	json_object_object_get_ex(o, "processes", &procs);
	for (size_t i = 1; i < json_object_array_length(procs); i++)
		H_ASSERT(&p, proc_u64(json_object_array_get_idx(procs, i - 1), "rss_bytes") >=
				     proc_u64(json_object_array_get_idx(procs, i), "rss_bytes"),
			 "stat --json's processes should be heaviest first: %s", json_object_to_json_string(procs));
	json_object_put(o);

	/* Text: the rows below the header are 64, 32, 16 MiB, then the shell. */
	struct h_proc s;
	h_run(&s, "stat", "hogs");
	H_ASSERT_EXIT(&s, 0);
	const char *row = strstr(s.out.data, "PID  COMM");
	H_ASSERT(&s, row, "stat should print its process table");
	int want[] = { pid_of[1], pid_of[2], pid_of[0] };
	row = strchr(row, '\n');
	for (size_t k = 0; k < 4; k++) {
		int pid = 0;
		char comm[32] = "";
		H_ASSERT(&s, row && sscanf(row + 1, "%d %31s", &pid, comm) == 2, "row %zu of the table", k + 1);
		if (k < 3)
			H_ASSERT(&s, pid == want[k], "row %zu should be the %u MiB hog (pid %d), is pid %d", k + 1,
				 (unsigned[]){ 64, 32, 16 }[k], want[k], pid);
		else
			H_ASSERT(&s, !strcmp(comm, "sh"), "the shell (about 1 MiB) comes last, row 4 is %s", comm);
		row = strchr(row + 1, '\n');
	}
	h_proc_free(&s);
	stop(&p);
	h_proc_free(&p);
}
