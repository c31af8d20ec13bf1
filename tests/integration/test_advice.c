/*
 * Runtime advice, live: the launch environment a workload sees, the example
 * pool following `supervise set`, and the map_count guard warning a
 * mapping-hungry program before its first ENOMEM.
 */
#include "harness.h"

TestSuite(advice, .init = h_setup, .fini = h_teardown, .timeout = 120);

/* The value of NAME in `env` output, or NULL. */
static char *env_value(const char *out, const char *name)
{
	size_t n = strlen(name);
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, name, n) && l[n] == '=')
			return strndup(l + n + 1, strcspn(l + n + 1, "\n"));
	return NULL;
}

static uint64_t mib_value(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	cr_assert(!strcmp(end, "MiB"), "GOMEMLIMIT %s is not in MiB", s);
	return (uint64_t)v << 20;
}

Test(advice, cpus_1_mem_1GiB_sets_the_runtime_variables)
{
	struct h_proc p;
	unsetenv("GOMAXPROCS");
	unsetenv("GOMEMLIMIT");
	h_run(&p, "-v", "--cgroup-base", H.base, "--cpus", "1", "--mem", "1GiB", "--", "env");
	H_ASSERT_EXIT(&p, 0);
	char *v = env_value(p.out.data, "GOMAXPROCS");
	H_ASSERT(&p, v && !strcmp(v, "1"), "GOMAXPROCS should be 1 under --cpus 1, is %s", v ? v : "(unset)");
	v = env_value(p.out.data, "GOMEMLIMIT");
	H_ASSERT(&p, v, "GOMEMLIMIT should be set under --mem 1GiB");
	uint64_t lim = mib_value(v);
	H_ASSERT(&p, lim < (1ull << 30) && lim >= (800ull << 20), "GOMEMLIMIT %s should be below 1 GiB, with at most "
		 "20%% headroom", v);
	static const char *const also[] = { "RAYON_NUM_THREADS", "OMP_NUM_THREADS", "INKO_PROCESS_THREADS",
					    "INKO_BACKUP_THREADS", "JAVA_TOOL_OPTIONS", "MALLOC_ARENA_MAX",
					    "NODE_OPTIONS", "CARGO_BUILD_JOBS", "SUPERVISE_ADVICE" };
	for (size_t i = 0; i < sizeof(also) / sizeof(also[0]); i++)
		H_ASSERT(&p, env_value(p.out.data, also[i]), "%s should be set", also[i]);
	v = env_value(p.out.data, "SUPERVISE_ADVICE");
	H_ASSERT(&p, !strncmp(v, H.runtime_dir, strlen(H.runtime_dir)), "the advice page %s should be in the run "
		 "directory under %s", v, H.runtime_dir);
	/* -v: one line per variable, saying why. */
	H_ASSERT(&p, strstr(p.err.data, "advice: GOMAXPROCS=1 (Go: ceil(cpus 1) = 1)"),
		 "-v should explain GOMAXPROCS");
	H_ASSERT(&p, strstr(p.err.data, "advice: GOMEMLIMIT=") && strstr(p.err.data, "90% of the budget"),
		 "-v should explain GOMEMLIMIT");
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
}

Test(advice, a_user_set_variable_is_kept)
{
	struct h_proc p;
	setenv("GOMAXPROCS", "3", 1);
	h_run(&p, "-v", "--cgroup-base", H.base, "--cpus", "1", "--", "env");
	unsetenv("GOMAXPROCS");
	H_ASSERT_EXIT(&p, 0);
	char *v = env_value(p.out.data, "GOMAXPROCS");
	H_ASSERT(&p, v && !strcmp(v, "3"), "the user's GOMAXPROCS=3 should be kept, is %s", v ? v : "(unset)");
	H_ASSERT(&p, h_count(p.out.data, "\nGOMAXPROCS=") + !strncmp(p.out.data, "GOMAXPROCS=", 11) == 1,
		 "GOMAXPROCS should appear once");
	H_ASSERT(&p, strstr(p.err.data, "advice: GOMAXPROCS kept as the user set it (3)"), "-v should say it was kept");
	v = env_value(p.out.data, "RAYON_NUM_THREADS");
	H_ASSERT(&p, v && !strcmp(v, "1"), "the other variables are still set");
	h_proc_free(&p);
}

