/* monitor: one `struct reading` of a workload — per process RSS and map_count,
 * peaks, process counts — from one of two backends behind this interface:
 * bpf (the pinned, host-wide probe set) and procfs (sampling /proc).
 *
 * The run loop uses it as: monitor_open() after the leaf exists and before the
 * workload is launched; poll monitor_fd() for POLLIN and call monitor_dispatch();
 * monitor_read() whenever it wants a snapshot; monitor_close() at the end. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define MONITOR_COMM_LEN 16

enum monitor_backend { MONITOR_AUTO, MONITOR_BPF, MONITOR_PROCFS };

struct proc_reading {
	uint32_t pid, ppid;
	char comm[MONITOR_COMM_LEN];
	uint64_t rss_bytes;           /* anon + file + shmem */
	uint64_t rss_anon_bytes, rss_file_bytes, rss_shmem_bytes, swap_bytes;
	uint64_t peak_rss_bytes;
	uint32_t map_count, peak_map_count;
	bool exited;                  /* set in the final reading for processes that ended */
};

struct reading {
	uint64_t ts_ns;               /* CLOCK_MONOTONIC */
	uint64_t rss_bytes;           /* summed over live processes of the workload */
	uint64_t peak_rss_bytes;      /* peak of that sum over the run */
	uint32_t nr_procs;            /* live processes now */
	uint32_t procs_started;       /* processes seen over the run */
	uint32_t peak_concurrent;
	uint32_t map_count_max;       /* largest live map_count now */
	uint32_t peak_map_count;      /* largest map_count over the run ... */
	uint32_t peak_map_pid;        /* ... and who held it */
	char peak_map_comm[MONITOR_COMM_LEN];
	/* Per process: live ones, and (in monitor_read_final) the exited ones
	 * ordered by peak_rss_bytes, heaviest first. Owned by the monitor; valid
	 * until the next monitor_read*() or monitor_close(). */
	struct proc_reading *procs;
	size_t nr_proc_readings;
};

struct monitor;

/* cgroup_path: the leaf's absolute path in the v2 mount; tracking covers it
 * and every cgroup below it. Returns 0 or -errno (logged). With MONITOR_AUTO,
 * falls back to procfs with one warning line saying why bpf did not load. */
int monitor_open(enum monitor_backend backend, const char *cgroup_path, struct monitor **ret);
const char *monitor_backend_name(const struct monitor *m);   /* "bpf" | "procfs" */
int monitor_fd(struct monitor *m);                            /* pollable, POLLIN */
int monitor_dispatch(struct monitor *m);                      /* consume events */
int monitor_read(struct monitor *m, struct reading *ret);
/* After the workload ended: peaks and the per-process table including exited
 * processes, for the summary. */
int monitor_read_final(struct monitor *m, struct reading *ret);
void monitor_close(struct monitor *m);
