/* The pure parts of the advice: the figures, the launch environment, the
 * map_count guard's thresholds and suggestion, `supervise set` requests, and
 * the seqlock page read by libsupervise-advice while it is written. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "advice-page.h"
#include "advice.h"
#include "control.h"
#include "mapguard.h"
#include "supervise/advice.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)

static struct advice compute(double cpus, unsigned online, uint64_t budget, uint64_t usage)
{
	struct advice_input in = { .cpus = cpus, .online_cpus = online, .budget_bytes = budget, .usage_bytes = usage };
	struct advice a;
	advice_compute(&in, &a);
	return a;
}

Test(advice, threads_round_the_quota_up_and_stay_within_the_cpus)
{
	cr_expect_eq(compute(1, 8, 0, 0).threads, 1);
	cr_expect_eq(compute(1.5, 8, 0, 0).threads, 2);
	cr_expect_eq(compute(0.25, 8, 0, 0).threads, 1);
	cr_expect_eq(compute(16, 2, 0, 0).threads, 2, "a quota above the CPUs gives one thread per CPU");
	cr_expect_eq(compute(0, 6, 0, 0).threads, 6, "without a quota: the CPUs");
	cr_expect_eq(compute(1.5, 8, 0, 0).cpus_milli, 1500);
	cr_expect_eq(compute(0, 6, 0, 0).cpus_milli, 6000);
}

Test(advice, headroom_and_jobs_follow_the_budget)
{
	struct advice a = compute(0, 8, 4 * GiB, 1 * GiB);
	cr_expect_eq(a.headroom_bytes, 3 * GiB);
	cr_expect_eq(a.jobs, 6, "3 GiB of headroom holds 6 jobs of 512 MiB: %u", a.jobs);
	a = compute(0, 8, 1 * GiB, 2 * GiB);
	cr_expect_eq(a.headroom_bytes, 0, "over the budget: no headroom");
	cr_expect_eq(a.jobs, 1, "at least one job");
	cr_expect_eq(compute(0, 8, 0, 5 * GiB).headroom_bytes, UINT64_MAX, "no budget: unbounded");
	cr_expect_eq(compute(2, 8, 0, 0).jobs, 2, "no budget: jobs = threads");
}

Test(advice, jobs_take_the_governor_decision_within_the_range)
{
	struct advice_input in = { .cpus = 4, .online_cpus = 8, .jobs_target = 7 };
	struct advice a;
	advice_compute(&in, &a);
	cr_expect_eq(a.jobs, 7, "the governor's target is taken as is");
	in.jobs_min = 2;
	in.jobs_max = 5;
	advice_compute(&in, &a);
	cr_expect_eq(a.jobs, 5, "clamped to --jobs 2-5");
	in.jobs_target = 0;
	in.budget_bytes = 600 * MiB;
	advice_compute(&in, &a);
	cr_expect_eq(a.jobs, 2, "one job fits the budget but --jobs says at least 2");
}

/* A fake environment for advice_env_vars. */
static const char *fake_env[8][2];
static const char *fake_lookup(const char *name, void *userdata)
{
	for (size_t i = 0; i < 8 && fake_env[i][0]; i++)
		if (!strcmp(fake_env[i][0], name))
			return fake_env[i][1];
	return NULL;
}

static const struct advice_var *find(const struct advice_var *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static size_t vars_for(double cpus, uint64_t budget, struct advice_var *v)
{
	struct advice_input in = { .cpus = cpus, .online_cpus = 2, .budget_bytes = budget };
	struct advice a;
	advice_compute(&in, &a);
	return advice_env_vars(&in, &a, fake_lookup, NULL, v, ADVICE_MAX_VARS);
}

Test(advice_env, cpus_1_mem_1GiB)
{
	struct advice_var v[ADVICE_MAX_VARS];
	memset(fake_env, 0, sizeof(fake_env));
	size_t n = vars_for(1, 1 * GiB, v);
	static const struct { const char *name, *value; } want[] = {
		{ "GOMAXPROCS", "1" }, { "RAYON_NUM_THREADS", "1" }, { "OMP_NUM_THREADS", "1" },
		{ "INKO_PROCESS_THREADS", "1" }, { "INKO_BACKUP_THREADS", "4" }, { "GOMEMLIMIT", "921MiB" },
		{ "MALLOC_ARENA_MAX", "2" }, { "CARGO_BUILD_JOBS", "1" },
		{ "JAVA_TOOL_OPTIONS", "-XX:ActiveProcessorCount=1 -XX:MaxRAM=1024m" },
		{ "NODE_OPTIONS", "--max-old-space-size=768" },
	};
	cr_expect_eq(n, sizeof(want) / sizeof(want[0]), "%zu variables", n);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct advice_var *x = find(v, n, want[i].name);
		cr_assert(x, "%s missing", want[i].name);
		cr_expect_str_eq(x->value, want[i].value, "%s", want[i].name);
		cr_expect(!x->user_set && !x->appended, "%s", want[i].name);
		cr_expect(x->why[0], "%s has no explanation", want[i].name);
	}
}

