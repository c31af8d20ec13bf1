/* livestate: every live run on the host as an observer outside the runs sees
 * it — `supervise top` and the exporter. One pass reads the run directories
 * (which runs live, their cgroup and budget), the pinned maps (bpf) or /proc
 * (procfs) for what each uses, the tokens file for the jobserver and the
 * leaf's memory.pressure. Nothing is cached between passes and nothing is
 * written: a pass costs the workloads nothing and needs no daemon.
 *
 * A run's own observers (--metrics-file, --log) fill one workload_state from
 * the loop's reading instead (livestate_from_reading). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor.h"
#include "rundir.h"

struct workload_state {
	struct run_info info;
	bool have_reading;          /* false: the maps or /proc could not be read */
	struct reading r;           /* r.procs: live processes, heaviest first */
	const char *backend;        /* "bpf" | "procfs" */
	const char *enforced_by;    /* "kernel" | "supervise" | "none" */
	bool has_tokens;            /* a jobserver runs */
	unsigned tokens_target, tokens_available, tokens_in_use, pauses;
	unsigned paused_jobs;       /* job subtrees stopped now (see livestate.c) */
	bool has_psi;               /* the leaf's memory.pressure was readable */
	double psi_some_avg10;      /* percent */
	uint64_t psi_some_total_us;
	int64_t uptime_s;
};

struct host_state {
	uint64_t max_map_count;     /* vm.max_map_count, 0: unreadable */
	uint64_t mem_total_bytes, mem_available_bytes;   /* /proc/meminfo, 0: unreadable */
};

struct livestate {
	struct host_state host;
	struct workload_state *w;
	size_t n;
	uint64_t read_ns;           /* how long the pass took (CLOCK_MONOTONIC) */
};

/* One pass over every live run. 0 or -errno (only for out of memory: a run
 * that cannot be read is listed without a reading). */
int livestate_read(struct livestate *ret);
void livestate_free(struct livestate *ls);
void host_state_read(struct host_state *ret);
/* What a run directory and the leaf add to a reading: tokens, pauses and
 * paused jobs, PSI, enforced_by. w->info and w->r are filled by the caller. */
void livestate_fill(struct workload_state *w, const char *run_dir);

/* Sort a reading's live processes by RSS, heaviest first, exited ones
 * dropped. */
void livestate_sort_procs(struct reading *r);

/* {"pid","comm","rss_bytes","map_count"} of a process, as stat --json,
 * top --json and --log write it. */
struct json_object *proc_reading_json(const struct proc_reading *p);
/* {"target","available","in_use"} of a workload's jobserver, as stat --json,
 * top --json and --log write it. */
struct json_object *tokens_json(const struct workload_state *w);

/* Pure parsers, unit-tested. */
/* "some avg10=1.23 avg60=… total=N" (memory.pressure): 0 or -EINVAL. */
int psi_parse_some(const char *text, double *ret_avg10, uint64_t *ret_total_us);
/* MemTotal and MemAvailable of /proc/meminfo, in bytes. 0 or -EINVAL. */
int meminfo_parse(const char *text, uint64_t *ret_total, uint64_t *ret_available);
/* The state letter of a /proc/PID/stat text (after the comm's last ')'),
 * and field 4 (ppid). 0 or -EINVAL. */
int proc_stat_state(const char *text, char *ret_state, uint32_t *ret_ppid);
/* A process's state letter ('R', 'S', 'T', ...), '?' when it is gone. */
char proc_state(uint32_t pid, uint32_t *ret_ppid);
