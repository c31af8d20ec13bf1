/* metrics: Prometheus text 0.0.4 / OpenMetrics 1.0 from a livestate. Families
 * are written whole (HELP, TYPE, then every workload's sample), as both
 * formats require; a family without samples is still described. */
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "util.h"

const char *metrics_content_type(enum metrics_format format)
{
	return format == METRICS_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
					     : "text/plain; version=0.0.4; charset=utf-8";
}

void metrics_escape_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* HELP and TYPE; OpenMetrics names a counter family without its _total. */
static void family(FILE *f, const struct metrics_options *o, const char *name, const char *type, const char *help)
{
	size_t len = strlen(name);
	if (o->format == METRICS_OPENMETRICS && streq(type, "counter") && len > 6 && streq(name + len - 6, "_total"))
		len -= 6;
	fprintf(f, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)len, name, help, (int)len, name, type);
}

static void labels(FILE *f, const struct workload_state *w)
{
	fputs("{name=\"", f);
	metrics_escape_label(f, w->info.name);
	fputs("\",cgroup=\"", f);
	metrics_escape_label(f, w->info.cgroup);
	fputc('"', f);
}

static void sample_u64(FILE *f, const char *name, const struct workload_state *w, const char *extra, uint64_t v)
{
	fputs(name, f);
	labels(f, w);
	fprintf(f, "%s} %" PRIu64 "\n", extra ? extra : "", v);
}

/* The per-workload families with one sample each, in the order written. */
enum wm {
	WM_UP, WM_START, WM_RSS, WM_RSS_PEAK, WM_BUDGET, WM_MAPS, WM_MAPS_PEAK, WM_PROCS, WM_STARTED,
	WM_TOKENS, WM_PAUSED_JOBS, WM_PAUSES, WM_PSI_AVG10, WM_PSI_TOTAL,
};

static const struct {
	enum wm id;
	const char *name, *type, *help;
} workload_metrics[] = {
	{ WM_UP, "supervise_workload_up", "gauge",
	  "1 when the workload's usage could be read (pinned maps or /proc), else 0." },
	{ WM_START, "supervise_workload_start_time_seconds", "gauge", "When the run started, Unix time." },
	{ WM_RSS, "supervise_workload_rss_bytes", "gauge", "Summed RSS of the workload's live processes." },
	{ WM_RSS_PEAK, "supervise_workload_rss_peak_bytes", "gauge", "Peak of the summed RSS over the run." },
	{ WM_BUDGET, "supervise_workload_memory_budget_bytes", "gauge", "The memory budget (--mem, supervise set)." },
	{ WM_MAPS, "supervise_workload_map_count_max", "gauge",
	  "The largest map_count of a live process of the workload." },
	{ WM_MAPS_PEAK, "supervise_workload_map_count_peak", "gauge", "The largest map_count seen over the run." },
	{ WM_PROCS, "supervise_workload_processes", "gauge", "Live processes of the workload." },
	{ WM_STARTED, "supervise_workload_processes_started_total", "counter", "Processes seen over the run." },
	{ WM_TOKENS, "supervise_jobserver_tokens", "gauge",
	  "Jobserver tokens: target (jobs at once, implicit token included), available (in the pipe), "
	  "in_use (with clients)." },
	{ WM_PAUSED_JOBS, "supervise_workload_paused_jobs", "gauge",
	  "Job subtrees stopped now to keep within the budget." },
	{ WM_PAUSES, "supervise_workload_pauses_total", "counter", "Job pauses applied over the run." },
	{ WM_PSI_AVG10, "supervise_workload_memory_pressure_some_avg10", "gauge",
	  "PSI memory 'some' avg10 of the workload's cgroup, percent of wall time." },
	{ WM_PSI_TOTAL, "supervise_workload_memory_pressure_some_seconds_total", "counter",
	  "PSI memory 'some' stall time of the workload's cgroup." },
};

/* A workload's figure for one family; false when it has none (no reading,
 * no budget, no jobserver, no PSI): the sample is left out, not made up. */
static bool value(const struct workload_state *w, enum wm id, double *ret)
{
	const struct reading *r = &w->r;
	switch (id) {
	case WM_UP: *ret = w->have_reading; return true;
	case WM_START: *ret = (double)w->info.started_unix; return true;
	case WM_RSS: *ret = (double)r->rss_bytes; return w->have_reading;
	case WM_RSS_PEAK: *ret = (double)r->peak_rss_bytes; return w->have_reading;
	case WM_BUDGET: *ret = (double)w->info.budget_bytes; return w->info.budget_bytes != 0;
	case WM_MAPS: *ret = r->map_count_max; return w->have_reading;
	case WM_MAPS_PEAK: *ret = r->peak_map_count; return w->have_reading;
	case WM_PROCS: *ret = r->nr_procs; return w->have_reading;
	case WM_STARTED: *ret = r->procs_started; return w->have_reading;
	case WM_TOKENS: return false;   /* three samples: written by render_workloads */
	case WM_PAUSED_JOBS: *ret = w->paused_jobs; return w->has_tokens;
	case WM_PAUSES: *ret = w->pauses; return w->has_tokens;
	case WM_PSI_AVG10: *ret = w->psi_some_avg10; return w->has_psi;
	case WM_PSI_TOTAL: *ret = w->psi_some_total_us / 1e6; return w->has_psi;
	}
	return false;
}

