/* metrics: the exposition text of a livestate built by hand — the names,
 * labels and values a scraper sees, label escaping, bounded per-process
 * series, OpenMetrics' counter naming and # EOF, the atomic file — and
 * `promtool check metrics` (Debian's prometheus package) on the output. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livestate.h"
#include "metrics.h"

static struct proc_reading procs[8];
static struct workload_state ws[2];
static struct livestate ls;

static void fixture(void)
{
	memset(procs, 0, sizeof(procs));
	memset(ws, 0, sizeof(ws));
	for (int i = 0; i < 8; i++) {
		procs[i].pid = 100 + i;
		snprintf(procs[i].comm, sizeof(procs[i].comm), "cc1-%d", i);
		procs[i].rss_bytes = (8 - i) * 1048576ull;
		procs[i].map_count = 40 + i;
	}
	snprintf(procs[0].comm, sizeof(procs[0].comm), "we\"ird\\na\nme");
	struct workload_state *a = &ws[0];
	snprintf(a->info.name, sizeof(a->info.name), "build");
	snprintf(a->info.cgroup, sizeof(a->info.cgroup), "/sys/fs/cgroup/unified/supervise/build-0001");
	a->info.started_unix = 1700000000;
	a->info.budget_bytes = 4ull << 30;
	a->backend = "bpf";
	a->enforced_by = "supervise";
	a->have_reading = true;
	a->r = (struct reading){ .rss_bytes = 36ull << 20, .peak_rss_bytes = 40ull << 20, .nr_procs = 8,
				 .procs_started = 20, .map_count_max = 47, .peak_map_count = 50,
				 .procs = procs, .nr_proc_readings = 8 };
	a->has_tokens = true;
	a->tokens_target = 4, a->tokens_available = 1, a->tokens_in_use = 2, a->pauses = 3, a->paused_jobs = 1;
	a->has_psi = true;
	a->psi_some_avg10 = 1.5;
	a->psi_some_total_us = 2500000;
	struct workload_state *b = &ws[1];
	snprintf(b->info.name, sizeof(b->info.name), "server");
	snprintf(b->info.cgroup, sizeof(b->info.cgroup), "/sys/fs/cgroup/unified/supervise/server-0002");
	b->backend = "procfs";
	b->enforced_by = "none";
	b->have_reading = false;
	ls = (struct livestate){ .host = { .max_map_count = 65530, .mem_total_bytes = 1 << 30,
					   .mem_available_bytes = 1 << 29 },
				 .w = ws, .n = 2 };
}

TestSuite(metrics, .init = fixture);

static char *render(enum metrics_format fmt, unsigned top, double scrape)
{
	struct metrics_options o = { .format = fmt, .top_procs = top, .scrape_seconds = scrape, .scrapes = 7 };
	char *text;
	size_t len;
	cr_assert_eq(metrics_render_string(&ls, &o, &text, &len), 0);
	cr_assert_eq(strlen(text), len);
	return text;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static int count_prefix(const char *text, const char *prefix)
{
	int n = 0;
	size_t l = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += !strncmp(p, prefix, l);
	return n;
}

#define L "{name=\"build\",cgroup=\"/sys/fs/cgroup/unified/supervise/build-0001\""

Test(metrics, workload_series_carry_name_and_cgroup)
{
	char *t = render(METRICS_PROMETHEUS, 5, -1);
	cr_expect(has_line(t, "supervise_host_map_count_limit 65530"), "%s", t);
	cr_expect(has_line(t, "supervise_workloads 2"), "%s", t);
	cr_expect(has_line(t, "supervise_workload_rss_bytes" L "} 37748736"), "%s", t);
	cr_expect(has_line(t, "supervise_workload_memory_budget_bytes" L "} 4294967296"), "%s", t);
	cr_expect(has_line(t, "supervise_workload_map_count_max" L "} 47"), "%s", t);
	cr_expect(has_line(t, "supervise_workload_processes" L "} 8"), "%s", t);
	cr_expect(has_line(t, "supervise_workload_processes_started_total" L "} 20"), "%s", t);
	cr_expect(has_line(t, "supervise_jobserver_tokens" L ",state=\"in_use\"} 2"), "%s", t);
	cr_expect(has_line(t, "supervise_jobserver_tokens" L ",state=\"available\"} 1"), "%s", t);
	cr_expect(has_line(t, "supervise_jobserver_tokens" L ",state=\"target\"} 4"), "%s", t);
	cr_expect(has_line(t, "supervise_workload_paused_jobs" L "} 1"), "%s", t);
	cr_expect(has_line(t, "supervise_workload_pauses_total" L "} 3"), "%s", t);
	cr_expect(has_line(t, "supervise_workload_memory_pressure_some_avg10" L "} 1.5"), "%s", t);
	cr_expect(has_line(t, "supervise_workload_memory_pressure_some_seconds_total" L "} 2.5"), "%s", t);
	cr_expect(has_line(t, "supervise_workload_info" L ",backend=\"bpf\",enforced_by=\"supervise\"} 1"), "%s", t);
	cr_expect(has_line(t, "# TYPE supervise_workload_processes_started_total counter"), "%s", t);
	cr_expect(has_line(t, "# TYPE supervise_workload_rss_bytes gauge"), "%s", t);
	/* The unreadable workload: listed, down, no made-up figures. */
	cr_expect(has_line(t, "supervise_workload_up{name=\"server\",cgroup=\"/sys/fs/cgroup/unified/supervise/"
			      "server-0002\"} 0"), "%s", t);
	cr_expect(!strstr(t, "supervise_workload_rss_bytes{name=\"server\""), "%s", t);
	/* No exporter figures unless asked; no # EOF in 0.0.4. */
	cr_expect(!strstr(t, "supervise_exporter_"), "%s", t);
	cr_expect(!strstr(t, "# EOF"), "%s", t);
	free(t);
}

