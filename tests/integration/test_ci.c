/*
 * CI integrations, as a CI user sees them:
 *   - GitHub: GITHUB_STEP_SUMMARY gets a Markdown section that a CommonMark
 *     parser with GitHub's table extension (Debian's cmark-gfm) turns into a
 *     table with the run's figures, and a mermaid block; GITHUB_ACTIONS=true
 *     makes ::warning / ::error appear on stdout exactly when due;
 *   - GitLab: the end summary between section_start/section_end markers;
 *   - action.yml parses as YAML, and its steps, run locally with the GITHUB_*
 *     files set to temp files, build supervise and run a command under it.
 */
#include "harness.h"

/* Criterion runs no .fini after a skip: remove the test's subtree first. */
#define skip_test(...) do { h_teardown(); cr_skip_test(__VA_ARGS__); } while (0)

TestSuite(ci, .init = h_setup, .fini = h_teardown, .timeout = 180);

static const char *const ci_vars[] = { "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITLAB_CI", "CI" };

/* The test runner may itself run in CI: start from none of its variables. */
static void clear_ci_env(void)
{
	for (size_t i = 0; i < sizeof(ci_vars) / sizeof(ci_vars[0]); i++)
		unsetenv(ci_vars[i]);
}

/* The output of a shell command (bounded), or NULL when it failed. */
static char *capture(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	if (!f)
		return NULL;
	size_t cap = 1 << 20, len = 0;
	char *buf = calloc(1, cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - 1 - len, f)) > 0)
		len += n;
	int st = pclose(f);
	if (!buf || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A new file with content (h_write_file writes existing cgroup files only). */
static int put_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(s, f);
	return fclose(f) == 0 ? 0 : -errno;
}

static bool have(const char *tool)
{
	char *cmd = h_strf("command -v %s >/dev/null 2>&1", tool);
	int st = system(cmd);
	free(cmd);
	return st == 0;
}

/* The text of the <td> after the one whose text is key, in cmark-gfm's HTML. */
static char *cell_after(const char *html, const char *key)
{
	char *needle = h_strf("<td>%s</td>\n<td>", key);
	const char *p = strstr(html, needle);
	size_t nl = strlen(needle);
	free(needle);
	if (!p)
		return NULL;
	p += nl;
	const char *end = strstr(p, "</td>");
	return end ? strndup(p, end - p) : NULL;
}

/* Lines of out that start with prefix. */
static int lines_starting(const char *out, const char *prefix)
{
	int n = 0;
	for (const char *l = out; l && *l;) {
		if (!strncmp(l, prefix, strlen(prefix)))
			n++;
		const char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : NULL;
	}
	return n;
}

static struct json_object *read_json(const char *path)
{
	struct json_object *o = json_object_from_file(path);
	cr_assert(o, "cannot parse %s", path);
	return o;
}

static int64_t json_i64(struct json_object *o, const char *a, const char *b)
{
	struct json_object *x = NULL, *y = NULL;
	json_object_object_get_ex(o, a, &x);
	json_object_object_get_ex(x, b, &y);
	return json_object_get_int64(y);
}