Test(advice, advice_none_sets_nothing)
{
	struct h_proc p;
	unsetenv("SUPERVISE_ADVICE");
	h_run(&p, "--cgroup-base", H.base, "--advice", "none", "--cpus", "1", "--mem", "1GiB", "--", "env");
	H_ASSERT_EXIT(&p, 0);
	static const char *const vars[] = { "GOMAXPROCS", "GOMEMLIMIT", "RAYON_NUM_THREADS", "OMP_NUM_THREADS",
					    "INKO_PROCESS_THREADS", "INKO_BACKUP_THREADS", "JAVA_TOOL_OPTIONS",
					    "MALLOC_ARENA_MAX", "NODE_OPTIONS", "CARGO_BUILD_JOBS", "SUPERVISE_ADVICE" };
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		H_ASSERT(&p, !env_value(p.out.data, vars[i]), "--advice none should not set %s", vars[i]);
	h_proc_free(&p);
}

/* Issue 15, item 9: --advice env,-jvm sets every variable but the JVM's
 * (JAVA_TOOL_OPTIONS makes each JVM print "Picked up JAVA_TOOL_OPTIONS" on
 * stderr); env: no live page either. */
Test(advice, a_runtime_can_be_left_out)
{
	struct h_proc p;
	unsetenv("JAVA_TOOL_OPTIONS");
	unsetenv("SUPERVISE_ADVICE");
	h_run(&p, "-v", "--cgroup-base", H.base, "--advice", "env,-jvm", "--cpus", "1", "--mem", "1GiB", "--", "env");
	H_ASSERT_EXIT(&p, 0);
	char *v = env_value(p.out.data, "GOMAXPROCS");
	H_ASSERT(&p, v && !strcmp(v, "1"), "GOMAXPROCS should still be 1, is %s", v ? v : "(unset)");
	static const char *const kept[] = { "GOMEMLIMIT", "RAYON_NUM_THREADS", "MALLOC_ARENA_MAX", "NODE_OPTIONS" };
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		H_ASSERT(&p, env_value(p.out.data, kept[i]), "%s should be set", kept[i]);
	H_ASSERT(&p, !env_value(p.out.data, "JAVA_TOOL_OPTIONS"), "-jvm: no JAVA_TOOL_OPTIONS");
	H_ASSERT(&p, !env_value(p.out.data, "SUPERVISE_ADVICE"), "env: no live page");
	H_ASSERT(&p, strstr(p.err.data, "advice: nothing set for jvm"), "-v should say what was left out");
	h_proc_free(&p);
}

/* What a user of a JVM sees: the "Picked up" line, and none with -jvm. */
Test(advice, minus_jvm_silences_the_jvm_banner)
{
	/* scripts/setup.sh installs one (make check runs it): missing is a failure. */
	cr_assert(access("/usr/bin/java", X_OK) == 0,
		  "no JVM at /usr/bin/java: run scripts/setup.sh (apt-get install default-jre-headless)");
	struct h_proc p;
	unsetenv("JAVA_TOOL_OPTIONS");
	h_run(&p, "-q", "--cgroup-base", H.base, "--cpus", "1", "--", "/usr/bin/java", "-version");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.err.data, "Picked up JAVA_TOOL_OPTIONS: -XX:ActiveProcessorCount=1"),
		 "by default the JVM gets (and announces) JAVA_TOOL_OPTIONS");
	h_proc_free(&p);
	h_run(&p, "-q", "--cgroup-base", H.base, "--cpus", "1", "--advice", "all,-jvm", "--", "/usr/bin/java",
	      "-version");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.err.data, "version") && !strstr(p.err.data, "Picked up"),
		 "with -jvm the JVM should print its version and nothing about JAVA_TOOL_OPTIONS");
	h_proc_free(&p);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f && fputs(text, f) >= 0 && fclose(f) == 0, "writing %s: %s", path, strerror(errno));
}