Test(advice_env, nothing_without_a_quota_or_budget)
{
	struct advice_var v[ADVICE_MAX_VARS];
	memset(fake_env, 0, sizeof(fake_env));
	cr_expect_eq(vars_for(0, 0, v), 0);
	size_t n = vars_for(0, 2 * GiB, v);
	cr_expect(!find(v, n, "GOMAXPROCS"), "no quota: GOMAXPROCS left to Go");
	cr_expect(find(v, n, "GOMEMLIMIT"));
	n = vars_for(2, 0, v);
	cr_expect(!find(v, n, "GOMEMLIMIT"), "no budget: no GOMEMLIMIT");
	cr_expect_str_eq(find(v, n, "JAVA_TOOL_OPTIONS")->value, "-XX:ActiveProcessorCount=2");
}

Test(advice_env, user_values_are_kept_and_options_extended)
{
	struct advice_var v[ADVICE_MAX_VARS];
	memset(fake_env, 0, sizeof(fake_env));
	fake_env[0][0] = "GOMAXPROCS", fake_env[0][1] = "3";
	fake_env[1][0] = "JAVA_TOOL_OPTIONS", fake_env[1][1] = "-Xss1m -XX:MaxRAM=4g";
	fake_env[2][0] = "NODE_OPTIONS", fake_env[2][1] = "--max-old-space-size=100";
	size_t n = vars_for(1, 1 * GiB, v);
	const struct advice_var *x = find(v, n, "GOMAXPROCS");
	cr_expect(x->user_set);
	cr_expect_str_eq(x->value, "3");
	x = find(v, n, "JAVA_TOOL_OPTIONS");
	cr_expect(x->appended && !x->user_set);
	cr_expect_str_eq(x->value, "-Xss1m -XX:MaxRAM=4g -XX:ActiveProcessorCount=1", "the user's MaxRAM stays");
	x = find(v, n, "NODE_OPTIONS");
	cr_expect(x->user_set, "the user's --max-old-space-size stays");
	cr_expect_str_eq(x->value, "--max-old-space-size=100");
}

Test(advice_env, build_keeps_user_values_and_replaces_extended_ones)
{
	struct advice_var v[ADVICE_MAX_VARS];
	memset(fake_env, 0, sizeof(fake_env));
	fake_env[0][0] = "GOMAXPROCS", fake_env[0][1] = "3";
	fake_env[1][0] = "JAVA_TOOL_OPTIONS", fake_env[1][1] = "-Xss1m";
	size_t n = vars_for(1, 1 * GiB, v);
	char *environ_[] = { "PATH=/bin", "GOMAXPROCS=3", "JAVA_TOOL_OPTIONS=-Xss1m", "SUPERVISE_ADVICE=/old", NULL };
	char **env = advice_env_build(environ_, v, n, "/run/supervise/x/advice");
	cr_assert(env);
	int gomax = 0, java = 0, page = 0, path = 0;
	for (char **e = env; *e; e++) {
		gomax += !strncmp(*e, "GOMAXPROCS=", 11);
		java += !strncmp(*e, "JAVA_TOOL_OPTIONS=", 18);
		page += !strncmp(*e, "SUPERVISE_ADVICE=", 17);
		path += !strcmp(*e, "PATH=/bin");
		if (!strncmp(*e, "GOMAXPROCS=", 11))
			cr_expect_str_eq(*e, "GOMAXPROCS=3");
		if (!strncmp(*e, "JAVA_TOOL_OPTIONS=", 18))
			cr_expect_str_eq(*e, "JAVA_TOOL_OPTIONS=-Xss1m -XX:ActiveProcessorCount=1 -XX:MaxRAM=1024m");
		if (!strncmp(*e, "SUPERVISE_ADVICE=", 17))
			cr_expect_str_eq(*e, "SUPERVISE_ADVICE=/run/supervise/x/advice");
	}
	cr_expect(gomax == 1 && java == 1 && page == 1 && path == 1, "each once: %d %d %d %d", gomax, java, page, path);
	advice_env_free(env);
}

