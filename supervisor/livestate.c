/* livestate: every live run on the host, read from outside (top, exporter).
 * The same read path as `supervise stat`: run directories, then the pinned
 * maps (bpf) or one /proc sample (procfs). */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup.h"
#include "jobobs.h"
#include "jsonutil.h"
#include "livestate.h"
#include "log.h"
#include "util.h"

int psi_parse_some(const char *text, double *ret_avg10, uint64_t *ret_total_us)
{
	/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull ..." */
	if (strncmp(text, "some ", 5))
		return -EINVAL;
	const char *a = strstr(text, "avg10="), *t = strstr(text, "total=");
	const char *nl = strchr(text, '\n');
	if (!a || !t || (nl && (a > nl || t > nl)))
		return -EINVAL;
	char *end;
	double avg = strtod(a + 6, &end);
	if (end == a + 6 || avg < 0)
		return -EINVAL;
	unsigned long long total = strtoull(t + 6, &end, 10);
	if (end == t + 6)
		return -EINVAL;
	*ret_avg10 = avg;
	*ret_total_us = total;
	return 0;
}

int meminfo_parse(const char *text, uint64_t *ret_total, uint64_t *ret_available)
{
	const char *t = strstr(text, "MemTotal:"), *a = strstr(text, "MemAvailable:");
	unsigned long long tk, ak;
	if (!t || !a || sscanf(t, "MemTotal: %llu kB", &tk) != 1 || sscanf(a, "MemAvailable: %llu kB", &ak) != 1)
		return -EINVAL;
	*ret_total = tk * 1024;
	*ret_available = ak * 1024;
	return 0;
}

int proc_stat_state(const char *text, char *ret_state, uint32_t *ret_ppid)
{
	/* The comm may hold spaces and ')': the state follows the last one. */
	const char *rp = strrchr(text, ')');
	unsigned ppid;
	if (!rp || rp[1] != ' ' || !rp[2] || sscanf(rp + 3, " %u", &ppid) != 1)
		return -EINVAL;
	*ret_state = rp[2];
	*ret_ppid = ppid;
	return 0;
}

char proc_state(uint32_t pid, uint32_t *ret_ppid)
{
	char path[64], text[1024], state;
	uint32_t ppid = 0;
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/stat", pid);
	if (read_file_at(AT_FDCWD, path, text, sizeof(text)) <= 0 || proc_stat_state(text, &state, &ppid) < 0)
		return '?';
	if (ret_ppid)
		*ret_ppid = ppid;
	return state;
}

struct json_object *proc_reading_json(const struct proc_reading *p)
{
	json_object *e = json_object_new_object();
	json_object_object_add(e, "pid", json_object_new_int64(p->pid));
	json_object_object_add(e, "comm", json_object_new_string(p->comm));
	json_object_object_add(e, "rss_bytes", json_object_new_uint64(p->rss_bytes));
	json_object_object_add(e, "map_count", json_object_new_uint64(p->map_count));
	return e;
}

struct json_object *tokens_json(const struct workload_state *w)
{
	json_object *t = json_object_new_object();
	json_object_object_add(t, "target", json_object_new_int64(w->tokens_target));
	json_object_object_add(t, "available", json_object_new_int64(w->tokens_available));
	json_object_object_add(t, "in_use", json_object_new_int64(w->tokens_in_use));
	return t;
}

void host_state_read(struct host_state *ret)
{
	char text[4096];
	*ret = (struct host_state){ .max_map_count = read_max_map_count() };
	if (read_file_at(AT_FDCWD, "/proc/meminfo", text, sizeof(text)) > 0)
		meminfo_parse(text, &ret->mem_total_bytes, &ret->mem_available_bytes);
}

static int by_rss_desc(const void *a, const void *b)
{
	const struct proc_reading *x = a, *y = b;
	if (x->rss_bytes != y->rss_bytes)
		return x->rss_bytes < y->rss_bytes ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void livestate_sort_procs(struct reading *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nr_proc_readings; i++)
		if (!r->procs[i].exited)
			r->procs[n++] = r->procs[i];
	r->nr_proc_readings = n;
	if (n > 1)
		qsort(r->procs, n, sizeof(*r->procs), by_rss_desc);
}

/* A reading of a run whose supervisor uses the procfs backend: one /proc
 * sample. The procs array is copied out so that the monitor can be closed at
 * once. */
static int read_procfs(const struct run_info *ri, struct reading *ret)
{
	struct monitor *m;
	int r = monitor_open(MONITOR_PROCFS, ri->cgroup, &m);
	if (r < 0)
		return r;
	r = monitor_read(m, ret);
	if (r == 0) {
		struct proc_reading *copy = calloc(ret->nr_proc_readings ? ret->nr_proc_readings : 1, sizeof(*copy));
		if (!copy)
			r = -ENOMEM;
		else
			memcpy(copy, ret->procs, ret->nr_proc_readings * sizeof(*copy));
		ret->procs = copy;
	}
	monitor_close(m);
	return r;
}

/* Every bpf run from the pinned maps in one pass (a pass per run would copy
 * the host-wide procs map once per run). */