Test(metrics, per_process_series_are_bounded_and_escaped)
{
	char *t = render(METRICS_PROMETHEUS, 3, -1);
	cr_expect_eq(count_prefix(t, "supervise_process_rss_bytes{"), 3, "%s", t);
	cr_expect_eq(count_prefix(t, "supervise_process_mappings{"), 3, "%s", t);
	cr_expect(has_line(t, "supervise_process_rss_bytes" L ",pid=\"101\",comm=\"cc1-1\"} 7340032"), "%s", t);
	/* Quote, backslash and newline escaped: the line stays one sample. */
	cr_expect(has_line(t, "supervise_process_rss_bytes" L ",pid=\"100\",comm=\"we\\\"ird\\\\na\\nme\"} 8388608"),
		  "%s", t);
	free(t);
	t = render(METRICS_PROMETHEUS, 0, -1);
	cr_expect_eq(count_prefix(t, "supervise_process_rss_bytes{"), 0, "%s", t);
	free(t);
}

Test(metrics, openmetrics_names_counter_families_and_ends_with_eof)
{
	char *t = render(METRICS_OPENMETRICS, 5, 0.0042);
	cr_expect(has_line(t, "# TYPE supervise_workload_processes_started counter"), "%s", t);
	cr_expect(has_line(t, "supervise_workload_processes_started_total" L "} 20"), "%s", t);
	cr_expect(has_line(t, "supervise_exporter_scrape_duration_seconds 0.004200"), "%s", t);
	cr_expect(has_line(t, "supervise_exporter_scrapes_total 7"), "%s", t);
	size_t n = strlen(t);
	cr_expect(n > 6 && !strcmp(t + n - 6, "# EOF\n"), "%s", t);
	free(t);
}

static int run_promtool(const char *path, char *out, size_t size)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	return pclose(p);
}

Test(metrics, promtool_accepts_the_file_written_atomically)
{
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		cr_skip_test("promtool (Debian's prometheus package) is not installed: scripts/setup.sh installs it");
	char dir[] = "/tmp/sv-test-metrics-XXXXXX";
	cr_assert(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/build.prom", dir);
	struct metrics_options o = { .format = METRICS_PROMETHEUS, .top_procs = 5, .scrape_seconds = 0.001 };
	cr_assert_eq(metrics_write_file(path, &ls, &o), 0);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0644);
	char out[8192];
	int rc = run_promtool(path, out, sizeof(out));
	/* promtool exits 0 when the text parses; lint remarks are printed too. */
	cr_expect_eq(rc, 0, "promtool check metrics: %s", out);
	/* Only the file itself is left: the temp was renamed over it. */
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
	cr_expect_eq(system(cmd), 0, "a temp file was left in %s", dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	system(cmd);
}

Test(metrics, pure_parsers)
{
	double avg;
	uint64_t total, mt, ma;
	cr_expect_eq(psi_parse_some("some avg10=2.50 avg60=1.00 avg300=0.10 total=12345\nfull avg10=0.00 avg60=0.00 "
				    "avg300=0.00 total=0\n", &avg, &total), 0);
	cr_expect_float_eq(avg, 2.5, 1e-9);
	cr_expect_eq(total, 12345);
	cr_expect_eq(psi_parse_some("full avg10=1 total=1\n", &avg, &total), -EINVAL);
	cr_expect_eq(meminfo_parse("MemTotal:       24000000 kB\nMemFree: 1 kB\nMemAvailable:   12000000 kB\n", &mt, &ma), 0);
	cr_expect_eq(mt, 24000000ull * 1024);
	cr_expect_eq(ma, 12000000ull * 1024);
	char st;
	uint32_t ppid;
	cr_expect_eq(proc_stat_state("42 (a) b) T 7 42 42 0", &st, &ppid), 0);
	cr_expect_eq(st, 'T');
	cr_expect_eq(ppid, 7);
	cr_expect_eq(proc_stat_state("42 no paren", &st, &ppid), -EINVAL);
}
