/* live: what supervise does for a running workload beyond watching it — the
 * launch advice environment, the live advice page, the map_count guard and
 * the control socket of `supervise set`. A consumer of the run loop's
 * readings; it never calls the monitor. run.c calls it as:
 *
 *   live_open() after the budget is known and before launch;
 *   live_launch_env() for the workload's environment (NULL: inherit);
 *   live_fds() into its poll set, live_dispatch() after poll (true: `set`
 *   changed the budget, take a reading now);
 *   live_on_reading() with every turn's reading;
 *   live_map_alert() for the map_count threshold the loop arms,
 *   live_period_ms() for how soon it wants the next reading;
 *   live_close() at teardown, before the run directory goes. */
#pragma once

#include <poll.h>
#include <stdbool.h>

#include "advice.h"
#include "budget.h"
#include "cgroup.h"
#include "launch.h"
#include "monitor.h"
#include "rundir.h"

struct config;

/* What `supervise set` changes beside the memory budget. */
struct live_budget {
	double cpus;                /* 0: no quota */
	unsigned jobs_min, jobs_max;    /* 0: no range */
};

/* Called after `supervise set` changed something: b is the new memory
 * budget (NULL when --mem was not part of it). The jobserver follows it. */
typedef void (*live_budget_hook)(const struct live_budget *lb, const struct budget *b, void *userdata);

struct live_options {
	const struct config *cfg;
	const char *run_dir;
	const char *base;           /* --cgroup-base, for --mem N% of set */
	struct cgroup *cg;
	struct budget *budget;      /* the run's; moved by set --mem */
	struct cgroup_limits *limits;   /* cpu.max updated in place by set */
	struct run_info *info;          /* budget_bytes updated by set (run.json) */
	unsigned cpus;                  /* the one CPU count (budget_cpus) */
	const struct launch_var *env;   /* other capabilities' launch variables (the jobserver's) */
	size_t nr_env;
};

struct live;

int live_open(const struct live_options *o, struct live **ret);
char *const *live_launch_env(struct live *l);
/* Fill up to n pollfds; returns how many. */
size_t live_fds(struct live *l, struct pollfd *p, size_t n);
bool live_dispatch(struct live *l, const struct pollfd *p, size_t n);
void live_on_reading(struct live *l, const struct reading *r);
uint32_t live_map_alert(const struct live *l);
unsigned live_period_ms(const struct live *l);
/* A process of the workload is at or above 80 % of vm.max_map_count: grant
 * no new jobserver token. */
bool live_hold_tokens(const struct live *l);
void live_set_budget_hook(struct live *l, live_budget_hook fn, void *userdata);
void live_close(struct live *l);