static void read_bpf(struct livestate *ls)
{
	_cleanup_free_ uint64_t *ids = calloc(ls->n + 1, sizeof(*ids));
	_cleanup_free_ size_t *which = calloc(ls->n + 1, sizeof(*which));
	_cleanup_free_ struct reading *rd = calloc(ls->n + 1, sizeof(*rd));
	_cleanup_free_ int *found = calloc(ls->n + 1, sizeof(*found));
	size_t n = 0;
	if (!ids || !which || !rd || !found)
		return;
	for (size_t i = 0; i < ls->n; i++) {
		struct stat st;
		if (streq(ls->w[i].info.backend, "bpf") && stat(ls->w[i].info.cgroup, &st) == 0) {
			ids[n] = st.st_ino;
			which[n++] = i;
		}
	}
	if (!n || monitor_peek_many(ids, n, rd, found) < 0)
		return;
	for (size_t j = 0; j < n; j++) {
		if (!found[j]) {
			free(rd[j].procs);
			continue;
		}
		ls->w[which[j]].r = rd[j];
		ls->w[which[j]].have_reading = true;
	}
}

/* Job subtrees stopped now: a stopped process whose parent is not a stopped
 * process of the same workload is the root of a paused job. Reading every
 * process's state costs ~8 µs each, so only runs that paused do it. */
static unsigned count_paused_jobs(const struct reading *r)
{
	unsigned n = 0;
	char *st = calloc(r->nr_proc_readings + 1, 1);
	uint32_t *pp = calloc(r->nr_proc_readings + 1, sizeof(*pp));
	if (!st || !pp)
		goto out;
	for (size_t i = 0; i < r->nr_proc_readings; i++)
		st[i] = proc_state(r->procs[i].pid, &pp[i]);
	for (size_t i = 0; i < r->nr_proc_readings; i++) {
		if (st[i] != 'T' && st[i] != 't')
			continue;
		bool parent_stopped = false;
		for (size_t j = 0; j < r->nr_proc_readings && !parent_stopped; j++)
			parent_stopped = r->procs[j].pid == pp[i] && (st[j] == 'T' || st[j] == 't');
		n += !parent_stopped;
	}
out:
	free(st);
	free(pp);
	return n;
}

void livestate_fill(struct workload_state *w, const char *run_dir)
{
	char path[PATH_MAX], text[256];
	struct tokens_state t;
	/* The jobserver's file, read as `supervise stat` reads it (jobobs.h). */
	if (tokens_read(run_dir, &t) == 0) {
		w->has_tokens = true;
		w->tokens_target = t.target, w->tokens_available = t.available, w->tokens_in_use = t.in_use;
		w->pauses = t.paused;
	}
	snprintf(path, sizeof(path), "%s/memory.pressure", w->info.cgroup);
	if (read_file_at(AT_FDCWD, path, text, sizeof(text)) > 0 &&
	    psi_parse_some(text, &w->psi_some_avg10, &w->psi_some_total_us) == 0)
		w->has_psi = true;
	/* Who holds the budget: memory.max exists only with the v2 memory
	 * controller (then the kernel); without it the jobserver does. */
	uint64_t v;
	bool kernel = w->info.budget_bytes && cgroup_read_u64(w->info.cgroup, "memory.max", &v) != -ENOENT;
	w->enforced_by = kernel ? "kernel" : w->info.budget_bytes && w->has_tokens ? "supervise" : "none";
	if (w->have_reading && w->pauses)
		w->paused_jobs = count_paused_jobs(&w->r);
}

struct collect {
	struct livestate *ls;
	size_t cap;
	int error;
};

static int collect_one(const char *dir, const struct run_info *ri, void *userdata)
{
	struct collect *c = userdata;
	if (!run_owner_alive(ri) || !ri->cgroup[0])
		return 0;
	if (c->ls->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct workload_state *w = realloc(c->ls->w, cap * sizeof(*w));
		if (!w)
			return c->error = -ENOMEM;
		c->ls->w = w;
		c->cap = cap;
	}
	struct workload_state *w = &c->ls->w[c->ls->n++];
	*w = (struct workload_state){ .info = *ri };
	/* run.json names the backend once the monitor is open: until then the
	 * run is starting and there is nothing to read. */
	w->backend = streq(ri->backend, "bpf") ? "bpf" : streq(ri->backend, "procfs") ? "procfs" : "none";
	if (streq(ri->backend, "procfs"))
		w->have_reading = read_procfs(ri, &w->r) == 0;
	w->uptime_s = (int64_t)time(NULL) - ri->started_unix;
	return 0;
}

/* The run directory of a run, for livestate_fill. */
static void run_dir_of(const struct workload_state *w, char *ret, size_t size)
{
	snprintf(ret, size, "%s/%s", rundir_root(), w->info.name);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct workload_state *)a)->info.name, ((const struct workload_state *)b)->info.name);
}

int livestate_read(struct livestate *ret)
{
	uint64_t t0 = now_ns();
	*ret = (struct livestate){ 0 };
	host_state_read(&ret->host);
	struct collect c = { .ls = ret };
	rundir_foreach(collect_one, &c);
	if (c.error < 0) {
		livestate_free(ret);
		return log_errno(c.error, "livestate: reading the runs failed: %m");
	}
	read_bpf(ret);
	for (size_t i = 0; i < ret->n; i++) {
		char dir[PATH_MAX];
		if (ret->w[i].have_reading)
			livestate_sort_procs(&ret->w[i].r);
		run_dir_of(&ret->w[i], dir, sizeof(dir));
		livestate_fill(&ret->w[i], dir);
	}
	if (ret->n > 1)
		qsort(ret->w, ret->n, sizeof(*ret->w), by_name);
	ret->read_ns = now_ns() - t0;
	return 0;
}

void livestate_free(struct livestate *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free(ls->w[i].r.procs);
	free(ls->w);
	*ls = (struct livestate){ 0 };
}
