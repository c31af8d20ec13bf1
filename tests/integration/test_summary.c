/*
 * --summary-json PATH: written when the run ends, whatever the way it ends, with
 * the keys and types of DESIGN.md's contract. Every run has a monitor, so the
 * figures it measures are never null; only what this host cannot measure
 * (memory.peak without the v2 memory controller) may be.
 */
#include "harness.h"

TestSuite(summary, .init = h_setup, .fini = h_teardown, .timeout = 120);

/* A member of an object, failing the test when it is absent. */
static struct json_object *member(struct json_object *o, const char *where, const char *key, const char *text)
{
	struct json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "summary: %s has no \"%s\" key\n%s", where, key, text);
	return v;
}

static bool is_int(struct json_object *v)
{
	return json_object_is_type(v, json_type_int);
}

static bool is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* A count or measurement the monitor always makes: a non-negative integer. */
static int64_t expect_count(struct json_object *o, const char *where, const char *key, const char *text)
{
	struct json_object *v = member(o, where, key, text);
	cr_assert(is_int(v) && json_object_get_int64(v) >= 0, "summary: %s.%s should be a non-negative integer: %s\n%s",
		  where, key, json_object_to_json_string(v), text);
	return json_object_get_int64(v);
}

/* A count or measurement: a non-negative integer, or null where this host cannot measure it. */
static void expect_count_or_null(struct json_object *o, const char *where, const char *key, const char *text)
{
	struct json_object *v = member(o, where, key, text);
	cr_assert(v == NULL || (is_int(v) && json_object_get_int64(v) >= 0),
		  "summary: %s.%s should be a non-negative integer or null: %s\n%s", where, key,
		  json_object_to_json_string(v), text);
}

static void expect_string_in(struct json_object *o, const char *where, const char *key, const char *const *allowed,
			     bool null_ok, const char *text)
{
	struct json_object *v = member(o, where, key, text);
	if (null_ok && v == NULL)
		return;
	cr_assert(json_object_is_type(v, json_type_string), "summary: %s.%s should be a string\n%s", where, key,
		  text);
	for (size_t i = 0; allowed[i]; i++)
		if (!strcmp(json_object_get_string(v), allowed[i]))
			return;
	cr_assert_fail("summary: %s.%s = \"%s\" is not an allowed value\n%s", where, key, json_object_get_string(v),
		       text);
}