Test(advice, pressure_avg10)
{
	uint32_t v = 7;
	cr_expect_eq(advice_parse_pressure("some avg10=12.34 avg60=0.00 avg300=0.00 total=1\n"
					   "full avg10=1.00 avg60=0.00 avg300=0.00 total=1\n", &v), 0);
	cr_expect_eq(v, 1234);
	cr_expect_eq(advice_parse_pressure("full avg10=1.00\n", &v), -EINVAL);
	cr_expect_eq(advice_parse_pressure("some avg10=x\n", &v), -EINVAL);
}

Test(mapguard, thresholds_and_suggestion)
{
	uint32_t w, l;
	bool capped;
	mapguard_thresholds(65530, &w, &l);
	cr_expect_eq(w, 52424);
	cr_expect_eq(l, 62253);
	/* Slow growth: twice the count, to a multiple of 65536, below 4 x RAM. */
	cr_expect_eq(mapguard_suggest(65530, 52424, 10, 64 * 1024, &capped), 131072);
	cr_expect(!capped);
	/* Ten minutes of 100/s growth: 52424 + 60000 → 131072 too; 1000/s → 655360. */
	cr_expect_eq(mapguard_suggest(65530, 52424, 1000, 1024 * 1024, &capped), 655360);
	/* Capped at 4 x RAM in MiB (24 GiB: 98304) with a leak-like growth. */
	cr_expect_eq(mapguard_suggest(65530, 52424, 60000, 24576, &capped), 98304);
	cr_expect(capped);
	/* Always above the current limit, even when the reference is below it. */
	cr_expect_gt(mapguard_suggest(262144, 209716, 0, 16384, &capped), 262144);
}

/* Issue 9, item 7: a 236-character JAVA_TOOL_OPTIONS reached the JVM ending
 * in "-XX:ActiveProcesso". Nothing is ever cut: what does not fit is left
 * out whole and the user's value stays as it was. */
Test(advice_env, a_long_user_value_is_never_cut)
{
	struct advice_var v[ADVICE_MAX_VARS];
	char java[237], node[250];
	memset(java, 'x', sizeof(java) - 1);
	memcpy(java, "-Dpad=", 6);
	java[sizeof(java) - 1] = '\0';
	memset(node, 'y', sizeof(node) - 1);
	memcpy(node, "--title=", 8);
	node[sizeof(node) - 1] = '\0';
	memset(fake_env, 0, sizeof(fake_env));
	fake_env[0][0] = "JAVA_TOOL_OPTIONS", fake_env[0][1] = java;
	fake_env[1][0] = "NODE_OPTIONS", fake_env[1][1] = node;
	size_t n = vars_for(1, 1 * GiB, v);
	const struct advice_var *x = find(v, n, "JAVA_TOOL_OPTIONS");
	cr_assert(x);
	cr_expect(x->user_set && !x->appended, "too long to extend: kept as the user set it");
	cr_expect_str_eq(x->value, java);
	x = find(v, n, "NODE_OPTIONS");
	cr_expect(x->user_set && !x->appended);
	char *environ_[] = { "JAVA_TOOL_OPTIONS=placeholder", NULL };
	char *full = NULL;
	cr_assert(asprintf(&full, "JAVA_TOOL_OPTIONS=%s", java) > 0);
	environ_[0] = full;
	char **env = advice_env_build(environ_, v, n, NULL);
	cr_assert(env);
	int seen = 0;
	for (char **e = env; *e; e++)
		if (!strncmp(*e, "JAVA_TOOL_OPTIONS=", 18)) {
			seen++;
			cr_expect_str_eq(*e, full, "the workload gets the user's value whole");
		}
	cr_expect_eq(seen, 1);
	advice_env_free(env);
	free(full);

	/* Just short enough: extended, whole flags at the end. */
	java[200] = '\0';
	n = vars_for(1, 1 * GiB, v);
	x = find(v, n, "JAVA_TOOL_OPTIONS");
	cr_expect(x->appended);
	size_t len = strlen(x->value);
	cr_expect(len == 200 + strlen(" -XX:ActiveProcessorCount=1 -XX:MaxRAM=1024m") &&
			  !strcmp(x->value + 200, " -XX:ActiveProcessorCount=1 -XX:MaxRAM=1024m"),
		  "%s", x->value);
}

