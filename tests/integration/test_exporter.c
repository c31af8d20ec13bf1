/*
 * supervise exporter and --metrics-file, from outside: scraped with curl,
 * checked by promtool, ingested by a real Prometheus server on loopback
 * (Debian's prometheus package), against what /proc shows for the workload.
 */
#include "operators.h"

TestSuite(exporter, .init = op_setup, .fini = op_teardown, .timeout = 180);

/* Start the exporter on a free loopback port; its /metrics URL. */
static char *start_exporter(struct h_proc *ex, const char *top_procs)
{
	h_start(ex, "exporter", "--listen", "127.0.0.1:0", "--top-procs", top_procs);
	char *line = h_wait_line(ex, "exporter: serving ", H_TIMEOUT_S);
	H_ASSERT(ex, line, "the exporter did not say where it listens");
	char *url = strdup(line + strlen("exporter: serving "));
	H_ASSERT(ex, !strncmp(url, "http://127.0.0.1:", 17), "not on loopback: %s", url);
	free(line);
	return url;
}

static char *scrape(const char *url, int *rc)
{
	char *cmd = h_strf("curl -sS --fail --max-time 10 '%s'", url);
	char *out = op_sh(cmd, rc);
	free(cmd);
	return out;
}

static char *prefix_of(const char *metric, const char *name)
{
	return h_strf("%s{name=\"%s\",", metric, name);
}

static void stop(struct h_proc *p)
{
	kill(p->pid, SIGTERM);
	h_finish(p, H_TIMEOUT_S);
}

Test(exporter, serves_every_workload_with_rss_from_proc)
{
	if (!op_have("curl"))
		cr_skip_test("curl is not installed: scripts/setup.sh installs it");
	struct h_proc ex, a, b;
	char *url = start_exporter(&ex, "2");
	op_start_workload(&a, "exp-a", (const char *const[]){ h_helper("memhog"), "96", "120", NULL });
	op_start_workload(&b, "exp-b", (const char *const[]){ "sh", "-c", "sleep 120 & sleep 120 & sleep 120 & wait", NULL });
	char *leaf = op_leaf("exp-a");
	H_ASSERT(&a, op_wait_rss(leaf, 96ull << 20, H_TIMEOUT_S), "memhog never reached 96 MiB in %s", leaf);
	h_sleep_ms(300);

	int rc;
	char *text = scrape(url, &rc);
	uint64_t proc = op_proc_rss(leaf);
	H_ASSERT(&ex, rc == 0, "curl %s failed (%d)", url, rc);
	char *pa = prefix_of("supervise_workload_rss_bytes", "exp-a");
	double rss = op_metric(text, pa);
	H_ASSERT(&ex, rss > 0, "no %s... series in:\n%s", pa, text);
	double diff = fabs(rss - (double)proc) / (double)proc;
	H_ASSERT(&ex, diff <= 0.05, "exporter RSS %.0f vs /proc %" PRIu64 ": %.1f %% apart (5 %% allowed)", rss, proc,
		 diff * 100);
	char *pb = prefix_of("supervise_workload_processes", "exp-b");
	H_ASSERT(&ex, op_metric(text, pb) == 4, "exp-b runs sh and 3 sleeps: %s\n%s", pb, text);
	H_ASSERT(&ex, op_metric(text, "supervise_host_map_count_limit") > 0, "no host series:\n%s", text);
	H_ASSERT(&ex, op_metric(text, "supervise_workloads") == 2, "2 workloads:\n%s", text);
	H_ASSERT(&ex, op_metric(text, "supervise_exporter_scrape_duration_seconds") >= 0, "no scrape duration:\n%s",
		 text);
	/* --top-procs 2: exp-b has 4 processes, 2 series. */
	H_ASSERT(&ex, h_count(text, "supervise_process_rss_bytes{name=\"exp-b\",") == 2, "--top-procs 2:\n%s", text);
	/* The labels name the leaf. */
	char *cg = h_strf("cgroup=\"%s\"", leaf);
	H_ASSERT(&ex, strstr(text, cg), "no %s label:\n%s", cg, text);

	/* promtool: the exposition format and the naming conventions. */
	if (op_have("promtool")) {
		char *f = h_strf("%s/scrape.prom", H.scratch);
		FILE *o = fopen(f, "w");
		fputs(text, o);
		fclose(o);
		char *cmd = h_strf("promtool check metrics < %s 2>&1", f);
		char *out = op_sh(cmd, &rc);
		H_ASSERT(&ex, rc == 0, "promtool check metrics failed:\n%s", out);
	}
	/* OpenMetrics when asked. */
	char *cmd = h_strf("curl -sS --fail --max-time 10 -H 'Accept: application/openmetrics-text; version=1.0.0' '%s'",
			   url);
	char *om = op_sh(cmd, &rc);
	H_ASSERT(&ex, rc == 0 && strstr(om, "\n# EOF\n"), "no OpenMetrics on Accept:\n%s", om);

	stop(&a);
	stop(&b);
	stop(&ex);
	H_ASSERT_EXIT(&ex, 0);
}

