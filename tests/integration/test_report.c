/*
 * --log and supervise report on a real run: a memory-capped make build whose
 * log must hold token changes and a pause, every line JSON with the
 * documented keys; the page it makes opened in headless Chromium (Debian's
 * chromium): a screenshot kept under $(OUTPUT)/tests/artifacts/, no console
 * errors, SVG charts with non-empty paths. And an idle workload's log grows
 * slowly enough for 30 minutes to stay small, and logs a `supervise set`.
 */
#include "operators.h"

TestSuite(report, .init = op_setup, .fini = op_teardown, .timeout = 240);

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

struct log_check {
	int lines, samples, tokens, pauses, starts, exits, sets;
};

/* Every line: a JSON object with event, version 1, mono (not going back)
 * and wall; the first is start, the last exit. */
static struct log_check check_log(const char *path, struct h_proc *p)
{
	struct log_check c = { 0 };
	FILE *f = fopen(path, "r");
	H_ASSERT(p, f, "no log at %s", path);
	char *line = NULL, *last_event = NULL;
	size_t cap = 0;
	double last_mono = 0;
	while (getline(&line, &cap, f) > 0) {
		c.lines++;
		struct json_object *o = json_tokener_parse(line), *ev, *ver, *mono, *wall;
		H_ASSERT(p, o && json_object_is_type(o, json_type_object), "line %d is not a JSON object: %s", c.lines, line);
		H_ASSERT(p, json_object_object_get_ex(o, "event", &ev) && json_object_is_type(ev, json_type_string) &&
				    json_object_object_get_ex(o, "version", &ver) && json_object_get_int(ver) == 1 &&
				    json_object_object_get_ex(o, "mono", &mono) && json_object_object_get_ex(o, "wall", &wall),
			 "line %d lacks event/version/mono/wall: %s", c.lines, line);
		H_ASSERT(p, json_object_get_double(mono) >= last_mono, "line %d: mono went back: %s", c.lines, line);
		H_ASSERT(p, json_object_get_double(wall) > 1.6e9, "line %d: wall is not a Unix time: %s", c.lines, line);
		last_mono = json_object_get_double(mono);
		const char *e = json_object_get_string(ev);
		if (c.lines == 1)
			H_ASSERT(p, !strcmp(e, "start"), "the first line should be start: %s", line);
		c.samples += !strcmp(e, "sample");
		c.tokens += !strcmp(e, "tokens");
		c.pauses += !strcmp(e, "pause");
		c.starts += !strcmp(e, "start");
		c.exits += !strcmp(e, "exit");
		c.sets += !strcmp(e, "set");
		free(last_event);
		last_event = strdup(e);
		json_object_put(o);
	}
	fclose(f);
	H_ASSERT(p, last_event && !strcmp(last_event, "exit"), "the last line should be exit, is %s", last_event);
	free(last_event);
	free(line);
	return c;
}

static char *artifact_dir(void)
{
	char out[PATH_MAX];
	h_output_dir(out, sizeof(out));
	char *d = h_strf("%s/tests/artifacts", out);
	mkdir(d, 0755);
	return d;
}

Test(report, capped_build_log_and_its_page_in_chromium)
{
	if (!op_have("make"))
		cr_skip_test("GNU make is not installed");
	char *cache = h_strf("%s/cache", H.scratch);
	setenv("SUPERVISE_CACHE_DIR", cache, 1);
	/* Three jobs of 320 MiB under 1 GiB: started together (--job-mem says
	 * they are small), they cross the pause point (budget - 64 MiB) and stay
	 * below the budget: the newest is paused until the others end. */
	char *cc1 = h_strf("%s/cc1", H.scratch);
	cr_assert(symlink(h_helper("memhog"), cc1) == 0, "symlink: %s", strerror(errno));
	char *mk = h_strf("%s/Makefile", H.scratch);
	char *text = h_strf("all: j1 j2 j3\nj%%:\n\t@%s 320 3 8\n", cc1);
	write_text(mk, text);
	char *log = h_strf("%s/run.jsonl", H.scratch);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--name", "capped", "-q", "--backend", "bpf", "--log", log, "--mem", "1GiB",
		"--jobs", "1-3", "--job-mem", "64MiB", "--", "make", "-f", mk);
	h_finish(&p, 120);
	unsetenv("SUPERVISE_CACHE_DIR");
	if (h_exited_with(&p, 125) && strstr(p.err.data, "monitor:"))
		cr_skip_test("needs the bpf backend, which did not load here: %s", p.err.data);
	H_ASSERT_EXIT(&p, 0);
	struct log_check c = check_log(log, &p);
	H_ASSERT(&p, c.starts == 1 && c.exits == 1, "one start and one exit: %d, %d", c.starts, c.exits);
	H_ASSERT(&p, c.samples >= 2, "samples while the build ran: %d", c.samples);
	H_ASSERT(&p, c.tokens >= 1, "the token target moved with memory: no tokens event in %s", log);
	H_ASSERT(&p, c.pauses >= 1, "3 x 320 MiB under 1 GiB: no pause event in %s", log);

	char *dir = artifact_dir();
	char *html = h_strf("%s/report.html", dir), *png = h_strf("%s/report.png", dir);
	struct h_proc r;
	h_run(&r, "report", log, "-o", html);
	H_ASSERT_EXIT(&r, 0);
	char page[1 << 20];
	H_ASSERT(&r, h_read_file(html, page, sizeof(page)) > 0, "no page at %s", html);
	/* Self-contained: nothing to fetch, no script. */
	H_ASSERT(&r, !strstr(page, "<script") && !strstr(page, " src=") && !strstr(page, "<link") &&
			     !strstr(page, "href="), "the page refers to something outside itself: %s", html);
	H_ASSERT(&r, h_count(page, "<svg") >= 3, "3 charts (memory, tokens, map_count) in %s", html);

	if (!op_have("chromium"))
		cr_skip_test("chromium is not installed (scripts/setup.sh installs it); the page is at %s", html);
	unlink(png);
	char *cmd = h_strf("cd %s && HOME=%s timeout 90 chromium --headless=new --no-sandbox --disable-gpu "
			   "--enable-logging=stderr --v=0 --dump-dom 'file://%s' 2>%s/chromium.err",
			   H.scratch, H.scratch, html, H.scratch);
	int rc;
	char *dom = op_sh(cmd, &rc);
	char *errpath = h_strf("%s/chromium.err", H.scratch);
	char err[1 << 16] = "";
	h_read_file(errpath, err, sizeof(err));
	H_ASSERT(&r, rc == 0 && strstr(dom, "<svg"), "chromium --dump-dom failed (%d):\n%s", rc, err);
	H_ASSERT(&r, !strstr(err, ":CONSOLE"), "console messages while rendering %s:\n%s", html, err);
	/* Every chart has a drawn series: a path with a move and a segment. */
	int drawn = 0;
	for (const char *s = dom; (s = strstr(s, "<path class=\"series\"")); s++) {
		const char *d = strstr(s, " d=\"M");
		const char *end = strchr(s, '>');
		drawn += d && end && d < end && memchr(d, 'H', end - d) != NULL;
	}
	H_ASSERT(&r, drawn >= 4, "non-empty SVG paths in the rendered page: %d (rss, target, in use, map_count)", drawn);
	free(cmd);
	cmd = h_strf("cd %s && HOME=%s timeout 90 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars "
		     "--window-size=1000,1800 --screenshot='%s' 'file://%s' >/dev/null 2>&1",
		     H.scratch, H.scratch, png, html);
	free(op_sh(cmd, &rc));
	struct stat st;
	H_ASSERT(&r, rc == 0 && stat(png, &st) == 0 && st.st_size > 10000, "no screenshot at %s (chromium %d)", png, rc);
	fprintf(stderr, "report: page %s, screenshot %s\n", html, png);
}