/* Issue 9, item 17: a request never goes out cut. */
Test(control, format_refuses_what_does_not_fit)
{
	struct control_request a = { .has_mem = true, .has_jobs = true, .jobs_min = 1, .jobs_max = 4 };
	char buf[16];
	snprintf(a.mem, sizeof(a.mem), "1073741824");
	cr_expect_lt(control_format(&a, buf, sizeof(buf)), 0, "\"mem=1073741824\\njobs=1-4\\n\" needs 25 bytes");
}

Test(control, jobs_ranges)
{
	unsigned lo, hi;
	cr_expect_eq(control_parse_jobs("2-8", &lo, &hi), 0);
	cr_expect(lo == 2 && hi == 8);
	cr_expect_eq(control_parse_jobs("4", &lo, &hi), 0);
	cr_expect(lo == 4 && hi == 4);
	cr_expect_lt(control_parse_jobs("8-2", &lo, &hi), 0);
	cr_expect_lt(control_parse_jobs("0-2", &lo, &hi), 0);
	cr_expect_lt(control_parse_jobs("two", &lo, &hi), 0);
	cr_expect_lt(control_parse_jobs("2-", &lo, &hi), 0);
}

Test(control, request_round_trip)
{
	struct control_request a = { .has_mem = true, .has_cpus = true, .has_jobs = true, .cpus = 1.5,
				     .jobs_min = 1, .jobs_max = 4 }, b;
	char buf[256];
	snprintf(a.mem, sizeof(a.mem), "80%%");
	cr_assert_gt(control_format(&a, buf, sizeof(buf)), 0);
	cr_assert_eq(control_parse(buf, &b), 0, "%s", buf);
	cr_expect(b.has_mem && b.has_cpus && b.has_jobs);
	cr_expect_str_eq(b.mem, "80%");
	cr_expect_float_eq(b.cpus, 1.5, 1e-9);
	cr_expect(b.jobs_min == 1 && b.jobs_max == 4);
	cr_expect_lt(control_parse("mem=lots\n", &b), 0);
	cr_expect_lt(control_parse("pids=3\n", &b), 0);
	cr_expect_lt(control_parse("", &b), 0);
}