Test(ci, github_step_summary_parses_into_the_expected_table)
{
	if (!have("cmark-gfm"))
		skip_test("cmark-gfm is not installed (scripts/setup.sh installs it)");
	clear_ci_env();
	char *md = h_strf("%s/step-summary.md", H.scratch), *json = h_strf("%s/run.json", H.scratch);
	/* The runner's file already holds earlier steps' sections: they stay. */
	cr_assert(put_file(md, "## An earlier step\n") == 0);
	setenv("GITHUB_STEP_SUMMARY", md, 1);
	setenv("GITHUB_ACTIONS", "true", 1);

	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--mem", "512MiB", "--summary-json", json, "--", h_helper("memhog"), "96",
	      "1");
	H_ASSERT_EXIT(&p, 0);
	/* 96 MiB of 512: nothing a reviewer must see. */
	H_ASSERT(&p, lines_starting(p.out.data, "::") == 0, "no workflow command is due at 19 %% of the budget");

	char *cmd = h_strf("cmark-gfm -e table -t html '%s'", md);
	char *html = capture(cmd);
	cr_assert(html, "%s failed", cmd);
	cr_assert(strstr(html, "<h2>An earlier step</h2>"), "the earlier section should stay:\n%s", html);
	cr_assert(strstr(html, "<h3>supervise: memhog</h3>"), "a section for the run:\n%s", html);
	cr_assert(strstr(html, "<table>"), "a table:\n%s", html);

	char *exit_cell = cell_after(html, "Exit status");
	cr_assert(exit_cell && !strcmp(exit_cell, "0"), "Exit status cell: %s\n%s", exit_cell, html);
	char *cmd_cell = cell_after(html, "Command");
	cr_assert(cmd_cell && strstr(cmd_cell, "memhog 96 1"), "Command cell: %s\n%s", cmd_cell, html);
	char *wall = cell_after(html, "Wall time");
	double w = -1;
	cr_assert(wall && sscanf(wall, "%lf s", &w) == 1 && w > 0, "Wall time cell: %s", wall);

	/* The peak in the table is the summary's, which /proc-backed tests check. */
	struct json_object *o = read_json(json);
	double peak_mib = json_i64(o, "memory", "peak_rss_bytes") / 1048576.0;
	char *mem = cell_after(html, "Peak memory");
	double shown = -1;
	cr_assert(mem && sscanf(mem, "%lfMiB", &shown) == 1, "Peak memory cell: %s", mem);
	cr_assert(shown > 0.95 * peak_mib && shown < 1.05 * peak_mib, "peak %.1f MiB shown, the summary says %.1f",
		  shown, peak_mib);
	cr_assert(shown >= 96 && shown < 96 * 1.2, "memhog touched 96 MiB; the table says %.1f MiB", shown);
	cr_assert(strstr(mem, "of budget 512MiB"), "the budget: %s", mem);
	cr_assert(strstr(mem, "memhog"), "who held it: %s", mem);
	cr_assert(cell_after(html, "Peak map_count"), "a map_count row:\n%s", html);
	/* The heaviest processes table and the chart. */
	cr_assert(strstr(html, "<th>Process</th>"), "a process table:\n%s", html);
	cr_assert(strstr(html, "<pre><code class=\"language-mermaid\">xychart-beta"), "a mermaid xychart:\n%s", html);
	cr_assert(strstr(html, "line ["), "a line of memory over time:\n%s", html);

	json_object_put(o);
	free(html), free(cmd), free(exit_cell), free(cmd_cell), free(wall), free(mem), free(md), free(json);
	h_proc_free(&p);
}

Test(ci, one_warning_at_95_percent_of_the_budget)
{
	clear_ci_env();
	setenv("GITHUB_ACTIONS", "true", 1);
	struct h_proc p;
	/* 243 MiB touched plus the process's own pages: about 95 % of 256 MiB. */
	h_run(&p, "--cgroup-base", H.base, "--mem", "256MiB", "--", h_helper("memhog"), "243", "1");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, lines_starting(p.out.data, "::warning title=supervise: memory near the budget::") == 1,
		 "one memory warning");
	H_ASSERT(&p, lines_starting(p.out.data, "::error") == 0, "no error: it was not killed");
	H_ASSERT(&p, lines_starting(p.out.data, "::") == 1, "nothing else");
	h_proc_free(&p);
}

Test(ci, one_error_when_killed_at_the_budget)
{
	clear_ci_env();
	setenv("GITHUB_ACTIONS", "true", 1);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--mem", "256MiB", "--", h_helper("memhog"), "1024", "1");
	H_ASSERT_EXIT(&p, 137);
	H_ASSERT(&p, lines_starting(p.out.data, "::error title=supervise: killed at the memory budget::") == 1,
		 "one error");
	H_ASSERT(&p, strstr(p.out.data, "256MiB"), "the error names the budget");
	H_ASSERT(&p, lines_starting(p.out.data, "::warning title=supervise: memory") == 0,
		 "no memory warning besides the error");
	h_proc_free(&p);
}

Test(ci, no_workflow_commands_outside_github_actions)
{
	clear_ci_env();
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--mem", "256MiB", "--", h_helper("memhog"), "1024", "1");
	H_ASSERT_EXIT(&p, 137);
	H_ASSERT(&p, lines_starting(p.out.data, "::") == 0, "no workflow command without GITHUB_ACTIONS=true");
	h_proc_free(&p);
}

Test(ci, gitlab_section_around_the_summary)
{
	clear_ci_env();
	setenv("GITLAB_CI", "true", 1);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", "sh", "-c", "exit 3");
	H_ASSERT_EXIT(&p, 3);
	const char *start = strstr(p.err.data, "\033[0Ksection_start:");
	const char *summary = strstr(p.err.data, "supervise: sh: exit 3");
	const char *end = strstr(p.err.data, "\033[0Ksection_end:");
	H_ASSERT(&p, start && summary && end && start < summary && summary < end,
		 "the summary between section_start and section_end");
	H_ASSERT(&p, strstr(start, "[collapsed=true]\r\033[0K"), "a collapsed section with a header");
	h_proc_free(&p);
}

