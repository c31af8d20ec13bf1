/* observe: the run's own observers that write files — --log (eventlog.c) and
 * --metrics-file (metrics.c) — as one consumer of the run loop's readings. It
 * never calls the monitor. run.c uses it as:
 *
 *   observe_open() once the monitor is open and the run directory written
 *   (NULL without either option: every call below then does nothing);
 *   observe_period_ms() for how soon it wants the next reading (1 s);
 *   observe_on_reading() with every turn's reading;
 *   observe_set() when `supervise set` changed the budget;
 *   observe_close() with the summary when the run has ended. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "monitor.h"
#include "rundir.h"

struct config;
struct run_summary;

struct observe_options {
	const struct config *cfg;
	const char *run_dir;
	const struct run_info *info;    /* read at each tick: set may change the budget */
	struct monitor *mon;
};

struct observe;

int observe_open(const struct observe_options *o, struct observe **ret);
unsigned observe_period_ms(const struct observe *ob);   /* UINT_MAX: no wish (NULL) */
void observe_on_reading(struct observe *ob, const struct reading *rd);
/* `supervise set` changed the budget (0 / 0.0: not changed). */
void observe_set(struct observe *ob, uint64_t mem_bytes, double cpus, unsigned jobs_min, unsigned jobs_max);
/* The exit event (with the summary of --summary-json under "summary", and a
 * kill event before it when the workload was killed) and the final metrics. */
void observe_close(struct observe *ob, const struct run_summary *s, bool killed_at_budget);