/* Read PATH written by a finished run; check every key of the contract. */
static struct json_object *load_and_check(const char *path, const struct h_proc *p, int exit_status,
					  int64_t budget /* -1: null */, const char *name,
					  const char *const *command)
{
	cr_assert(h_exists(path), "no summary at %s" H_SHOW_FMT, path, H_SHOW_ARGS(p));
	struct json_object *o = json_object_from_file(path);
	char text[8192] = "";
	h_read_file(path, text, sizeof(text));
	cr_assert(o && json_object_is_type(o, json_type_object), "summary %s is not a JSON object: %s", path, text);

	struct json_object *v = member(o, "top level", "version", text);
	cr_assert(is_int(v) && json_object_get_int(v) == 1, "summary: version should be 1\n%s", text);
	v = member(o, "top level", "name", text);
	cr_assert(json_object_is_type(v, json_type_string) && !strcmp(json_object_get_string(v), name),
		  "summary: name should be \"%s\"\n%s", name, text);

	v = member(o, "top level", "command", text);
	cr_assert(json_object_is_type(v, json_type_array), "summary: command should be an array\n%s", text);
	size_t n = 0;
	while (command[n])
		n++;
	cr_assert(json_object_array_length(v) == n, "summary: command should have %zu elements\n%s", n, text);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		cr_assert(json_object_is_type(e, json_type_string) && !strcmp(json_object_get_string(e), command[i]),
			  "summary: command[%zu] should be \"%s\"\n%s", i, command[i], text);
	}

	v = member(o, "top level", "cgroup", text);
	char *prefix = h_strf("%s/supervise/%s-", H.base, name);
	cr_assert(json_object_is_type(v, json_type_string) &&
			  !strncmp(json_object_get_string(v), prefix, strlen(prefix)),
		  "summary: cgroup should be the leaf %s<id>\n%s", prefix, text);
	free(prefix);

	static const char *const backends[] = { "bpf", "procfs", NULL };
	expect_string_in(o, "top level", "backend", backends, false, text);
	v = member(o, "top level", "exit_status", text);
	cr_assert(is_int(v) && json_object_get_int(v) == exit_status, "summary: exit_status should be %d\n%s",
		  exit_status, text);
	v = member(o, "top level", "wall_seconds", text);
	cr_assert(is_number(v) && json_object_get_double(v) >= 0, "summary: wall_seconds should be a number\n%s",
		  text);

	struct json_object *mem = member(o, "top level", "memory", text);
	cr_assert(json_object_is_type(mem, json_type_object), "summary: memory should be an object\n%s", text);
	v = member(mem, "memory", "budget_bytes", text);
	if (budget < 0)
		cr_assert(v == NULL, "summary: memory.budget_bytes should be null without --mem\n%s", text);
	else
		cr_assert(is_int(v) && json_object_get_int64(v) == budget,
			  "summary: memory.budget_bytes should be %lld\n%s", (long long)budget, text);
	/* The kernel where the v2 memory controller is, else supervise itself. */
	v = member(mem, "memory", "enforced_by", text);
	const char *want = budget < 0 ? NULL : h_base_has_controller("memory") ? "kernel" : "supervise";
	cr_assert(json_object_is_type(v, json_type_string), "summary: memory.enforced_by should be a string\n%s",
		  text);
	if (want)
		cr_assert(!strcmp(json_object_get_string(v), want),
			  "summary: memory.enforced_by should be \"%s\" (%s/cgroup.controllers %s memory)\n%s", want,
			  H.base, strcmp(want, "kernel") ? "lacks" : "has", text);
	expect_count(mem, "memory", "peak_rss_bytes", text);
	expect_count_or_null(mem, "memory", "peak_cgroup_bytes", text);
	expect_count(mem, "memory", "oom_kills", text);
	/* The bpf sweep recomputes the summed RSS; a correction means a lost update. */
	int64_t corr = expect_count(mem, "memory", "max_sum_correction_bytes", text);
	cr_assert(corr == 0, "summary: memory.max_sum_correction_bytes is %lld, expected 0\n%s", (long long)corr, text);

	struct json_object *maps = member(o, "top level", "maps", text);
	cr_assert(json_object_is_type(maps, json_type_object), "summary: maps should be an object\n%s", text);
	char mmc[64] = "";
	h_read_file("/proc/sys/vm/max_map_count", mmc, sizeof(mmc));
	v = member(maps, "maps", "max_map_count", text);
	cr_assert(is_int(v) && json_object_get_int64(v) == atoll(mmc),
		  "summary: maps.max_map_count should be /proc/sys/vm/max_map_count = %lld\n%s", atoll(mmc), text);
	expect_count(maps, "maps", "peak_map_count", text);
	expect_count(maps, "maps", "peak_pid", text);
	v = member(maps, "maps", "peak_comm", text);
	cr_assert(json_object_is_type(v, json_type_string), "summary: maps.peak_comm should be a string\n%s", text);

	struct json_object *procs = member(o, "top level", "processes", text);
	cr_assert(json_object_is_type(procs, json_type_object), "summary: processes should be an object\n%s", text);
	expect_count(procs, "processes", "started", text);
	expect_count(procs, "processes", "peak_concurrent", text);

	struct json_object *jobs = member(o, "top level", "jobs", text);
	cr_assert(json_object_is_type(jobs, json_type_object), "summary: jobs should be an object\n%s", text);
	static const char *const styles[] = { "pipe", "fifo", "none", NULL };
	expect_string_in(jobs, "jobs", "style", styles, false, text);
	expect_count_or_null(jobs, "jobs", "tokens_min", text);
	expect_count_or_null(jobs, "jobs", "tokens_max", text);
	expect_count_or_null(jobs, "jobs", "paused", text);
	expect_count_or_null(jobs, "jobs", "reminted", text);

	v = member(o, "top level", "top", text);
	cr_assert(json_object_is_type(v, json_type_array), "summary: top should be an array\n%s", text);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		char where[32];
		snprintf(where, sizeof(where), "top[%zu]", i);
		cr_assert(json_object_is_type(e, json_type_object), "summary: %s should be an object\n%s", where, text);
		expect_count_or_null(e, where, "pid", text);
		expect_count_or_null(e, where, "peak_rss_bytes", text);
		expect_count_or_null(e, where, "peak_map_count", text);
		struct json_object *c = member(e, where, "comm", text);
		cr_assert(json_object_is_type(c, json_type_string), "summary: %s.comm should be a string\n%s", where,
			  text);
	}
	return o;
}