/* set --jobs auto: the supervisor resolves it from its CPUs, as at launch. */
Test(control, jobs_auto_round_trip)
{
	struct control_request a = { .has_jobs = true, .jobs_auto = true }, b;
	char buf[64];
	cr_assert_gt(control_format(&a, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "jobs=auto\n");
	cr_assert_eq(control_parse(buf, &b), 0);
	cr_expect(b.has_jobs && b.jobs_auto);
	cr_assert_eq(control_parse("jobs=2-3\n", &b), 0);
	cr_expect(!b.jobs_auto && b.jobs_min == 2 && b.jobs_max == 3);
	cr_expect_lt(control_parse("jobs=automatic\n", &b), 0);
	unsigned lo, hi;
	control_jobs_auto(2, &lo, &hi);
	cr_expect(lo == 1 && hi == 8, "2 CPUs: 1-8, got %u-%u", lo, hi);
	control_jobs_auto(0, &lo, &hi);
	cr_expect(lo == 1 && hi == 4, "no count known: one CPU");
	control_jobs_auto(4000, &lo, &hi);
	cr_expect_eq(hi, 4096, "never above the 4096 a range allows");
}

/* ---- --advice MODE[,-RUNTIME...] ---------------------------------------------- */

Test(advice_mode, modes_and_exclusions)
{
	enum advice_mode m;
	unsigned x;
	char err[256], back[64];
	cr_assert_eq(advice_parse("env,-jvm", &m, &x, err, sizeof(err)), 0, "%s", err);
	cr_expect(m == ADVICE_ENV && x == 1u << ADVICE_JVM);
	cr_assert_eq(advice_parse("all", &m, &x, err, sizeof(err)), 0);
	cr_expect(m == ADVICE_ALL && x == 0);
	cr_assert_eq(advice_parse("none", &m, &x, err, sizeof(err)), 0);
	cr_expect(m == ADVICE_NONE);
	cr_assert_eq(advice_parse("all,-node,-go,-jvm,-go", &m, &x, err, sizeof(err)), 0);
	cr_expect_eq(x, (1u << ADVICE_NODE) | (1u << ADVICE_GO) | (1u << ADVICE_JVM), "a repeat is the same exclusion");
	advice_format(m, x, back, sizeof(back));
	cr_expect_str_eq(back, "all,-go,-jvm,-node", "printed in the table's order");
	advice_runtime_names(x, back, sizeof(back));
	cr_expect_str_eq(back, "go, jvm, node");
	static const char *const names[] = { "go", "rayon", "openmp", "inko", "malloc", "cargo", "jvm", "node" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char s[32];
		snprintf(s, sizeof(s), "env,-%s", names[i]);
		cr_expect_eq(advice_parse(s, &m, &x, err, sizeof(err)), 0, "%s: %s", s, err);
		cr_expect(strstr(ADVICE_RUNTIME_LIST, names[i]), "%s is in the list messages give", names[i]);
	}
}

Test(advice_mode, bad_input_is_named)
{
	enum advice_mode m = ADVICE_ENV;
	unsigned x = 7;
	char err[256];
	static const struct { const char *in, *says; } bad[] = {
		{ "env,-perl", "'perl' is not a runtime; use one of go, rayon, openmp, inko, malloc, cargo, jvm, node" },
		{ "env,jvm", "'jvm': after the mode come runtimes to leave out, each as -RUNTIME" },
		{ "env,-", "'-': after the mode" },
		{ "env,", "'': after the mode" },
		{ "-jvm", "'-jvm' is not a mode; use all, env or none" },
		{ "", "'' is not a mode" },
		{ "alll", "'alll' is not a mode" },
		{ "none,-jvm", "none sets no variable" },
		{ "env,-JVM", "'JVM' is not a runtime" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(advice_parse(bad[i].in, &m, &x, err, sizeof(err)), -EINVAL, "'%s' accepted", bad[i].in);
		cr_expect(strstr(err, bad[i].says), "'%s': the message should say \"%s\", says \"%s\"", bad[i].in,
			  bad[i].says, err);
	}
	cr_expect(m == ADVICE_ENV && x == 7, "a refused value changes nothing");
}

Test(advice_env, an_excluded_runtime_gets_no_variable)
{
	struct advice_var v[ADVICE_MAX_VARS];
	memset(fake_env, 0, sizeof(fake_env));
	struct advice_input in = { .cpus = 1, .online_cpus = 2, .budget_bytes = GiB,
				   .excluded = 1u << ADVICE_JVM | 1u << ADVICE_INKO };
	struct advice a;
	advice_compute(&in, &a);
	size_t n = advice_env_vars(&in, &a, fake_lookup, NULL, v, ADVICE_MAX_VARS);
	cr_expect_eq(n, 7, "10 variables less JAVA_TOOL_OPTIONS and the two INKO_*: %zu", n);
	cr_expect(!find(v, n, "JAVA_TOOL_OPTIONS") && !find(v, n, "INKO_PROCESS_THREADS") &&
		  !find(v, n, "INKO_BACKUP_THREADS"));
	cr_expect(find(v, n, "GOMAXPROCS") && find(v, n, "NODE_OPTIONS") && find(v, n, "CARGO_BUILD_JOBS"));
	in.excluded = (1u << NR_ADVICE_RUNTIMES) - 1;
	cr_expect_eq(advice_env_vars(&in, &a, fake_lookup, NULL, v, ADVICE_MAX_VARS), 0, "every runtime left out");
}

/* ---- the seqlock page ------------------------------------------------------ */

static char page_path[64];

static void page_setup(void)
{
	snprintf(page_path, sizeof(page_path), "/tmp/sv-unit-advice-%d", (int)getpid());
}

static void page_teardown(void)
{
	unlink(page_path);
}

/* Every field is a function of one counter i: a record mixing two updates
 * breaks one of these equalities. */
static void record_of(uint64_t i, struct sv_advice *a)
{
	memset(a, 0, sizeof(*a));
	a->threads = (uint32_t)i;
	a->jobs = (uint32_t)(i ^ 0x5555);
	a->jobs_min = (uint32_t)(i * 3);
	a->jobs_max = (uint32_t)(i * 5);
	a->cpus_milli = (uint32_t)(i * 7);
	a->budget_bytes = i << 20;
	a->usage_bytes = i * 4095;
	a->headroom_bytes = a->budget_bytes - a->usage_bytes;
	a->max_map_count = 65530;
	a->map_count_worst = (uint32_t)(i % 65530);
	a->map_count_worst_pid = (uint32_t)(i + 1);
	a->map_count_headroom = 65530 - a->map_count_worst;
	a->mem_pressure_x100 = (uint32_t)(i * 11);
	a->cpu_pressure_x100 = (uint32_t)(i * 13);
}

static bool consistent(const struct sv_advice *a)
{
	struct sv_advice want;
	record_of(a->threads, &want);
	want.generation = a->generation;
	want.updated_ns = a->updated_ns;
	return !memcmp(&want, a, sizeof(want)) && (a->generation == 0 || a->generation == a->threads);
}

static atomic_bool writer_done;
static atomic_ulong reads, torn;

static void *reader(void *arg)
{
	sv_advice_handle *h = arg;
	struct sv_advice a;
	uint64_t last = 0;
	while (!atomic_load(&writer_done)) {
		cr_assert_eq(sv_advice_read(h, &a), 0);
		if (!consistent(&a) || a.generation < last)
			atomic_fetch_add(&torn, 1);
		last = a.generation;
		atomic_fetch_add(&reads, 1);
	}
	return NULL;
}

Test(advice_page, readers_never_see_a_torn_record, .init = page_setup, .fini = page_teardown, .timeout = 60)
{
	struct advice_page *w;
	sv_advice_handle *h;
	struct sv_advice a;
	pthread_t t[2];

	cr_assert_eq(advice_page_create(page_path, &w), 0);
	cr_assert_eq(sv_advice_open(page_path, &h), 0);
	record_of(1, &a);
	advice_page_publish(w, &a);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, reader, h);
	const uint64_t updates = 300000;
	for (uint64_t i = 2; i <= updates; i++) {
		record_of(i, &a);
		advice_page_publish(w, &a);
	}
	atomic_store(&writer_done, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_expect_eq(atomic_load(&torn), 0, "%lu of %lu reads saw a torn or older record", atomic_load(&torn),
		     atomic_load(&reads));
	cr_expect_gt(atomic_load(&reads), 1000, "the readers ran alongside the writer (%lu reads)",
		     atomic_load(&reads));
	cr_assert_eq(sv_advice_read(h, &a), 0);
	cr_expect_eq(a.generation, updates);
	cr_expect_eq(a.threads, updates);
	sv_advice_close(h);
	advice_page_close(w);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *publish_later(void *arg)
{
	struct advice_page *w = arg;
	struct sv_advice a;
	usleep(200 * 1000);
	record_of(2, &a);
	advice_page_publish(w, &a);
	return NULL;
}

Test(advice_page, wait_sleeps_until_an_update_or_the_timeout, .init = page_setup, .fini = page_teardown)
{
	struct advice_page *w;
	sv_advice_handle *h;
	struct sv_advice a;
	pthread_t t;

	cr_assert_eq(advice_page_create(page_path, &w), 0);
	cr_assert_eq(sv_advice_open(page_path, &h), 0);
	record_of(1, &a);
	advice_page_publish(w, &a);
	sv_advice_read(h, &a);
	cr_expect_eq(a.generation, 1);

	double t0 = mono();
	cr_expect_eq(sv_advice_wait(h, a.generation, 150), 0, "no update: timed out");
	double waited = mono() - t0;
	cr_expect(waited >= 0.14 && waited < 1.0, "waited %.3f s for a 150 ms timeout", waited);

	cr_expect_eq(sv_advice_wait(h, 0, 0), 1, "a generation other than the seen one returns at once");

	pthread_create(&t, NULL, publish_later, w);
	t0 = mono();
	cr_expect_eq(sv_advice_wait(h, a.generation, 5000), 1, "woken by the update");
	waited = mono() - t0;
	pthread_join(t, NULL);
	cr_expect(waited >= 0.15 && waited < 1.0, "woken after %.3f s; the update came at 0.2 s", waited);
	sv_advice_read(h, &a);
	cr_expect_eq(a.generation, 2);
	cr_expect_eq(a.threads, 2);

	advice_page_close(w);
	sv_advice_read(h, &a);
	cr_expect(a.flags & SV_ADVICE_ENDED, "closing marks the page ended");
	sv_advice_close(h);
}

Test(advice_page, open_refuses_what_is_not_a_page, .init = page_setup, .fini = page_teardown)
{
	sv_advice_handle *h;
	FILE *f = fopen(page_path, "w");
	cr_assert(f);
	for (int i = 0; i < 4096; i++)
		fputc('x', f);
	fclose(f);
	cr_expect_eq(sv_advice_open(page_path, &h), -EPROTO);
	cr_expect_eq(sv_advice_open("/nonexistent/advice", &h), -ENOENT);
	unsetenv("SUPERVISE_ADVICE");
	cr_expect_eq(sv_advice_open(NULL, &h), -ENOENT);
}