/* docs/grafana-dashboard.json: found from the source path of this test (make
 * compiles it as tests/integration/test_exporter.c from the tree's root). */
static char *dashboard_path(void)
{
	char out[PATH_MAX];
	h_output_dir(out, sizeof(out));
	char *candidates[] = { h_strf("%.*s/../../docs/grafana-dashboard.json",
				      (int)(strrchr(__FILE__, '/') ? strrchr(__FILE__, '/') - __FILE__ : 1), __FILE__),
			       h_strf("%s/../docs/grafana-dashboard.json", out) };
	for (size_t i = 0; i < 2; i++)
		if (h_exists(candidates[i]))
			return candidates[i];
	cr_assert_fail("docs/grafana-dashboard.json not found (%s, %s)", candidates[0], candidates[1]);
	return NULL;
}

/* The Grafana dashboard asks only for metrics the exporter serves, in
 * PromQL that Prometheus accepts (promtool check rules). */
Test(exporter, the_grafana_dashboard_uses_served_metrics)
{
	if (!op_have("curl"))
		cr_skip_test("curl is not installed: scripts/setup.sh installs it");
	struct h_proc ex;
	char *url = start_exporter(&ex, "5");
	int rc;
	char *text = scrape(url, &rc);
	H_ASSERT(&ex, rc == 0, "scrape failed");
	struct json_object *d = json_object_from_file(dashboard_path()), *panels;
	cr_assert(d && json_object_object_get_ex(d, "panels", &panels), "the dashboard is not JSON with panels");
	char *rules = h_strf("%s/rules.yml", H.scratch);
	FILE *rf = fopen(rules, "w");
	fputs("groups:\n- name: dashboard\n  rules:\n", rf);
	int names = 0, exprs = 0;
	for (size_t i = 0; i < json_object_array_length(panels); i++) {
		struct json_object *targets, *expr;
		if (!json_object_object_get_ex(json_object_array_get_idx(panels, i), "targets", &targets))
			continue;
		for (size_t j = 0; j < json_object_array_length(targets); j++) {
			if (!json_object_object_get_ex(json_object_array_get_idx(targets, j), "expr", &expr))
				continue;
			const char *e = json_object_get_string(expr);
			/* Every metric name it uses has its HELP line in a scrape. */
			for (const char *p = e; (p = strstr(p, "supervise_"));) {
				size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_0123456789");
				char *help = h_strf("# HELP %.*s ", (int)n, p);
				cr_expect(strstr(text, help), "the dashboard's %.*s is not served:\n%s", (int)n, p, e);
				names++;
				p += n;
			}
			/* Grafana's variables as a regex that matches anything. */
			struct json_object *js = json_object_new_string(e);
			char *q = strdup(json_object_to_json_string_ext(js, JSON_C_TO_STRING_NOSLASHESCAPE));
			for (char *v; (v = strstr(q, "$instance")) || (v = strstr(q, "$name"));) {
				size_t vl = v[1] == 'i' ? 9 : 5;
				memmove(v + 2, v + vl, strlen(v + vl) + 1);
				memcpy(v, ".*", 2);
			}
			fprintf(rf, "  - record: dashboard:expr%d\n    expr: %s\n", exprs++, q);
			json_object_put(js);
			free(q);
		}
	}
	fclose(rf);
	cr_assert(names >= 10 && exprs >= 10, "the dashboard should query the metrics (%d names, %d queries)", names, exprs);
	if (op_have("promtool")) {
		char *cmd = h_strf("promtool check rules %s 2>&1", rules);
		char *out = op_sh(cmd, &rc);
		cr_assert(rc == 0, "promtool check rules on the dashboard's queries:\n%s", out);
	}
	json_object_put(d);
	stop(&ex);
}