/* A profile's [Advice] Mode= takes the same syntax; a bad runtime is named
 * with file:line and the valid ones. */
Test(advice, a_profile_leaves_runtimes_out_with_the_same_syntax)
{
	struct h_proc p;
	char *conf = h_strf("%s/svc.conf", H.scratch);
	unsetenv("JAVA_TOOL_OPTIONS");
	unsetenv("NODE_OPTIONS");
	unsetenv("SUPERVISE_ADVICE");
	write_text(conf, "[Resources]\nMemoryMax=1G\n[Advice]\nMode=all,-jvm,-node\n");
	h_run(&p, "--profile", conf, "--cgroup-base", H.base, "--", "env");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, env_value(p.out.data, "GOMEMLIMIT") && env_value(p.out.data, "SUPERVISE_ADVICE"),
		 "all: the variables and the live page");
	H_ASSERT(&p, !env_value(p.out.data, "JAVA_TOOL_OPTIONS") && !env_value(p.out.data, "NODE_OPTIONS"),
		 "-jvm,-node: neither JAVA_TOOL_OPTIONS nor NODE_OPTIONS");
	h_proc_free(&p);
	h_run(&p, "--profile", conf, "--print-profile");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.out.data, "Mode=all,-jvm,-node"), "--print-profile shows the mode as written");
	h_proc_free(&p);

	write_text(conf, "[Advice]\nMode=env,-perl\n");
	h_run(&p, "--profile", conf, "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, "svc.conf:2:") && strstr(p.err.data, "'perl' is not a runtime; use one of go, "
									   "rayon, openmp, inko, malloc, cargo, jvm, node"),
		 "a bad runtime in a profile is named with file:line and the valid names");
	h_proc_free(&p);
	free(conf);
}

/* A pool line: "pool: generation G: advised T threads, W workers running ...". */
static bool pool_line(const char *line, unsigned long long *gen, unsigned *advised, unsigned *workers)
{
	return sscanf(line, "pool: generation %llu: advised %u threads, %u workers running", gen, advised, workers) == 3;
}

/* Wait for the pool's first line reporting `advised` threads after offset. */
static char *wait_pool(struct h_proc *p, size_t *offset, unsigned advised, double timeout_s)
{
	double end = h_now() + timeout_s;
	for (;;) {
		const char *l = p->out.data + *offset;
		const char *nl;
		while ((nl = strchr(l, '\n'))) {
			unsigned long long g;
			unsigned a, w;
			char *line = strndup(l, nl - l);
			*offset = nl + 1 - p->out.data;
			if (pool_line(line, &g, &a, &w) && a == advised)
				return line;
			free(line);
			l = nl + 1;
		}
		if (h_now() > end || h_poll_exit(p))
			return NULL;
		h_pump(p, 20);
	}
}

static const char *pool_bin(void)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/../../examples/pool", H.helpers);
	cr_assert(access(path, X_OK) == 0, "examples/pool not built at %s (make test-bins)", path);
	return path;
}

/* supervise set NAME --cpus N: the reply's advice generation. */
static unsigned long long set_cpus(const char *name, const char *cpus, unsigned want_threads)
{
	struct h_proc s;
	h_run(&s, "set", name, "--cpus", cpus);
	H_ASSERT_EXIT(&s, 0);
	const char *g = strstr(s.out.data, "advice generation ");
	unsigned long long gen = 0;
	unsigned threads = 0;
	H_ASSERT(&s, g && sscanf(g, "advice generation %llu: %u threads", &gen, &threads) == 2,
		 "set should report the advice generation");
	H_ASSERT(&s, threads == want_threads, "--cpus %s should advise %u threads", cpus, want_threads);
	h_proc_free(&s);
	return gen;
}