/* 30 minutes of an idle workload must not make a big log: measure the growth
 * over 25 s after the start and extrapolate. Samples every 2 s would write
 * about 350 KiB in 30 minutes; the bound is 128 KiB. */
Test(report, idle_log_stays_small)
{
	char *log = h_strf("%s/idle.jsonl", H.scratch);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--name", "idle", "-q", "--log", log, "--", "sleep", "600");
	struct stat st;
	for (double end = h_now() + H_TIMEOUT_S; stat(log, &st) < 0 || h_count_entries(H.runtime_dir) == 0;
	     h_sleep_ms(50))
		H_ASSERT(&p, h_now() < end, "no log at %s", log);
	h_sleep_ms(3000);   /* the start line and the first sample */
	stat(log, &st);
	off_t s1 = st.st_size;
	double t1 = h_now();
	h_sleep_ms(25000);
	stat(log, &st);
	double rate = (st.st_size - s1) / (h_now() - t1);
	/* A `supervise set` request is logged. */
	struct h_proc set;
	h_run(&set, "set", "idle", "--mem", "512MiB");
	H_ASSERT_EXIT(&set, 0);
	h_sleep_ms(300);
	kill(p.pid, SIGTERM);
	h_finish(&p, H_TIMEOUT_S);
	double in_30min = rate * 1800;
	fprintf(stderr, "idle log: %.1f bytes/s, %.0f KiB in 30 minutes\n", rate, in_30min / 1024);
	H_ASSERT(&p, in_30min <= 128 * 1024, "the idle log grows %.1f bytes/s: %.0f KiB in 30 minutes (128 KiB allowed)",
		 rate, in_30min / 1024);
	struct log_check c = check_log(log, &p);
	H_ASSERT(&p, c.samples >= 1, "at least one sample");
	H_ASSERT(&p, c.sets == 1, "the set request should be logged once, %d set events in %s", c.sets, log);
}

/* A kill at the budget is logged with its reason, before the exit line. */
Test(report, kill_at_the_budget_is_logged)
{
	if (h_base_has_controller("memory"))
		cr_skip_test("the kernel enforces memory.max below %s: it OOM-kills, not supervise", H.base);
	char *cache = h_strf("%s/cache", H.scratch);
	setenv("SUPERVISE_CACHE_DIR", cache, 1);
	char *log = h_strf("%s/kill.jsonl", H.scratch);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "-q", "--backend", "bpf", "--log", log, "--mem", "256MiB", "--jobs", "2",
		"--", h_helper("memhog"), "600", "10");
	h_finish(&p, 60);
	unsetenv("SUPERVISE_CACHE_DIR");
	if (h_exited_with(&p, 125) && strstr(p.err.data, "monitor:"))
		cr_skip_test("needs the bpf backend, which did not load here: %s", p.err.data);
	H_ASSERT_EXIT(&p, 137);
	check_log(log, &p);
	char text[1 << 16];
	H_ASSERT(&p, h_read_file(log, text, sizeof(text)) > 0, "no log");
	char *kill = strstr(text, "{\"event\":\"kill\"");
	H_ASSERT(&p, kill && strstr(kill, "\"reason\":\"budget\"") && strstr(kill, "\"by\":\"supervise\""),
		 "no kill event with reason budget in:\n%s", text);
	char *exit_line = strstr(text, "{\"event\":\"exit\"");
	H_ASSERT(&p, exit_line && exit_line > kill && strstr(exit_line, "\"exit_status\":137"),
		 "the exit line should follow with 137:\n%s", text);
}