Test(exporter, silent_and_malformed_clients_do_not_stall_a_scrape)
{
	if (!op_have("curl"))
		cr_skip_test("curl is not installed: scripts/setup.sh installs it");
	struct h_proc ex;
	char *url = start_exporter(&ex, "5");
	unsigned port = (unsigned)strtoul(strrchr(url, ':') + 1, NULL, 10);
	int silent[8];
	for (int i = 0; i < 8; i++) {
		silent[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		cr_assert(connect(silent[i], (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s", strerror(errno));
	}
	/* Half a request line, and garbage. */
	cr_assert(write(silent[0], "GET /metr", 9) == 9);
	cr_assert(write(silent[1], "\x01\x02 garbage\r\n\r\n", 14) == 14);
	int rc;
	char *text = scrape(url, &rc);
	H_ASSERT(&ex, rc == 0 && strstr(text, "supervise_workloads 0"), "a scrape beside silent clients (curl %d):\n%s",
		 rc, text);
	/* Elsewhere than /metrics: 404, a wrong method: 405. */
	char *base = strndup(url, strlen(url) - strlen("/metrics"));
	char *cmd = h_strf("curl -s -o /dev/null -w '%%{http_code}' '%s/nope'; echo; "
			   "curl -s -o /dev/null -w '%%{http_code}' -X POST '%s/metrics'", base, base);
	char *codes = op_sh(cmd, &rc);
	H_ASSERT(&ex, !strcmp(codes, "404\n405"), "status codes: %s", codes);
	for (int i = 0; i < 8; i++)
		close(silent[i]);
	stop(&ex);
	H_ASSERT_EXIT(&ex, 0);
}

/* A run on the procfs backend is read from one /proc sample. */
Test(exporter, a_procfs_workload_is_read_from_proc)
{
	if (!op_have("curl"))
		cr_skip_test("curl is not installed: scripts/setup.sh installs it");
	struct h_proc ex, a;
	char *url = start_exporter(&ex, "5");
	op_start_workload_with(&a, "exp-procfs", "procfs", (const char *const[]){ h_helper("memhog"), "48", "60", NULL });
	char *leaf = op_leaf("exp-procfs");
	H_ASSERT(&a, op_wait_rss(leaf, 48ull << 20, H_TIMEOUT_S), "memhog never reached 48 MiB");
	int rc;
	char *text = scrape(url, &rc);
	uint64_t proc = op_proc_rss(leaf);
	char *info = h_strf("supervise_workload_info{name=\"exp-procfs\",cgroup=\"%s\",backend=\"procfs\"", leaf);
	H_ASSERT(&ex, strstr(text, info), "no %s in:\n%s", info, text);
	double rss = op_metric(text, prefix_of("supervise_workload_rss_bytes", "exp-procfs"));
	H_ASSERT(&ex, rss > 0 && fabs(rss - (double)proc) / (double)proc <= 0.05, "procfs RSS %.0f vs /proc %" PRIu64,
		 rss, proc);
	stop(&a);
	stop(&ex);
}

Test(exporter, series_of_an_ended_workload_are_gone)
{
	if (!op_have("curl"))
		cr_skip_test("curl is not installed: scripts/setup.sh installs it");
	struct h_proc ex, a;
	char *url = start_exporter(&ex, "5");
	op_start_workload(&a, "exp-short", (const char *const[]){ "sleep", "3", NULL });
	int rc;
	char *text = scrape(url, &rc);
	char *pa = prefix_of("supervise_workload_rss_bytes", "exp-short");
	H_ASSERT(&ex, op_metric(text, pa) >= 0, "the live workload's series:\n%s", text);
	h_finish(&a, H_TIMEOUT_S);
	H_ASSERT_EXIT(&a, 0);
	text = scrape(url, &rc);
	H_ASSERT(&ex, rc == 0 && !strstr(text, "name=\"exp-short\""), "series left after the end:\n%s", text);
	stop(&ex);
}

Test(exporter, a_real_prometheus_ingests_the_workload)
{
	if (!op_have("prometheus") || !op_have("curl"))
		cr_skip_test("prometheus or curl is not installed: scripts/setup.sh installs them");
	struct h_proc ex, a, prom;
	char *url = start_exporter(&ex, "5");
	const char *target = url + strlen("http://");
	char *hostport = strndup(target, strchr(target, '/') - target);
	op_start_workload(&a, "exp-prom", (const char *const[]){ h_helper("memhog"), "80", "120", NULL });
	char *leaf = op_leaf("exp-prom");
	H_ASSERT(&a, op_wait_rss(leaf, 80ull << 20, H_TIMEOUT_S), "memhog never reached 80 MiB");

	char *cfg = h_strf("%s/prometheus.yml", H.scratch);
	FILE *f = fopen(cfg, "w");
	fprintf(f, "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
		   "scrape_configs:\n  - job_name: supervise\n    static_configs:\n      - targets: ['%s']\n", hostport);
	fclose(f);
	unsigned pport = op_free_port();
	char *cfg_arg = h_strf("--config.file=%s", cfg), *db = h_strf("--storage.tsdb.path=%s/tsdb", H.scratch),
	     *listen = h_strf("--web.listen-address=127.0.0.1:%u", pport);
	const char *args[] = { "prometheus", cfg_arg, db, listen, "--log.level=warn", NULL };
	char *prom_bin = op_sh("command -v prometheus | tr -d '\\n'", NULL);
	args[0] = prom_bin;
	h_startv(&prom, &(struct h_opts){ .raw = true }, args);

	char *cmd = h_strf("curl -s --max-time 5 -G 'http://127.0.0.1:%u/api/v1/query' "
			   "--data-urlencode 'query=supervise_workload_rss_bytes{name=\"exp-prom\"}' 2>/dev/null", pport);
	double got = -1;
	char *last = NULL;
	for (double end = h_now() + 60; got < 0 && h_now() < end; h_sleep_ms(500)) {
		h_pump(&prom, 0);
		free(last);
		last = op_sh(cmd, NULL);
		struct json_object *o = json_tokener_parse(last), *data, *result, *val;
		if (o && json_object_object_get_ex(o, "data", &data) && json_object_object_get_ex(data, "result", &result) &&
		    json_object_array_length(result) == 1 &&
		    json_object_object_get_ex(json_object_array_get_idx(result, 0), "value", &val))
			got = strtod(json_object_get_string(json_object_array_get_idx(val, 1)), NULL);
		json_object_put(o);
	}
	uint64_t proc = op_proc_rss(leaf);
	H_ASSERT(&prom, got > 0, "Prometheus never returned supervise_workload_rss_bytes{name=\"exp-prom\"}; last "
				 "answer: %s", last);
	double diff = fabs(got - (double)proc) / (double)proc;
	H_ASSERT(&prom, diff <= 0.05, "Prometheus has %.0f, /proc %" PRIu64 " (%.1f %% apart)", got, proc, diff * 100);
	stop(&prom);
	stop(&a);
	stop(&ex);
}

/* --metrics-file: rewritten while the run goes, never seen half-written, and
 * promtool accepts it. */
Test(exporter, metrics_file_is_never_half_written)
{
	char *path = h_strf("%s/build.prom", H.scratch);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--name", "mf", "-q", "--metrics-file", path, "--", h_helper("memhog"),
		"64", "12");
	const char *tail = "# TYPE supervise_process_mappings gauge\n";
	int reads = 0, versions = 0;
	char last[65536] = "", buf[65536];
	while (!h_poll_exit(&p)) {
		h_pump(&p, 0);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			H_ASSERT(&p, errno == ENOENT, "open %s: %s", path, strerror(errno));
			h_sleep_ms(2);
			continue;
		}
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		H_ASSERT(&p, n > 0, "%s read empty", path);
		buf[n] = '\0';
		reads++;
		/* Whole: it starts with the first family and ends after the last. */
		H_ASSERT(&p, !strncmp(buf, "# HELP supervise_host_map_count_limit", 37) && strstr(buf, tail) &&
				     buf[n - 1] == '\n',
			 "read %d of %s is not a whole file:\n%s", reads, path, buf);
		if (strcmp(buf, last)) {
			versions++;
			memcpy(last, buf, n + 1);
		}
	}
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, versions >= 3, "the file should have been rewritten while it was read (%d versions in %d reads)",
		 versions, reads);
	H_ASSERT(&p, strstr(last, "supervise_workload_rss_bytes{name=\"mf\","), "no workload series:\n%s", last);
	if (op_have("promtool")) {
		int rc;
		char *cmd = h_strf("promtool check metrics < %s 2>&1", path);
		char *out = op_sh(cmd, &rc);
		H_ASSERT(&p, rc == 0, "promtool check metrics %s:\n%s", path, out);
	}
	/* Only the file: no temp file is left beside it. */
	H_ASSERT(&p, h_count_entries(H.scratch) == 1, "%s holds: %s", H.scratch, h_list_dir(H.scratch));
}