Test(advice, the_example_pool_follows_supervise_set)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 2)
		cr_skip_test("needs 2 CPUs for a pool of 2 to shrink to 1 (this host has %ld)", ncpu);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--name", "pool-t", "--cpus", "2", "--", pool_bin(), "--duration", "20");
	size_t off = 0;
	char *line = wait_pool(&p, &off, 2, 10);
	unsigned long long g;
	unsigned a, w;
	H_ASSERT(&p, line && pool_line(line, &g, &a, &w) && w == 2, "the pool should start with 2 workers: %s",
		 line ? line : "(no line)");

	double t0 = h_now();
	unsigned long long gen = set_cpus("pool-t", "1", 1);
	line = wait_pool(&p, &off, 1, 5);
	double took = h_now() - t0;
	H_ASSERT(&p, line && pool_line(line, &g, &a, &w), "the pool should follow --cpus 1");
	H_ASSERT(&p, w == 1, "after set --cpus 1 the pool should run 1 worker: %s", line);
	/* Within one update: the generation set published, or the tick right after. */
	H_ASSERT(&p, g >= gen && g <= gen + 1, "the pool resized at generation %llu; set published %llu", g, gen);
	H_ASSERT(&p, took < 2.0, "the pool took %.2f s to follow", took);

	gen = set_cpus("pool-t", "2", 2);
	line = wait_pool(&p, &off, 2, 5);
	H_ASSERT(&p, line && pool_line(line, &g, &a, &w) && w == 2 && g >= gen && g <= gen + 1,
		 "the pool should grow back to 2 workers at generation %llu: %s", gen, line ? line : "(none)");

	kill(p.pid, SIGTERM);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT(&p, strstr(p.out.data, "pool: done"), "the pool should stop on SIGTERM forwarded by supervise");
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
}

Test(advice, set_refuses_an_unknown_run)
{
	struct h_proc s;
	h_run(&s, "set", "no-such-run", "--cpus", "1");
	H_ASSERT_EXIT(&s, 125);
	H_ASSERT(&s, strstr(s.err.data, "no running workload named 'no-such-run'"), "set should name the run");
	h_proc_free(&s);
}

/* ---- map_count guard ---------------------------------------------------------- */

static uint64_t mem_total_mib(void)
{
	char buf[4096];
	unsigned long long kib = 0;
	cr_assert(h_read_file("/proc/meminfo", buf, sizeof(buf)) > 0);
	sscanf(strstr(buf, "MemTotal:"), "MemTotal: %llu kB", &kib);
	return kib >> 10;
}