/* A runner for a composite action's steps: ${{ inputs.X }} (defaults, then
 * the given values) and ${{ github.action_path }} substituted in env values,
 * each run: through bash -e with that env and the GITHUB_* files. */
static const char run_action_py[] =
	"import os, re, subprocess, sys, yaml\n"
	"root, inputs = sys.argv[1], dict(a.split('=', 1) for a in sys.argv[2:])\n"
	"act = yaml.safe_load(open(os.path.join(root, 'action.yml')))\n"
	"assert act['runs']['using'] == 'composite', act['runs']\n"
	"vals = {k: str(v.get('default', '')) for k, v in act['inputs'].items()}\n"
	"vals.update(inputs)\n"
	"def sub(s):\n"
	"    s = s.replace('${{ github.action_path }}', root)\n"
	"    return re.sub(r'\\$\\{\\{ inputs\\.([a-z-]+) \\}\\}', lambda m: vals[m.group(1)], s)\n"
	"for step in act['runs']['steps']:\n"
	"    assert '${{' not in step['run'], 'an expression spliced into a script: ' + step['name']\n"
	"    env = dict(os.environ, **{k: sub(str(v)) for k, v in step.get('env', {}).items()})\n"
	"    print('step:', step['name'], flush=True)\n"
	"    r = subprocess.run(['bash', '-e', '-c', step['run']], env=env)\n"
	"    if r.returncode:\n"
	"        print('step failed:', step['name'], r.returncode, flush=True)\n"
	"        sys.exit(r.returncode)\n";

/* The source tree: the build directory's parent (SUPERVISE_SOURCE_DIR overrides). */
static char *source_dir(void)
{
	const char *env = getenv("SUPERVISE_SOURCE_DIR");
	if (env)
		return strdup(env);
	char *bin = strdup(H.bin), *slash = strrchr(bin, '/');
	if (slash)
		*slash = '\0';
	slash = strrchr(bin, '/');
	if (slash)
		*slash = '\0';
	return bin;
}

Test(ci, action_yml_steps_run_locally)
{
	if (access("/usr/bin/python3", X_OK) != 0 || system("/usr/bin/python3 -c 'import yaml' 2>/dev/null") != 0)
		skip_test("/usr/bin/python3 with yaml (python3-yaml) is not installed");
	clear_ci_env();
	char *src = source_dir();
	char *action = h_strf("%s/action.yml", src);
	cr_assert(h_exists(action), "no action.yml at %s (set SUPERVISE_SOURCE_DIR)", action);

	char *py = h_strf("%s/run-action.py", H.scratch);
	cr_assert(put_file(py, run_action_py) == 0);
	const char *names[] = { "GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY" };
	char *files[4];
	for (int i = 0; i < 4; i++) {
		files[i] = h_strf("%s/%s", H.scratch, names[i]);
		cr_assert(put_file(files[i], "") == 0);
		setenv(names[i], files[i], 1);
	}
	setenv("GITHUB_ACTIONS", "true", 1);
	setenv("RUNNER_TEMP", H.scratch, 1);
	/* A command line with quotes and $(...) stays one value. */
	char *run = h_strf("run=echo \"in CI: $(echo ok)\"; exit 4");
	char *args = h_strf("args=--cgroup-base %s", H.base);
	struct h_proc p;
	h_startv(&p, &(struct h_opts){ .raw = true },
		 (const char *const[]){ "/usr/bin/python3", py, src, run, "mem=256MiB", "jobs=2", args, NULL });
	h_finish(&p, 170);
	H_ASSERT(&p, strstr(p.out.data, "step: Run under supervise"), "the three steps ran");
	H_ASSERT(&p, strstr(p.out.data, "in CI: ok"), "the command ran under supervise");
	H_ASSERT(&p, strstr(p.out.data, "step failed: Run under supervise 4"), "its exit status is the step's");

	char out[4096] = "", path[4096] = "", summary[65536] = "";
	h_read_file(files[2], out, sizeof(out));
	h_read_file(files[1], path, sizeof(path));
	h_read_file(files[3], summary, sizeof(summary));
	H_ASSERT(&p, strstr(out, "summary-json="), "GITHUB_OUTPUT names the summary: %s", out);
	H_ASSERT(&p, strstr(path, "/build"), "GITHUB_PATH gets the build directory: %s", path);
	H_ASSERT(&p, strstr(summary, "### supervise: bash") && strstr(summary, "| Exit status | 4 |"),
		 "the step summary has the run:\n%s", summary);
	for (int i = 0; i < 4; i++)
		free(files[i]);
	free(src), free(action), free(py), free(run), free(args);
	h_proc_free(&p);
}

