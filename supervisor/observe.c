/* observe: --log and --metrics-file, fed the run loop's reading (one a second
 * at least: observe_period_ms). Each reading is completed as `supervise top`
 * sees a run (tokens, pauses, PSI: livestate_fill) and the same state goes to
 * both. */
#include <inttypes.h>
#include <string.h>
#include <limits.h>

#include "cli.h"
#include "eventlog.h"
#include "jsonutil.h"
#include "log.h"
#include "metrics.h"
#include "observe.h"
#include "summary.h"
#include "util.h"

/* node_exporter's textfile collector reads at scrape time (15 s or more
 * apart): every 5 s keeps the file fresh at little cost. */
#define METRICS_EVERY_NS (5 * 1000000000ull)

struct observe {
	const struct config *cfg;
	char run_dir[PATH_MAX];
	const struct run_info *info;
	struct monitor *mon;
	struct eventlog *log;
	uint64_t seen_ns;       /* the last reading taken in */
	uint64_t metrics_ns;
};

static json_object *start_obj(const struct observe *ob)
{
	const struct config *c = ob->cfg;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(ob->info->name));
	json_object *cmd = json_object_new_array();
	for (char **a = c->argv; a && *a; a++)
		json_object_array_add(cmd, json_object_new_string(*a));
	json_object_object_add(o, "command", cmd);
	json_object_object_add(o, "cgroup", json_object_new_string(ob->info->cgroup));
	json_object_object_add(o, "backend", json_object_new_string(monitor_backend_name(ob->mon)));
	json_object_object_add(o, "pid", json_object_new_int(ob->info->pid));
	json_object *lim = json_object_new_object();
	json_object_object_add(lim, "budget_bytes",
			       ob->info->budget_bytes ? json_object_new_uint64(ob->info->budget_bytes) : NULL);
	json_object_object_add(lim, "cpus", c->cpus > 0 ? json_object_new_double(c->cpus) : NULL);
	json_object_object_add(lim, "pids", c->pids ? json_object_new_uint64(c->pids) : NULL);
	json_object_object_add(lim, "max_map_count", json_object_new_uint64(read_max_map_count()));
	json_object_object_add(o, "limits", lim);
	json_object *js = NULL;
	if (c->has_jobs) {
		js = json_object_new_object();
		json_object_object_add(js, "min", json_object_new_int(c->jobs_min));
		json_object_object_add(js, "max", c->jobs_max ? json_object_new_int(c->jobs_max) : NULL);
		json_object_object_add(js, "auto", json_object_new_boolean(c->jobs_auto));
	}
	json_object_object_add(o, "jobserver", js);
	return o;
}

int observe_open(const struct observe_options *o, struct observe **ret)
{
	*ret = NULL;
	if (!o->cfg->log_path && !o->cfg->metrics_file)
		return 0;
	struct observe *ob = calloc(1, sizeof(*ob));
	if (!ob)
		return -ENOMEM;
	*ob = (struct observe){ .cfg = o->cfg, .info = o->info, .mon = o->mon };
	snprintf(ob->run_dir, sizeof(ob->run_dir), "%s", o->run_dir);
	int r;
	if (o->cfg->log_path && (r = eventlog_open(o->cfg->log_path, &ob->log)) < 0) {
		free(ob);
		return r;
	}
	eventlog_start(ob->log, start_obj(ob));
	*ret = ob;
	return 0;
}

unsigned observe_period_ms(const struct observe *ob)
{
	return ob ? 1000 : UINT_MAX;
}

static void write_metrics(struct observe *ob, struct workload_state *w)
{
	struct livestate ls = { .w = w, .n = 1 };
	host_state_read(&ls.host);
	struct metrics_options mo = { .format = METRICS_PROMETHEUS, .top_procs = METRICS_TOP_PROCS_DEFAULT,
				      .scrape_seconds = -1 };
	metrics_write_file(ob->cfg->metrics_file, &ls, &mo);
}

