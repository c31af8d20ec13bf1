/* ci: what a CI system shows of a run — an observer of the loop's readings
 * and of the end summary; it acts on nothing.
 *
 *   GitHub Actions  GITHUB_STEP_SUMMARY set: a Markdown section appended to
 *                   that file at the end (command, exit status, wall time, peak
 *                   memory vs budget and who held it, peak map_count vs
 *                   vm.max_map_count, jobs, the heaviest processes, and a
 *                   Mermaid xychart-beta chart of memory over time).
 *                   GITHUB_ACTIONS=true: workflow commands on stdout, each with
 *                   a title: ::warning when memory passed 90 % of the budget or
 *                   map_count 80 % of vm.max_map_count, ::error when the
 *                   workload was killed at the budget (then no memory warning).
 *   GitLab CI       GITLAB_CI set: supervise's end summary inside a collapsible
 *                   section (section_start/section_end markers).
 *   any CI          CI=true (or either of the above): no live status line.
 *
 * run.c uses it as: ci_open() at start; ci_on_reading() with each turn's
 * reading; ci_section_begin()/ci_section_end() around the human summary;
 * ci_finish() with the summary when the run ended; ci_close(). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "monitor.h"
#include "summary.h"

#define CI_POINTS 60

/* Memory over time, for the chart: the highest summed RSS in each of up to
 * CI_POINTS buckets of step_s seconds; when full, pairs merge and the step
 * doubles, so any run length fits. */
struct ci_series {
	uint64_t t0_ns;
	double step_s;
	uint64_t max_bytes[CI_POINTS];
	unsigned n;
};

struct ci;

/* From the environment. Never fails: NULL when no CI is detected; every
 * function below takes NULL. */
struct ci *ci_open(uint64_t t0_ns);
/* Is supervise in CI (CI=true, GITHUB_ACTIONS, GITLAB_CI)? No status line then. */
bool ci_detected(void);
void ci_on_reading(struct ci *ci, const struct reading *r);
void ci_section_begin(struct ci *ci, FILE *f, const char *name);
void ci_section_end(struct ci *ci, FILE *f);
/* The step summary and the workflow commands. */
void ci_finish(struct ci *ci, const struct run_summary *s);
void ci_close(struct ci *ci);

/* --- pure, for the unit tests ----------------------------------------------- */

void ci_series_add(struct ci_series *c, uint64_t ts_ns, uint64_t bytes);
/* The Markdown section (series may be NULL). */
void ci_markdown(const struct run_summary *s, const struct ci_series *series, FILE *f);
/* The workflow commands that are due, one a line; returns how many. */
int ci_workflow_commands(const struct run_summary *s, FILE *f);