Test(summary, with_mem)
{
	char *path = h_strf("%s/summary.json", H.scratch);
	const char *script = "cat /proc/self/cgroup; exit 3";
	struct h_proc p;
	h_run(&p, "--mem", "256MiB", "--summary-json", path, "--cgroup-base", H.base, "--", "sh", "-c", script);
	H_ASSERT_EXIT(&p, 3);
	struct json_object *o =
		load_and_check(path, &p, 3, 256LL << 20, "sh", (const char *const[]){ "sh", "-c", script, NULL });

	/* The leaf named is the one the workload ran in. */
	char *leaf = h_v2_path_in(p.out.data);
	struct json_object *cg = NULL;
	json_object_object_get_ex(o, "cgroup", &cg);
	char *abs = h_strf("%s%s", H.v2, leaf ? leaf : "?");
	cr_assert(leaf && !strcmp(json_object_get_string(cg), abs), "summary: cgroup is %s, the workload ran in %s",
		  json_object_get_string(cg), abs);
	H_ASSERT_CLEAN(&p);
	free(abs);
	free(leaf);
	json_object_put(o);
	h_proc_free(&p);
	free(path);
}

Test(summary, without_mem_budget_is_null)
{
	char *path = h_strf("%s/summary.json", H.scratch);
	struct h_proc p;
	h_run(&p, "--name", "plain", "--summary-json", path, "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&p, 0);
	json_object_put(load_and_check(path, &p, 0, -1, "plain", (const char *const[]){ "true", NULL }));
	h_proc_free(&p);
	free(path);
}

/* N% is of the host's memory (or of a lower enclosing limit). */
Test(summary, percent_budget)
{
	char *path = h_strf("%s/summary.json", H.scratch);
	struct h_proc p;
	h_run(&p, "--mem", "10%", "--summary-json", path, "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&p, 0);
	struct json_object *o = json_object_from_file(path);
	cr_assert(o, "no valid summary at %s", path);
	struct json_object *mem = NULL, *b = NULL;
	json_object_object_get_ex(o, "memory", &mem);
	json_object_object_get_ex(mem, "budget_bytes", &b);
	/* 10% of the host's memory (MemTotal), or of a lower enclosing limit. */
	char meminfo[4096] = "";
	h_read_file("/proc/meminfo", meminfo, sizeof(meminfo));
	long long total_kib = 0;
	sscanf(meminfo, "MemTotal: %lld kB", &total_kib);
	long long got = b ? json_object_get_int64(b) : -1, max = total_kib * 1024 / 10;
	cr_assert(got > 0 && got <= max + 4096,
		  "summary: memory.budget_bytes for --mem 10%% should be at most 10%% of MemTotal (%lld), got %lld",
		  max, got);
	json_object_put(o);
	h_proc_free(&p);
	free(path);
}

/* Killed by a forwarded signal: the summary is still written, with 128+N. */
Test(summary, written_when_killed_by_signal)
{
	char *path = h_strf("%s/summary.json", H.scratch);
	const char *echo = h_helper("sigecho");
	struct h_proc p;
	h_start(&p, "--summary-json", path, "--cgroup-base", H.base, "--", echo, "--default");
	char *ready = h_wait_line(&p, "ready ", H_TIMEOUT_S);
	H_ASSERT(&p, ready, "the workload never printed its ready line");
	kill(p.pid, SIGTERM);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 128 + SIGTERM);
	json_object_put(load_and_check(path, &p, 128 + SIGTERM, -1, "sigecho",
				       (const char *const[]){ echo, "--default", NULL }));
	free(ready);
	h_proc_free(&p);
	free(path);
}

/* A command that is not found ends the run too: 127 in the summary. */
Test(summary, written_when_command_not_found)
{
	char *path = h_strf("%s/summary.json", H.scratch);
	struct h_proc p;
	h_run(&p, "--summary-json", path, "--cgroup-base", H.base, "--", "/nonexistent");
	H_ASSERT_EXIT(&p, 127);
	struct json_object *o = json_object_from_file(path);
	cr_assert(o, "no valid summary at %s" H_SHOW_FMT, path, H_SHOW_ARGS(&p));
	struct json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, "exit_status", &v) && json_object_get_int(v) == 127,
		  "summary: exit_status should be 127: %s", json_object_to_json_string(o));
	json_object_put(o);
	h_proc_free(&p);
	free(path);
}
