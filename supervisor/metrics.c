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

static void sample_dbl(FILE *f, const char *name, const struct workload_state *w, double v)
{
	fputs(name, f);
	labels(f, w);
	fprintf(f, "} %.6g\n", v);
}

/* A per-workload family: one sample for each workload where want() holds. */
#define EACH(ls, cond) \
	for (size_t _i = 0; _i < (ls)->n; _i++) \
		for (const struct workload_state *w = &(ls)->w[_i]; w && (cond); w = NULL)

static void render_workloads(const struct livestate *ls, const struct metrics_options *o, FILE *f)
{
	family(f, o, "supervise_workload_info", "gauge",
	       "A live workload: its backend and who enforces its memory budget (always 1).");
	EACH(ls, true) {
		fputs("supervise_workload_info", f);
		labels(f, w);
		fprintf(f, ",backend=\"%s\",enforced_by=\"%s\"} 1\n", w->backend, w->enforced_by);
	}
	family(f, o, "supervise_workload_up", "gauge",
	       "1 when the workload's usage could be read (pinned maps or /proc), else 0.");
	EACH(ls, true)
		sample_u64(f, "supervise_workload_up", w, NULL, w->have_reading);
	family(f, o, "supervise_workload_start_time_seconds", "gauge", "When the run started, Unix time.");
	EACH(ls, true)
		sample_u64(f, "supervise_workload_start_time_seconds", w, NULL, (uint64_t)w->info.started_unix);
	family(f, o, "supervise_workload_rss_bytes", "gauge", "Summed RSS of the workload's live processes.");
	EACH(ls, w->have_reading)
		sample_u64(f, "supervise_workload_rss_bytes", w, NULL, w->r.rss_bytes);
	family(f, o, "supervise_workload_rss_peak_bytes", "gauge", "Peak of the summed RSS over the run.");
	EACH(ls, w->have_reading)
		sample_u64(f, "supervise_workload_rss_peak_bytes", w, NULL, w->r.peak_rss_bytes);
	family(f, o, "supervise_workload_memory_budget_bytes", "gauge", "The memory budget (--mem, supervise set).");
	EACH(ls, w->info.budget_bytes)
		sample_u64(f, "supervise_workload_memory_budget_bytes", w, NULL, w->info.budget_bytes);
	family(f, o, "supervise_workload_map_count_max", "gauge",
	       "The largest map_count of a live process of the workload.");
	EACH(ls, w->have_reading)
		sample_u64(f, "supervise_workload_map_count_max", w, NULL, w->r.map_count_max);
	family(f, o, "supervise_workload_map_count_peak", "gauge", "The largest map_count seen over the run.");
	EACH(ls, w->have_reading)
		sample_u64(f, "supervise_workload_map_count_peak", w, NULL, w->r.peak_map_count);
	family(f, o, "supervise_workload_processes", "gauge", "Live processes of the workload.");
	EACH(ls, w->have_reading)
		sample_u64(f, "supervise_workload_processes", w, NULL, w->r.nr_procs);
	family(f, o, "supervise_workload_processes_started_total", "counter", "Processes seen over the run.");
	EACH(ls, w->have_reading)
		sample_u64(f, "supervise_workload_processes_started_total", w, NULL, w->r.procs_started);
	family(f, o, "supervise_jobserver_tokens", "gauge",
	       "Jobserver tokens: target (jobs at once, implicit token included), available (in the pipe), "
	       "in_use (with clients).");
	EACH(ls, w->has_tokens) {
		sample_u64(f, "supervise_jobserver_tokens", w, ",state=\"target\"", w->tokens_target);
		sample_u64(f, "supervise_jobserver_tokens", w, ",state=\"available\"", w->tokens_available);
		sample_u64(f, "supervise_jobserver_tokens", w, ",state=\"in_use\"", w->tokens_in_use);
	}
	family(f, o, "supervise_workload_paused_jobs", "gauge", "Job subtrees stopped now to keep within the budget.");
	EACH(ls, w->has_tokens)
		sample_u64(f, "supervise_workload_paused_jobs", w, NULL, w->paused_jobs);
	family(f, o, "supervise_workload_pauses_total", "counter", "Job pauses applied over the run.");
	EACH(ls, w->has_tokens)
		sample_u64(f, "supervise_workload_pauses_total", w, NULL, w->pauses);
	family(f, o, "supervise_workload_memory_pressure_some_avg10", "gauge",
	       "PSI memory 'some' avg10 of the workload's cgroup, percent of wall time.");
	EACH(ls, w->has_psi)
		sample_dbl(f, "supervise_workload_memory_pressure_some_avg10", w, w->psi_some_avg10);
	family(f, o, "supervise_workload_memory_pressure_some_seconds_total", "counter",
	       "PSI memory 'some' stall time of the workload's cgroup.");
	EACH(ls, w->has_psi)
		sample_dbl(f, "supervise_workload_memory_pressure_some_seconds_total", w, w->psi_some_total_us / 1e6);
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
	family(f, o, "supervise_process_rss_bytes", "gauge",
	       "RSS of the workload's heaviest processes (the exporter's --top-procs of them).");
	EACH(ls, w->have_reading)
		for (size_t i = 0; i < w->r.nr_proc_readings && i < o->top_procs; i++)
			proc_sample(f, "supervise_process_rss_bytes", w, &w->r.procs[i], w->r.procs[i].rss_bytes);
	family(f, o, "supervise_process_mappings", "gauge", "map_count (memory mappings) of the same processes.");
	EACH(ls, w->have_reading)
		for (size_t i = 0; i < w->r.nr_proc_readings && i < o->top_procs; i++)
			proc_sample(f, "supervise_process_mappings", w, &w->r.procs[i], w->r.procs[i].map_count);
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
