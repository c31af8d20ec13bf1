/* ci: see ci.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ci.h"
#include "log.h"
#include "util.h"

#define MIB (1024.0 * 1024.0)

struct ci {
	bool github_actions;          /* GITHUB_ACTIONS=true: workflow commands */
	const char *step_summary;     /* GITHUB_STEP_SUMMARY */
	bool gitlab;                  /* GITLAB_CI */
	bool in_section;
	struct ci_series series;
};

static bool env_true(const char *name)
{
	const char *v = getenv(name);
	return v && (streq(v, "true") || streq(v, "1"));
}

bool ci_detected(void)
{
	return env_true("CI") || env_true("GITHUB_ACTIONS") || getenv("GITLAB_CI");
}

struct ci *ci_open(uint64_t t0_ns)
{
	const char *summary = getenv("GITHUB_STEP_SUMMARY");
	struct ci c = {
		.github_actions = env_true("GITHUB_ACTIONS"),
		.step_summary = summary && summary[0] ? summary : NULL,
		.gitlab = getenv("GITLAB_CI") != NULL,
		.series = { .t0_ns = t0_ns, .step_s = 0.5 },
	};
	if (!c.github_actions && !c.step_summary && !c.gitlab)
		return NULL;
	struct ci *ret = malloc(sizeof(*ret));
	if (ret)
		*ret = c;
	return ret;
}

void ci_series_add(struct ci_series *c, uint64_t ts_ns, uint64_t bytes)
{
	if (ts_ns < c->t0_ns)
		ts_ns = c->t0_ns;
	double t = (ts_ns - c->t0_ns) / 1e9;
	unsigned i = (unsigned)(t / c->step_s);
	/* Past the last bucket: merge pairs (keeping the higher) until it fits. */
	while (i >= CI_POINTS) {
		for (unsigned k = 0; k < CI_POINTS / 2; k++) {
			uint64_t a = c->max_bytes[2 * k], b = c->max_bytes[2 * k + 1];
			c->max_bytes[k] = a > b ? a : b;
		}
		memset(c->max_bytes + CI_POINTS / 2, 0, sizeof(c->max_bytes) / 2);
		c->n = (c->n + 1) / 2;
		c->step_s *= 2;
		i = (unsigned)(t / c->step_s);
	}
	/* Buckets no reading fell in hold the level before them. */
	for (unsigned k = c->n; k < i; k++)
		c->max_bytes[k] = k ? c->max_bytes[k - 1] : 0;
	if (bytes > c->max_bytes[i])
		c->max_bytes[i] = bytes;
	if (i + 1 > c->n)
		c->n = i + 1;
}

void ci_on_reading(struct ci *ci, const struct reading *r)
{
	if (ci)
		ci_series_add(&ci->series, r->ts_ns ? r->ts_ns : now_ns(), r->rss_bytes);
}

/* Text a workload chose (command, comm) inside a Markdown table cell: every
 * ASCII punctuation mark backslash-escaped (CommonMark lets any be), control
 * bytes as \xNN, so nothing it holds can close the cell, open a link or
 * raw HTML, or break the line. */