static void render_workloads(const struct livestate *ls, const struct metrics_options *o, FILE *f)
{
	family(f, o, "supervise_workload_info", "gauge",
	       "A live workload: its backend and who enforces its memory budget (always 1).");
	for (size_t i = 0; i < ls->n; i++) {
		fputs("supervise_workload_info", f);
		labels(f, &ls->w[i]);
		fprintf(f, ",backend=\"%s\",enforced_by=\"%s\"} 1\n", ls->w[i].backend, ls->w[i].enforced_by);
	}
	for (size_t m = 0; m < ELEMENTSOF(workload_metrics); m++) {
		const char *name = workload_metrics[m].name;
		family(f, o, name, workload_metrics[m].type, workload_metrics[m].help);
		for (size_t i = 0; i < ls->n; i++) {
			const struct workload_state *w = &ls->w[i];
			double v;
			if (workload_metrics[m].id == WM_TOKENS && w->has_tokens) {
				sample_u64(f, name, w, ",state=\"target\"", w->tokens_target);
				sample_u64(f, name, w, ",state=\"available\"", w->tokens_available);
				sample_u64(f, name, w, ",state=\"in_use\"", w->tokens_in_use);
			} else if (value(w, workload_metrics[m].id, &v)) {
				fputs(name, f);
				labels(f, w);
				fprintf(f, "} %.15g\n", v);
			}
		}
	}
}

static void proc_sample(FILE *f, const char *name, const struct workload_state *w, const struct proc_reading *p,
			uint64_t v)
{
	char comm[MONITOR_COMM_LEN + 1];
	snprintf(comm, sizeof(comm), "%s", p->comm);
	fputs(name, f);
	labels(f, w);
	fprintf(f, ",pid=\"%" PRIu32 "\",comm=\"", p->pid);
	metrics_escape_label(f, comm);
	fprintf(f, "\"} %" PRIu64 "\n", v);
}

static void render_procs(const struct livestate *ls, const struct metrics_options *o, FILE *f)
{
	for (int maps = 0; maps <= 1; maps++) {
		const char *name = maps ? "supervise_process_mappings" : "supervise_process_rss_bytes";
		family(f, o, name, "gauge",
		       maps ? "map_count (memory mappings) of the same processes."
			    : "RSS of the workload's heaviest processes (the exporter's --top-procs of them).");
		for (size_t j = 0; j < ls->n; j++) {
			const struct workload_state *w = &ls->w[j];
			for (size_t i = 0; w->have_reading && i < w->r.nr_proc_readings && i < o->top_procs; i++)
				proc_sample(f, name, w, &w->r.procs[i],
					    maps ? w->r.procs[i].map_count : w->r.procs[i].rss_bytes);
		}
	}
}

int metrics_render(const struct livestate *ls, const struct metrics_options *o, FILE *f)
{
	family(f, o, "supervise_host_map_count_limit", "gauge", "vm.max_map_count of the host (the map_count a process may reach).");
	fprintf(f, "supervise_host_map_count_limit %" PRIu64 "\n", ls->host.max_map_count);
	if (ls->host.mem_total_bytes) {
		family(f, o, "supervise_host_memory_available_bytes", "gauge", "MemAvailable of /proc/meminfo.");
		fprintf(f, "supervise_host_memory_available_bytes %" PRIu64 "\n", ls->host.mem_available_bytes);
		family(f, o, "supervise_host_memory_total_bytes", "gauge", "MemTotal of /proc/meminfo.");
		fprintf(f, "supervise_host_memory_total_bytes %" PRIu64 "\n", ls->host.mem_total_bytes);
	}
	family(f, o, "supervise_workloads", "gauge", "Live workloads on the host.");
	fprintf(f, "supervise_workloads %zu\n", ls->n);
	render_workloads(ls, o, f);
	render_procs(ls, o, f);
	if (o->scrape_seconds >= 0) {
		family(f, o, "supervise_exporter_scrape_duration_seconds", "gauge",
		       "How long reading every workload for this scrape took.");
		fprintf(f, "supervise_exporter_scrape_duration_seconds %.6f\n", o->scrape_seconds);
		family(f, o, "supervise_exporter_scrapes_total", "counter", "Scrapes served since the exporter started.");
		fprintf(f, "supervise_exporter_scrapes_total %" PRIu64 "\n", o->scrapes);
	}
	if (o->format == METRICS_OPENMETRICS)
		fputs("# EOF\n", f);
	return ferror(f) ? -EIO : 0;
}

int metrics_render_string(const struct livestate *ls, const struct metrics_options *o, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -errno;
	int r = metrics_render(ls, o, f);
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

int metrics_write_file(const char *path, const struct livestate *ls, const struct metrics_options *o)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = metrics_render_string(ls, o, &text, &len);
	if (r < 0)
		return log_errno(r, "metrics: rendering failed: %m");
	char tmp[PATH_MAX];
	/* ".NAME.XXXXXX": hidden, and no ".prom" suffix the collector would read. */
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	const char *base = basename(copy);
	char dcopy[PATH_MAX];
	snprintf(dcopy, sizeof(dcopy), "%s", path);
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dirname(dcopy), base) >= (int)sizeof(tmp))
		return log_errno(-ENAMETOOLONG, "metrics: --metrics-file %s: path too long", path);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return log_errno(-errno, "metrics: cannot create a temp file beside --metrics-file %s: %m", path);
	/* Readable by the collector (node_exporter usually runs as another user). */
	(void)fchmod(fd, 0644);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			unlink(tmp);
			return log_errno(r, "metrics: writing %s failed: %m", tmp);
		}
		off += n;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return log_errno(r, "metrics: renaming %s to %s failed: %m", tmp, path);
	}
	return 0;
}
