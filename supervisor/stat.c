/* stat, ls: what running workloads use, from any shell — the run directories
 * say which runs live and where; the pinned maps (bpf) or /proc (procfs) say
 * what they use. Observers only: nothing here changes a run. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup.h"
#include "jobobs.h"
#include "jsonutil.h"
#include "livestate.h"
#include "log.h"
#include "monitor.h"
#include "rundir.h"
#include "stat.h"
#include "status.h"
#include "util.h"

/* A reading of a live run: from the pinned maps when its supervisor uses the
 * bpf backend, else by sampling /proc once. procs are the caller's to free
 * with reading_free(). */
struct live {
	struct reading r;
	struct monitor *m;          /* procfs: owns r.procs */
	bool unreadable;            /* procfs: the leaf holds processes /proc would not show us */
};

static void live_free(struct live *l)
{
	if (l->m)
		monitor_close(l->m);
	else
		free(l->r.procs);
}

static int live_read(const struct run_info *ri, struct live *ret)
{
	struct live l = { 0 };
	int r;

	if (streq(ri->backend, "bpf")) {
		struct stat st;
		if (stat(ri->cgroup, &st) < 0)
			return log_errno(-errno, "stat: cgroup %s of run '%s': %m", ri->cgroup, ri->name);
		r = monitor_peek(st.st_ino, &l.r);
		if (r < 0)
			return log_errno(r, "stat: reading the pinned maps in %s for '%s' failed: %m",
					 monitor_pin_dir(), ri->name);
	} else {
		r = monitor_open(MONITOR_PROCFS, ri->cgroup, &l.m);
		if (r < 0)
			return r;
		r = monitor_read(l.m, &l.r);
		if (r < 0) {
			monitor_close(l.m);
			return log_errno(r, "stat: sampling /proc for '%s' failed: %m", ri->name);
		}
		/* /proc/PID/maps of another user's process is open only to that
		 * user and root: the sampler skips what it cannot read, so a root
		 * run looks empty to everyone else. Not the same as empty. */
		l.unreadable = l.r.nr_procs == 0 && geteuid() != 0 && cgroup_populated(ri->cgroup) > 0;
	}
	*ret = l;
	return 0;
}

static int find_run(const char *name, struct run_info *ret)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/%s", rundir_root(), name);
	int r = rundir_read(dir, ret);
	if (r == -ENOENT)
		return log_errno(r, "stat: no run named '%s' in %s; 'supervise ls' lists the running ones", name,
				 rundir_root());
	if (r < 0)
		return log_errno(r, "stat: reading %s/run.json failed: %m", dir);
	if (!run_owner_alive(ret))
		return log_errno(-ESRCH, "stat: run '%s' is not running (its supervisor pid %d is gone); "
					 "'supervise gc' removes what it left", name, (int)ret->pid);
	return 0;
}

/* The jobserver's figures (jobobs.h defines the file); zeros without one. */
static bool read_tokens(const char *name, struct tokens_state *ret)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/%s", rundir_root(), name);
	return tokens_read(dir, ret) == 0;
}