/* The run's state as top sees it, from one reading; procs copied (the
 * monitor owns its array). Free w->r.procs. */
static int state_of(struct observe *ob, const struct reading *rd, struct workload_state *w)
{
	*w = (struct workload_state){ .info = *ob->info, .have_reading = true, .r = *rd };
	w->backend = monitor_backend_name(ob->mon);
	w->r.procs = calloc(rd->nr_proc_readings + 1, sizeof(*rd->procs));
	if (!w->r.procs)
		return -ENOMEM;
	if (rd->nr_proc_readings)
		memcpy(w->r.procs, rd->procs, rd->nr_proc_readings * sizeof(*rd->procs));
	livestate_sort_procs(&w->r);
	livestate_fill(w, ob->run_dir);
	return 0;
}

/* With --jobs the loop reads every 100 ms; the files behind a reading (tokens,
 * PSI, process states while jobs are paused) are read at most this often. The
 * pause counter is cumulative, so no pause is missed in between. */
#define OBSERVE_EVERY_NS (250 * 1000000ull)

void observe_on_reading(struct observe *ob, const struct reading *rd)
{
	struct workload_state w;
	uint64_t now = now_ns();
	if (!ob || (ob->seen_ns && now - ob->seen_ns < OBSERVE_EVERY_NS))
		return;
	ob->seen_ns = now;
	if (state_of(ob, rd, &w) < 0)
		return;
	eventlog_observe(ob->log, &w, now);
	if (ob->cfg->metrics_file && (!ob->metrics_ns || now - ob->metrics_ns >= METRICS_EVERY_NS)) {
		write_metrics(ob, &w);
		ob->metrics_ns = now;
	}
	free(w.r.procs);
}

void observe_set(struct observe *ob, uint64_t mem_bytes, double cpus, unsigned jobs_min, unsigned jobs_max)
{
	if (!ob)
		return;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "budget_bytes", mem_bytes ? json_object_new_uint64(mem_bytes) : NULL);
	json_object_object_add(o, "cpus", cpus > 0 ? json_object_new_double(cpus) : NULL);
	json_object_object_add(o, "jobs_min", jobs_max ? json_object_new_int(jobs_min) : NULL);
	json_object_object_add(o, "jobs_max", jobs_max ? json_object_new_int(jobs_max) : NULL);
	eventlog_event(ob->log, "set", o);
}

void observe_close(struct observe *ob, const struct run_summary *s, bool killed_at_budget)
{
	if (!ob)
		return;
	if (killed_at_budget || s->oom_kills) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "reason", json_object_new_string(killed_at_budget ? "budget" : "oom"));
		json_object_object_add(o, "by", json_object_new_string(killed_at_budget ? "supervise" : "kernel"));
		json_object_object_add(o, "budget_bytes", s->has_budget ? json_object_new_uint64(s->budget_bytes) : NULL);
		json_object_object_add(o, "oom_kills", json_object_new_uint64(s->oom_kills));
		eventlog_event(ob->log, "kill", o);
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "exit_status", json_object_new_int(s->exit_status));
	char ws[32];
	snprintf(ws, sizeof(ws), "%.3f", s->wall_seconds);
	json_object_object_add(o, "wall_seconds", json_object_new_double_s(s->wall_seconds, ws));
	_cleanup_free_ char *text = summary_json(s);
	json_object *sum = text ? json_tokener_parse(text) : NULL;
	json_object_object_add(o, "summary", sum);
	eventlog_event(ob->log, "exit", o);
	if (ob->cfg->metrics_file && s->final) {
		struct workload_state w;
		if (state_of(ob, s->final, &w) == 0) {
			w.enforced_by = s->enforced_by;
			write_metrics(ob, &w);
			free(w.r.procs);
		}
	}
	eventlog_close(ob->log);
	free(ob);
}
