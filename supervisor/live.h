/* live: what supervise does for a running workload beyond watching it — the
 * launch advice environment, the live advice page, the map_count guard and
 * the control socket of `supervise set`. run.c calls it as:
 *
 *   live_open() after the monitor is open and before launch;
 *   live_launch_env() for the workload's environment (NULL: inherit);
 *   live_fds() into its poll set, live_dispatch() after poll;
 *   live_on_monitor() after each monitor_dispatch();
 *   live_close() at teardown, before the run directory goes. */
#pragma once

#include <poll.h>
#include <stdbool.h>

#include "advice.h"
#include "cgroup.h"
#include "monitor.h"
#include "rundir.h"

struct config;

/* The budget the workload runs under; `supervise set` changes it. */
struct live_budget {
	uint64_t mem_bytes;         /* 0: none */
	double cpus;                /* 0: no quota */
	unsigned jobs_min, jobs_max;    /* 0: no range */
};

/* Hook for the jobserver (the jobserver issue): called after the budget
 * changed (supervise set) with the new budget. The jobserver is to follow
 * it: take the token target from the governor under the new budget, within
 * jobs_min..jobs_max. While live_hold_tokens() is true it grants no token. */
typedef void (*live_budget_hook)(const struct live_budget *b, void *userdata);

struct live_options {
	const struct config *cfg;
	const char *run_dir;
	const char *base;           /* --cgroup-base, for --mem N% of set */
	struct cgroup *cg;
	struct cgroup_limits *limits;   /* updated in place by set */
	struct run_info *info;          /* budget_bytes updated by set (run.json) */
	struct monitor *mon;
};

struct live;

int live_open(const struct live_options *o, struct live **ret);
char *const *live_launch_env(struct live *l);
/* Fill up to n pollfds; returns how many. */
size_t live_fds(struct live *l, struct pollfd *p, size_t n);
void live_dispatch(struct live *l, const struct pollfd *p, size_t n);
void live_on_monitor(struct live *l);
/* A process of the workload is at or above 80 % of vm.max_map_count: grant
 * no new jobserver token. */
bool live_hold_tokens(const struct live *l);
void live_set_budget_hook(struct live *l, live_budget_hook fn, void *userdata);
void live_close(struct live *l);