static void print_json(const struct run_info *ri, const struct reading *r)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "name", json_object_new_string(ri->name));
	json_object_object_add(o, "pid", json_object_new_int(ri->pid));
	json_object_object_add(o, "cgroup", json_object_new_string(ri->cgroup));
	json_object_object_add(o, "backend", json_object_new_string(ri->backend[0] ? ri->backend : "procfs"));
	json_object_object_add(o, "rss_bytes", json_object_new_uint64(r->rss_bytes));
	json_object_object_add(o, "budget_bytes", ri->budget_bytes ? json_object_new_uint64(ri->budget_bytes) : NULL);
	json_object_object_add(o, "map_count_max", json_object_new_uint64(r->map_count_max));
	/* Without --jobs no tokens exist: zeros. target counts jobs at once (the
	 * implicit token included); available: in the pipe; in_use: with clients. */
	struct tokens_state t = {};
	(void)read_tokens(ri->name, &t);
	json_object *tokens = json_object_new_object();
	json_object_object_add(tokens, "target", json_object_new_int(t.target));
	json_object_object_add(tokens, "available", json_object_new_int(t.available));
	json_object_object_add(tokens, "in_use", json_object_new_int(t.in_use));
	json_object_object_add(o, "tokens", tokens);
	json_object *procs = json_object_new_array();
	for (size_t i = 0; i < r->nr_proc_readings; i++) {
		const struct proc_reading *p = &r->procs[i];
		if (p->exited)
			continue;
		json_object *e = json_object_new_object();
		json_object_object_add(e, "pid", json_object_new_int(p->pid));
		json_object_object_add(e, "comm", json_object_new_string(p->comm));
		json_object_object_add(e, "rss_bytes", json_object_new_uint64(p->rss_bytes));
		json_object_object_add(e, "map_count", json_object_new_uint64(p->map_count));
		json_object_array_add(procs, e);
	}
	json_object_object_add(o, "processes", procs);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void print_human(const struct run_info *ri, const struct reading *r)
{
	char a[32], b[32], c[32];
	/* run.json is read back from disk and comm is the workload's to set:
	 * escaped on their way to a terminal. */
	char name[ESCAPED_SIZE(sizeof(ri->name))], backend[ESCAPED_SIZE(sizeof(ri->backend))];
	char cgroup[ESCAPED_SIZE(sizeof(ri->cgroup))], comm[ESCAPED_SIZE(sizeof(r->procs[0].comm))];
	printf("%s: supervisor pid %d, backend %s, cgroup %s\n", escape_text(ri->name, name, sizeof(name)), (int)ri->pid,
	       escape_text(ri->backend[0] ? ri->backend : "procfs", backend, sizeof(backend)),
	       escape_text(ri->cgroup, cgroup, sizeof(cgroup)));
	if (ri->budget_bytes)
		printf("memory: %s summed RSS of budget %s (peak %s)\n", format_bytes(r->rss_bytes, a, sizeof(a)),
		       format_bytes(ri->budget_bytes, b, sizeof(b)), format_bytes(r->peak_rss_bytes, c, sizeof(c)));
	else
		printf("memory: %s summed RSS (peak %s)\n", format_bytes(r->rss_bytes, a, sizeof(a)),
		       format_bytes(r->peak_rss_bytes, b, sizeof(b)));
	printf("maps: largest %u of vm.max_map_count %" PRIu64 "; processes: %u live, %u started\n",
	       r->map_count_max, read_max_map_count(), r->nr_procs, r->procs_started);
	struct tokens_state t = {};
	bool present = read_tokens(ri->name, &t);
	if (present)
		printf("jobs: target %u at once, %u token%s in use, %u available, %u pause%s so far\n", t.target,
		       t.in_use, t.in_use == 1 ? "" : "s", t.available, t.paused, t.paused == 1 ? "" : "s");
	printf("%8s  %-16s %12s %10s\n", "PID", "COMM", "RSS", "MAPS");
	for (size_t i = 0; i < r->nr_proc_readings; i++) {
		const struct proc_reading *p = &r->procs[i];
		if (!p->exited)
			printf("%8u  %-16s %12s %10u\n", p->pid, escape_text(p->comm, comm, sizeof(comm)),
			       format_bytes(p->rss_bytes, a, sizeof(a)),
			       p->map_count);
	}
}

int stat_command(const struct config *c)
{
	struct run_info ri;
	struct live l;
	if (find_run(c->stat_name, &ri) < 0)
		return EXIT_SUPERVISE_FAILURE;
	if (live_read(&ri, &l) < 0)
		return EXIT_SUPERVISE_FAILURE;
	if (l.unreadable)
		log_warn("stat: '%s' has processes, but /proc shows uid %u none of them: another user's "
			 "/proc/PID/maps is open only to that user and root (backend procfs); run stat as root or as "
			 "the user who started the run", c->stat_name, (unsigned)geteuid());
	/* Heaviest first, in both forms, as top shows them: the process to
	 * look at is on the first line. */
	livestate_sort_procs(&l.r);
	if (c->json)
		print_json(&ri, &l.r);
	else
		print_human(&ri, &l.r);
	live_free(&l);
	return 0;
}

struct ls_walk {
	bool json;
	json_object *arr;
};

static int ls_one(const char *dir, const struct run_info *ri, void *userdata)
{
	struct ls_walk *w = userdata;
	if (!run_owner_alive(ri))
		return 0;
	struct live l;
	bool read = live_read(ri, &l) == 0, have = read && !l.unreadable;   /* unreadable: "-", not 0 */
	uint64_t rss = have ? l.r.rss_bytes : 0;
	if (read)
		live_free(&l);
	long up = (long)(time(NULL) - ri->started_unix);
	if (w->json) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "name", json_object_new_string(ri->name));
		json_object_object_add(e, "pid", json_object_new_int(ri->pid));
		json_object_object_add(e, "backend", json_object_new_string(ri->backend));
		json_object_object_add(e, "cgroup", json_object_new_string(ri->cgroup));
		json_object_object_add(e, "rss_bytes", have ? json_object_new_uint64(rss) : NULL);
		json_object_object_add(e, "uptime_seconds", json_object_new_int64(up));
		json_object_array_add(w->arr, e);
	} else {
		char a[32], name[ESCAPED_SIZE(sizeof(ri->name))], backend[ESCAPED_SIZE(sizeof(ri->backend))];
		char cgroup[ESCAPED_SIZE(sizeof(ri->cgroup))];
		printf("%-24s %8d %-7s %12s %9lds  %s\n", escape_text(ri->name, name, sizeof(name)), (int)ri->pid,
		       escape_text(ri->backend, backend, sizeof(backend)), have ? format_bytes(rss, a, sizeof(a)) : "-",
		       up, escape_text(ri->cgroup, cgroup, sizeof(cgroup)));
	}
	return 0;
}

int ls_command(const struct config *c)
{
	_cleanup_(json_object_putp) json_object *arr = json_object_new_array();
	struct ls_walk w = { .json = c->json, .arr = arr };
	if (!c->json)
		printf("%-24s %8s %-7s %12s %10s  %s\n", "NAME", "PID", "BACKEND", "RSS", "UP", "CGROUP");
	rundir_foreach(ls_one, &w);
	if (c->json)
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}