/* Wait (up to 60 s) for supervise to say what, then let maps-grow go on. */
static void open_gate_on(struct h_proc *p, const char *what, const char *gate)
{
	for (double end = h_now() + 60; !strstr(p->err.data, what) && h_now() < end && !h_poll_exit(p);)
		h_pump(p, 20);
	int fd = open(gate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert(fd >= 0, "creating %s: %s", gate, strerror(errno));
	close(fd);
}

/* A probe set of its own: another tree's supervise on this host (another
 * TRACK_VERSION) replacing the shared set mid-run took the 80 % crossing and
 * the final peak from this one. */
Test(advice, map_count_guard_warns_before_the_first_enomem, .init = h_private_pin_dir, .fini = h_remove_pin_dir)
{
	char buf[64];
	cr_assert(h_read_file("/proc/sys/vm/max_map_count", buf, sizeof(buf)) > 0);
	unsigned long limit = strtoul(buf, NULL, 10);
	if (limit > 1000000)
		cr_skip_test("vm.max_map_count is %lu: too many mappings to create in a test", limit);

	struct h_proc p;
	char *summary = h_strf("%s/summary.json", H.scratch);
	char *gate80 = h_strf("81:%s/gate80", H.scratch), *gate95 = h_strf("96:%s/gate95", H.scratch);
	/* 500 mappings every 5 ms: about a second to the limit, as a runtime
	 * growing fast would. Just past each level the helper waits for the
	 * warning: from 95 % to the limit is 40 ms of growth, which a loaded
	 * machine can take from supervise; the order of what the user reads is
	 * the contract, not its speed. */
	h_start(&p, "--cgroup-base", H.base, "--summary-json", summary, "--", h_helper("maps-grow"), "--batch", "500",
		"--pause-us", "5000", "--gate", gate80, "--gate", gate95);
	open_gate_on(&p, "80% of vm.max_map_count", strchr(gate80, ':') + 1);
	open_gate_on(&p, "95% of vm.max_map_count", strchr(gate95, ':') + 1);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 0);

	int pid = 0;
	long after = 0, count = 0;
	const char *enomem = strstr(p.err.data, "maps-grow: pid ");
	H_ASSERT(&p, enomem && sscanf(enomem, "maps-grow: pid %d: first ENOMEM from mmap after %ld mappings (map_count %ld)",
				      &pid, &after, &count) == 3, "the helper should report its first ENOMEM");

	char *w80 = h_strf("maps: pid %d (maps-grow) has ", pid);
	const char *first = strstr(p.err.data, w80);
	H_ASSERT(&p, first && first < enomem, "the guard should warn about pid %d (maps-grow) before its first ENOMEM",
		 pid);
	H_ASSERT(&p, strstr(first, "80% of vm.max_map_count") && strstr(first, "80% of vm.max_map_count") < enomem,
		 "the first warning is at 80%%");
	const char *w95 = strstr(first + 1, w80);
	H_ASSERT(&p, w95 && w95 < enomem && strstr(w95, "95% of vm.max_map_count"),
		 "a second warning at 95%% should come before the ENOMEM too");
	H_ASSERT(&p, h_count(p.err.data, w80) == 2, "once per level, not more");

	/* The sysctl line: above the limit, at most the 4 x RAM reference. */
	unsigned long long value = 0;
	const char *s = strstr(first, "sysctl -w vm.max_map_count=");
	H_ASSERT(&p, s && sscanf(s, "sysctl -w vm.max_map_count=%llu", &value) == 1, "the warning names the sysctl line");
	uint64_t upper = 4 * mem_total_mib();
	H_ASSERT(&p, value > limit && (value <= upper || upper <= limit),
		 "suggested %llu should be above the limit %lu and at most 4 x RAM in MiB = %llu", value, limit,
		 (unsigned long long)upper);

	/* The summary agrees with what the program saw. */
	struct json_object *o = json_object_from_file(summary), *maps, *v;
	H_ASSERT(&p, o && json_object_object_get_ex(o, "maps", &maps), "summary %s with maps", summary);
	cr_assert(json_object_object_get_ex(maps, "max_map_count", &v) && json_object_get_int64(v) == (int64_t)limit,
		  "maps.max_map_count %s, want %lu", json_object_to_json_string(v), limit);
	cr_assert(json_object_object_get_ex(maps, "peak_pid", &v) && json_object_get_int(v) == pid,
		  "maps.peak_pid %s, want %d", json_object_to_json_string(v), pid);
	cr_assert(json_object_object_get_ex(maps, "peak_comm", &v) && !strcmp(json_object_get_string(v), "maps-grow"),
		  "maps.peak_comm %s", json_object_to_json_string(v));
	cr_assert(json_object_object_get_ex(maps, "peak_map_count", &v), "maps.peak_map_count");
	int64_t peak = json_object_get_int64(v);
	/* The helper counted the lines of /proc/self/maps after the failure:
	 * that list has the [vsyscall] gate area, which is not a VMA of the mm
	 * (x86-64), so map_count is one less. */
	cr_assert(peak >= count - 1 && peak <= count + 1 && peak >= (int64_t)limit - 2,
		  "maps.peak_map_count %lld should equal the helper's /proc/self/maps count %ld (+-1) and be at "
		  "the limit %lu", (long long)peak, count, limit);
	json_object_put(o);
	free(gate80);
	free(gate95);
	h_proc_free(&p);
}