/* The live status line needs a terminal on stderr: script(1) gives one. It
 * shows without CI, and CI=true turns it off. */
static char *status_line_run(bool ci)
{
	clear_ci_env();
	if (ci)
		setenv("CI", "true", 1);
	char *cmd = h_strf("'%s' --cgroup-base '%s' --jobs 2 -- sleep 1", H.bin, H.base);
	char *quoted = h_strf("script -qec \"%s\" /dev/null", cmd);
	char *out = capture(quoted);
	free(cmd);
	free(quoted);
	return out;
}

Test(ci, ci_true_turns_the_status_line_off)
{
	if (!have("script"))
		skip_test("script (util-linux) is not installed");
	char *plain = status_line_run(false), *ci = status_line_run(true);
	cr_assert(plain && ci, "script -qec failed");
	cr_assert(strstr(plain, "\rsupervise: jobs "), "on a terminal the status line shows:\n%s", plain);
	cr_assert(!strstr(ci, "\rsupervise: jobs "), "CI=true: no status line:\n%s", ci);
	cr_assert(strstr(ci, "supervise: sleep: exit 0"), "the run itself is the same:\n%s", ci);
	free(plain);
	free(ci);
}

/* On this host no cgroup limit encloses the test (v2 has no memory controller,
 * the v1 group is unlimited): --mem auto takes MemAvailable less the reserve,
 * and says so. Skipped where a cgroup limit does apply (the vm lane tests that). */
Test(ci, mem_auto_from_meminfo_here)
{
	clear_ci_env();
	char *json = h_strf("%s/auto.json", H.scratch);
	struct h_proc p;
	h_run(&p, "-v", "--cgroup-base", H.base, "--mem", "auto", "--summary-json", json, "--", "true");
	H_ASSERT_EXIT(&p, 0);
	struct json_object *o = read_json(json);
	struct json_object *m = NULL, *src = NULL, *bb = NULL;
	json_object_object_get_ex(o, "memory", &m);
	json_object_object_get_ex(m, "budget_source", &src);
	json_object_object_get_ex(m, "budget_bytes", &bb);
	const char *source = src ? json_object_get_string(src) : "(null)";
	if (!strcmp(source, "cgroup"))
		skip_test("a cgroup memory limit encloses this test; the vm lane checks that case");
	H_ASSERT(&p, !strcmp(source, "meminfo"), "budget_source %s, want meminfo", source);
	char mi[8192] = "";
	h_read_file("/proc/meminfo", mi, sizeof(mi));
	const char *a = strstr(mi, "MemAvailable:");
	long long kib = a ? atoll(a + 13) : 0;
	double avail = kib * 1024.0, budget = json_object_get_double(bb);
	double want = avail - (64.0 * 1048576 + avail / 32);
	H_ASSERT(&p, budget > 0.9 * want && budget < 1.1 * want,
		 "budget %.0f MiB, want MemAvailable less the reserve, %.0f MiB (10 %%)", budget / 1048576, want / 1048576);
	H_ASSERT(&p, strstr(p.err.data, "--mem auto: budget") && strstr(p.err.data, "MemAvailable"),
		 "-v says the budget and its source");
	json_object_put(o);
	free(json);
	h_proc_free(&p);
}

/* GitLab's artifacts:reports:metrics takes Prometheus/OpenMetrics text: the
 * --metrics-file of a CI run (a kill at the budget) passes promtool. */
Test(ci, gitlab_metrics_file_passes_promtool)
{
	if (!have("promtool"))
		skip_test("promtool (Debian's prometheus) is not installed");
	struct h_proc p;
	clear_ci_env();
	setenv("GITLAB_CI", "true", 1);
	setenv("CI", "true", 1);
	char *path = h_strf("%s/metrics.txt", H.scratch);
	h_run(&p, "--cgroup-base", H.base, "--mem", "256MiB", "--metrics-file", path, "--", h_helper("memhog"), "1024",
	      "1");
	H_ASSERT_EXIT(&p, 137);
	char *cmd = h_strf("promtool check metrics < '%s' 2>&1 && echo PROMTOOL-OK", path);
	char *out = capture(cmd);
	H_ASSERT(&p, out && strstr(out, "PROMTOOL-OK"), "promtool check metrics: %s", out ? out : "(failed)");
	char text[65536] = "";
	h_read_file(path, text, sizeof(text));
	H_ASSERT(&p, strstr(text, "supervise_workload_memory_budget_bytes{") && strstr(text, "} 268435456"),
		 "the budget is in the report:\n%s", text);
	free(out), free(cmd), free(path);
	h_proc_free(&p);
}
