/* eventlog without the run loop: a sequence of readings in, the lines a
 * reader of --log would see out — rate-limited samples, threshold, tokens,
 * pause and resume events, and refusal of a planted symlink. */
#include <criterion/criterion.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eventlog.h"

#define S 1000000000ull

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sv-test-eventlog-XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run.jsonl", dir);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	system(cmd);
}

TestSuite(eventlog, .init = setup, .fini = teardown);

static struct workload_state state(uint64_t rss_mib, unsigned target, unsigned pauses, unsigned paused)
{
	struct workload_state w = { .have_reading = true, .has_tokens = true };
	snprintf(w.info.name, sizeof(w.info.name), "build");
	w.info.budget_bytes = 1000ull << 20;
	w.r.rss_bytes = rss_mib << 20;
	w.r.nr_procs = 3;
	w.tokens_target = target;
	w.pauses = pauses;
	w.paused_jobs = paused;
	return w;
}

/* The events of the log, space separated ("start sample threshold ..."). */
static char *events(void)
{
	FILE *f = fopen(path, "r");
	cr_assert(f);
	static char out[4096];
	out[0] = '\0';
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		json_object *o = json_tokener_parse(line), *ev, *v;
		cr_assert(o, "not JSON: %s", line);
		cr_assert(json_object_object_get_ex(o, "event", &ev));
		cr_assert(json_object_object_get_ex(o, "version", &v) && json_object_get_int(v) == EVENTLOG_VERSION);
		cr_assert(json_object_object_get_ex(o, "mono", &v) && json_object_object_get_ex(o, "wall", &v), "%s", line);
		if (*out)
			strcat(out, " ");
		strcat(out, json_object_get_string(ev));
		json_object_put(o);
	}
	free(line);
	fclose(f);
	return out;
}

Test(eventlog, pure_rules)
{
	cr_expect(eventlog_sample_due(5 * S, 0, false));
	cr_expect(!eventlog_sample_due(5 * S, 4 * S, true));
	cr_expect(eventlog_sample_due(6 * S, 4 * S, true));
	cr_expect(!eventlog_sample_due(50 * S, 4 * S, false));
	cr_expect(eventlog_sample_due(64 * S, 4 * S, false));
	cr_expect_eq(eventlog_band(10, 100), 0);
	cr_expect_eq(eventlog_band(50, 100), 1);
	cr_expect_eq(eventlog_band(85, 100), 2);
	cr_expect_eq(eventlog_band(99, 100), 3);
	cr_expect_eq(eventlog_band(120, 100), 4);
	cr_expect_eq(eventlog_band(120, 0), 0);
	struct workload_state a = state(100, 4, 0, 0), b = state(101, 4, 0, 0);
	cr_expect(!eventlog_changed(&a, &b), "1 %% more RSS is not a change");
	b = state(110, 4, 0, 0);
	cr_expect(eventlog_changed(&a, &b));
	b = state(100, 3, 0, 0);
	cr_expect(eventlog_changed(&a, &b));
}

Test(eventlog, samples_are_rate_limited)
{
	struct eventlog *el;
	cr_assert_eq(eventlog_open(path, &el), 0);
	eventlog_start(el, NULL);
	/* 10 minutes of an idle workload, a reading every 100 ms. */
	struct workload_state w = state(100, 4, 0, 0);
	for (uint64_t t = 1; t <= 6000; t++)
		eventlog_observe(el, &w, t * S / 10);
	eventlog_event(el, "exit", NULL);
	eventlog_close(el);
	/* One at the start, then one a minute. */
	const char *e = events();
	int samples = 0;
	for (const char *p = e; (p = strstr(p, "sample")); p++)
		samples++;
	cr_expect(samples >= 10 && samples <= 11, "%d samples in 10 idle minutes: %s", samples, e);
}

Test(eventlog, derived_events)
{
	struct eventlog *el;
	cr_assert_eq(eventlog_open(path, &el), 0);
	eventlog_start(el, json_object_new_object());
	uint64_t t = 1;
	struct workload_state seq[] = {
		state(100, 4, 0, 0),   /* sample */
		state(850, 4, 0, 0),   /* threshold up 50, then up 80 (two bands at once: one event) */
		state(850, 2, 0, 0),   /* tokens 4 -> 2 */
		state(900, 2, 1, 1),   /* threshold up 90, pause */
		state(400, 2, 1, 0),   /* threshold down, resume */
	};
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		eventlog_observe(el, &seq[i], (t += 3) * S);
	eventlog_event(el, "exit", NULL);
	eventlog_close(el);
	cr_expect_str_eq(events(), "start sample threshold sample tokens sample threshold pause sample threshold "
				   "resume sample exit");
}

Test(eventlog, refuses_a_symlink)
{
	char target[160];
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	cr_assert_eq(symlink(target, path), 0);
	struct eventlog *el = NULL;
	cr_expect_eq(eventlog_open(path, &el), -ELOOP);
	cr_expect_eq(access(target, F_OK), -1, "the symlink's target was created");
}
