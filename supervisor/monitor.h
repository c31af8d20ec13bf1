/* monitor: one `struct reading` of a workload — per process RSS and map_count,
 * peaks, process counts — from one of two backends behind this interface:
 * bpf (the pinned, host-wide probe set) and procfs (sampling /proc).
 *
 * The run loop uses it as: monitor_open() after the leaf exists and before the
 * workload is launched; poll monitor_fd() for POLLIN and call
 * monitor_dispatch(), which collects exits and threshold crossings; when
 * monitor_crossed() says a threshold was crossed, or at its own tick, the loop
 * takes its turn's one reading with monitor_turn() and hands it to every
 * consumer; monitor_close() at the end. Only the loop calls monitor_turn().
 *
 * monitor_read() has no side effects (no ring buffer drained, no sweep, no
 * sample): anyone may call it — tests, `supervise stat` through
 * monitor_peek(), an exporter. */
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
	/* bpf: the largest correction the sweep made to the summed RSS, which
	 * it recomputes from the processes (expected 0); procfs: always 0. */
	uint64_t sum_max_correction_bytes;
	/* What happened since the loop's last turn (monitor_turn() only; zero
	 * from monitor_read()): the RSS alert crossing (time it was seen and the
	 * summed RSS the kernel counted then, 0: none), how many map_count
	 * alerts, and the processes that exited, with their final figures. */
	uint64_t alert_ns, alert_rss_bytes;
	unsigned map_alerts;
	const struct proc_reading *exits;
	size_t nr_exits;
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
int monitor_dispatch(struct monitor *m);                      /* take in events */
/* A threshold crossing was taken in and not yet handed out by a turn. */
bool monitor_crossed(const struct monitor *m);
/* The loop's turn: take in events, re-sync when due (bpf sweep, procfs
 * sample), read, and hand out what happened since the last turn. */
int monitor_turn(struct monitor *m, struct reading *ret);
/* The longest the loop should wait before its next turn for the figures to
 * stay as fresh as the nearest threshold needs (bpf: the adaptive sweep
 * cadence, docs/probes.md); 0: no wish. */
unsigned monitor_next_ms(const struct monitor *m);
/* The figures as they are now; no side effects. */
int monitor_read(struct monitor *m, struct reading *ret);
/* After the workload ended: peaks and the per-process table including exited
 * processes, for the summary. */
int monitor_read_final(struct monitor *m, struct reading *ret);
void monitor_close(struct monitor *m);

/* --- beyond the basic contract ---------------------------------------------- */

struct monitor_options {
	enum monitor_backend backend;
	const char *cgroup_path;
	/* procfs: sampling period of the timerfd (0: 100 ms). */
	unsigned period_ms;
	/* bpf: how often monitor_turn() re-syncs with the iter/task sweep
	 * (exact RSS, processes moved in from outside). 0: adaptive — the
	 * per-event programs are attached only near a threshold and the sweep
	 * runs at a cadence set by how soon usage could reach the nearest one
	 * (50 ms to 1 s); a positive value: adaptive, but never a longer gap
	 * than that; a negative value: never sweep after the first, the
	 * per-event programs always attached (the figures come from the
	 * tracepoints alone). */
	int sweep_ms;
};

int monitor_open_with(const struct monitor_options *o, struct monitor **ret);
/* Wake monitor_fd() when the workload's summed RSS reaches rss_bytes (bpf:
 * once, re-arm by calling again) or any process's map_count reaches
 * map_count (once per process). 0 turns one off. procfs checks these at each
 * sample. */
int monitor_set_alerts(struct monitor *m, uint64_t rss_bytes, uint32_t map_count);
/* The summed RSS that needs a millisecond reaction (the pause point, else
 * the kill point; 0: none). The bpf backend arms its per-event programs and
 * paces its sweeps by this, not by the RSS alert, which the jobserver also
 * sets at each point its token target would change (those decisions can wait
 * for a sweep). 0 leaves the RSS alert to pace it. */
void monitor_set_urgent(struct monitor *m, uint64_t rss_bytes);
/* While on, an exec in the workload counts as a crossing (a turn at once):
 * a job that starts beside paused ones is then seen as its shell (bpf; the
 * procfs backend sees it at its next sample). */
void monitor_wake_on_exec(struct monitor *m, bool on);
/* `supervise gc`: drop the registrations of dead supervisors from the pinned
 * probe set and unpin it when nobody is left. Returns the number of dead
 * registrations removed or -errno. */
int monitor_gc(void);
/* `supervise stat`: a reading of a workload that another supervise monitors
 * with the bpf backend, from the pinned maps (no registration, no sweep).
 * cgroup_id: the leaf's v2 cgroup id. -ENOENT when it is not registered.
 * Free ret->procs with free(). */
int monitor_peek(uint64_t cgroup_id, struct reading *ret);
/* The same for n workloads in one pass over the maps (top, the exporter).
 * ret_found[i]: 0 when cgroup_ids[i] is not registered. Free each
 * ret[i].procs with free(). 0 or -errno. */
int monitor_peek_many(const uint64_t *cgroup_ids, size_t n, struct reading *ret, int *ret_found);
/* The pin directory of the shared probe set ($SUPERVISE_BPF_PIN_DIR or
 * /sys/fs/bpf/supervise). */
const char *monitor_pin_dir(void);