static void md_text(FILE *f, const char *s)
{
	char buf[ESCAPED_SIZE(512)];
	escape_text(s, buf, sizeof(buf));
	for (const char *p = buf; *p; p++) {
		if (strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", *p))
			fputc('\\', f);
		fputc(*p, f);
	}
}

static const char *mib(uint64_t bytes, char *buf, size_t size)
{
	return format_bytes(bytes, buf, size);
}

void ci_markdown(const struct run_summary *s, const struct ci_series *series, FILE *f)
{
	const struct reading *r = s->final;
	char a[32], b[32];

	fputs("\n### supervise: ", f);
	md_text(f, s->name ? s->name : "");
	fputs("\n\n| | |\n|---|---|\n| Command | ", f);
	for (char *const *arg = s->command; arg && *arg; arg++) {
		if (arg != s->command)
			fputc(' ', f);
		md_text(f, *arg);
	}
	fprintf(f, " |\n| Exit status | %d%s |\n", s->exit_status,
		s->killed_at_budget ? " (killed at the memory budget)" : "");
	fprintf(f, "| Wall time | %.2f s |\n", s->wall_seconds);
	if (r) {
		fprintf(f, "| Peak memory | %s summed RSS", mib(r->peak_rss_bytes, a, sizeof(a)));
		if (s->has_budget)
			fprintf(f, " of budget %s (%.0f %%, %s, enforced by %s)", mib(s->budget_bytes, b, sizeof(b)),
				100.0 * r->peak_rss_bytes / s->budget_bytes,
				s->budget_source ? s->budget_source : "option", s->enforced_by ? s->enforced_by : "none");
		else
			fputs(" (no budget)", f);
		if (r->nr_proc_readings) {
			fputs("; heaviest: ", f);
			md_text(f, r->procs[0].comm);
			fprintf(f, " (pid %u, %s)", r->procs[0].pid, mib(r->procs[0].peak_rss_bytes, a, sizeof(a)));
		}
		fputs(" |\n", f);
		fprintf(f, "| Peak map_count | %u of vm.max_map_count %" PRIu64 " (%.1f %%)", r->peak_map_count,
			s->max_map_count, s->max_map_count ? 100.0 * r->peak_map_count / s->max_map_count : 0.0);
		if (r->peak_map_pid) {
			fputs(", held by ", f);
			md_text(f, r->peak_map_comm);
			fprintf(f, " (pid %u)", r->peak_map_pid);
		}
		fputs(" |\n", f);
	}
	if (s->jobs.style && !streq(s->jobs.style, "none"))
		fprintf(f, "| Jobs | %s jobserver, %u to %u at once, %u pause%s |\n", s->jobs.style, s->jobs.tokens_min,
			s->jobs.tokens_max, s->jobs.paused, s->jobs.paused == 1 ? "" : "s");
	fprintf(f, "| Backend | %s |\n", s->backend ? s->backend : "none");

	if (r && r->nr_proc_readings) {
		fputs("\n| Process | PID | Peak RSS | Peak map_count |\n|---|---:|---:|---:|\n", f);
		for (size_t i = 0; i < r->nr_proc_readings && i < 5; i++) {
			fputs("| ", f);
			md_text(f, r->procs[i].comm);
			fprintf(f, " | %u | %s | %u |\n", r->procs[i].pid, mib(r->procs[i].peak_rss_bytes, a, sizeof(a)),
				r->procs[i].peak_map_count);
		}
	}

	if (series && series->n) {
		/* Mermaid's xychart-beta, which GitHub renders in Markdown. */
		double top = 0;
		for (unsigned i = 0; i < series->n; i++)
			if (series->max_bytes[i] / MIB > top)
				top = series->max_bytes[i] / MIB;
		if (s->has_budget && s->budget_bytes / MIB > top)
			top = s->budget_bytes / MIB;
		fprintf(f, "\n```mermaid\nxychart-beta\n    title \"Summed RSS (MiB)%s\"\n",
			s->has_budget ? " and budget" : "");
		fprintf(f, "    x-axis \"seconds\" 0 --> %.1f\n    y-axis \"MiB\" 0 --> %.0f\n    line [",
			series->n * series->step_s, top * 1.05 + 1);
		for (unsigned i = 0; i < series->n; i++)
			fprintf(f, "%s%.1f", i ? ", " : "", series->max_bytes[i] / MIB);
		fputs("]\n", f);
		if (s->has_budget) {
			fputs("    line [", f);
			for (unsigned i = 0; i < series->n; i++)
				fprintf(f, "%s%.1f", i ? ", " : "", s->budget_bytes / MIB);
			fputs("]\n", f);
		}
		fputs("```\n", f);
	}
}

/* A workflow command's message: %, CR and LF are the runner's escapes. */
static void wf_data(FILE *f, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '%')
			fputs("%25", f);
		else if (*p == '\r')
			fputs("%0D", f);
		else if (*p == '\n')
			fputs("%0A", f);
		else
			fputc(*p, f);
	}
	fputc('\n', f);
}

