/* monitor: what the backends (monitor-bpf.c, monitor-procfs.c) share with the
 * front door (monitor.c). Not for other capabilities: use monitor.h. */
#pragma once

#include <limits.h>
#include "monitor.h"

/* Exited processes kept for the summary: the heaviest by peak RSS. */
#define MONITOR_MAX_EXITED 256

struct monitor_ops {
	const char *name;
	int (*fd)(struct monitor *m);
	int (*dispatch)(struct monitor *m);
	/* Bring the figures up to date for a turn (bpf: drain, and sweep when
	 * due unless urgent; procfs: sample). */
	int (*refresh)(struct monitor *m, bool urgent);
	/* Fill ret's totals and append live processes with monitor_out_add().
	 * No side effects. */
	int (*read)(struct monitor *m, struct reading *ret);
	int (*set_alerts)(struct monitor *m, uint64_t rss_bytes, uint32_t map_count);
	/* Optional: the turn's reading, to pace the next ones (bpf: the sweep
	 * cadence and arming the per-event programs). */
	void (*observe)(struct monitor *m, const struct reading *r);
	/* Optional: the longest the loop should wait for its next turn (0: no
	 * wish). */
	unsigned (*next_ms)(const struct monitor *m);
	void (*close)(struct monitor *m);
};

struct monitor {
	const struct monitor_ops *ops;
	void *backend;
	char cgroup_path[PATH_MAX];
	uint64_t cgroup_id;                 /* st_ino of the leaf */
	struct monitor_options opts;

	/* The per-process table handed out by monitor_read*(). */
	struct proc_reading *out;
	size_t nr_out, out_cap;

	/* Exited processes, heaviest first. */
	struct proc_reading exited[MONITOR_MAX_EXITED];
	size_t nr_exited;

	/* Since the last turn: exits, the RSS alert crossing, map_count alerts. */
	struct proc_reading *turn_exits;
	size_t nr_turn_exits, turn_exits_cap;
	struct proc_reading *handed;        /* the exits the last turn handed out */
	size_t handed_cap;
	uint64_t last_alert_ns;
	uint64_t last_alert_rss;            /* the workload's summed RSS at that crossing */
	uint64_t urgent_rss;                /* monitor_set_urgent() */
	unsigned map_alerts;
	unsigned execs;                     /* exec events (bpf) */
	bool wake_on_exec;                  /* monitor_wake_on_exec() */
};

/* Append one process to the table being built; -ENOMEM. */
int monitor_out_add(struct monitor *m, const struct proc_reading *p);
/* Remember an exited process (kept only if among the heaviest). */
void monitor_note_exit(struct monitor *m, const struct proc_reading *p);

int monitor_bpf_open(struct monitor *m);
int monitor_procfs_open(struct monitor *m);
/* Why bpf cannot be used here, as words for the warning, or NULL when it can
 * be tried. */
const char *monitor_bpf_unavailable(void);