int ci_workflow_commands(const struct run_summary *s, FILE *f)
{
	const struct reading *r = s->final;
	char msg[1024], a[32], b[32], name[ESCAPED_SIZE(65)], comm[ESCAPED_SIZE(MONITOR_COMM_LEN)];
	int n = 0;

	escape_text(s->name ? s->name : "", name, sizeof(name));
	if (s->killed_at_budget) {
		const char *who = r && r->nr_proc_readings ? r->procs[0].comm : "?";
		snprintf(msg, sizeof(msg), "%s was killed at its memory budget %s (enforced by %s); peak %s summed RSS, "
			 "largest process %s. Raise --mem or lower --jobs.", name,
			 mib(s->budget_bytes, a, sizeof(a)), s->enforced_by ? s->enforced_by : "none",
			 mib(r ? r->peak_rss_bytes : 0, b, sizeof(b)), escape_text(who, comm, sizeof(comm)));
		fputs("::error title=supervise: killed at the memory budget::", f);
		wf_data(f, msg);
		n++;
	} else if (r && s->has_budget && r->peak_rss_bytes * 10 >= s->budget_bytes * 9) {
		snprintf(msg, sizeof(msg), "%s peaked at %s summed RSS, %.0f %% of its memory budget %s", name,
			 mib(r->peak_rss_bytes, a, sizeof(a)), 100.0 * r->peak_rss_bytes / s->budget_bytes,
			 mib(s->budget_bytes, b, sizeof(b)));
		fputs("::warning title=supervise: memory near the budget::", f);
		wf_data(f, msg);
		n++;
	}
	if (r && s->max_map_count && (uint64_t)r->peak_map_count * 10 >= s->max_map_count * 8) {
		snprintf(msg, sizeof(msg), "%s: %s (pid %u) reached %u memory maps, %.0f %% of vm.max_map_count %" PRIu64
			 "; raise it with sysctl -w vm.max_map_count=262144", name,
			 escape_text(r->peak_map_comm, comm, sizeof(comm)), r->peak_map_pid, r->peak_map_count,
			 100.0 * r->peak_map_count / s->max_map_count, s->max_map_count);
		fputs("::warning title=supervise: map_count near vm.max_map_count::", f);
		wf_data(f, msg);
		n++;
	}
	return n;
}

void ci_section_begin(struct ci *ci, FILE *f, const char *name)
{
	if (!ci || !ci->gitlab)
		return;
	char n[ESCAPED_SIZE(65)];
	/* GitLab folds the lines between the markers; \e[0K clears what the
	 * marker would otherwise leave on the rendered line. */
	fprintf(f, "\033[0Ksection_start:%lld:supervise_summary[collapsed=true]\r\033[0Ksupervise: %s summary\n",
		(long long)time(NULL), escape_text(name ? name : "", n, sizeof(n)));
	ci->in_section = true;
}

void ci_section_end(struct ci *ci, FILE *f)
{
	if (!ci || !ci->in_section)
		return;
	fprintf(f, "\033[0Ksection_end:%lld:supervise_summary\r\033[0K\n", (long long)time(NULL));
	ci->in_section = false;
}

void ci_finish(struct ci *ci, const struct run_summary *s)
{
	if (!ci)
		return;
	if (ci->step_summary) {
		/* Appended: other steps' sections stay. The runner made the file;
		 * never follow a symlink planted in its place. */
		int fd = open(ci->step_summary, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
		FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
		if (!f) {
			log_warn("ci: cannot append to GITHUB_STEP_SUMMARY %s: %m", ci->step_summary);
			closep(&fd);
		} else {
			ci_markdown(s, &ci->series, f);
			if (fclose(f) != 0)
				log_warn("ci: writing GITHUB_STEP_SUMMARY %s failed: %m", ci->step_summary);
		}
	}
	if (ci->github_actions) {
		fflush(stdout);
		ci_workflow_commands(s, stdout);
		fflush(stdout);
	}
}

void ci_close(struct ci *ci)
{
	free(ci);
}
