/* jobctl: the memory-following jobserver as one consumer of the run loop's
 * readings — job table (jobtable.c) → governor → actions (jobserver tokens,
 * pause/resume of a job's processes, kill at the budget) — plus learned
 * footprints, re-minting of tokens lost with dead clients (jobaudit.c) and
 * the observers (jobobs.c: tokens file, status line, decision log).
 *
 * run.c uses it as: jobctl_open() before launch; jobctl_env() and
 * jobctl_inherit_fds() for the launch; jobctl_started() with the main pid;
 * jobctl_on_reading() with every turn's reading; poll jobctl_fd() (when >= 0)
 * and call jobctl_tokens_home() when it is readable; jobctl_rss_alert() for
 * the threshold the loop arms; jobctl_resume_all() before a signal is
 * forwarded; jobctl_killed() for the exit status; jobctl_close() at the end.
 * jobctl never calls the monitor. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "budget.h"
#include "jobserver.h"
#include "launch.h"
#include "monitor.h"

struct jobctl_config {
	unsigned min_jobs, max_jobs;  /* --jobs; max 0 with jobs_auto: cpus */
	bool jobs_auto;
	unsigned cpus;                /* the one CPU count (budget_cpus) */
	uint64_t job_mem;             /* --job-mem, 0: learned or the default */
	enum js_style style;          /* JS_AUTO: from the command */
	bool status_line;             /* stderr is a terminal: a live one-line status */
	bool announce;                /* say the style and bounds chosen (not with -q) */
};

struct jobs_summary {
	const char *style;            /* "pipe" | "fifo" | "none" */
	unsigned tokens_min, tokens_max;  /* range of the token target (jobs at once) */
	unsigned paused;              /* pauses applied */
	unsigned reminted;            /* tokens re-minted */
	unsigned peak_concurrent;     /* most jobs at once (recipes holding tokens, not clients or wrappers) */
	unsigned progress_resumes;    /* paused jobs the progress rule resumed */
};

struct jobctl;

int jobctl_open(const struct jobctl_config *cfg, const struct budget *b, char *const *argv, const char *run_dir,
		const char *cgroup_path, struct jobctl **ret);
/* The variables a client finds the jobserver by (MAKEFLAGS, CARGO_MAKEFLAGS,
 * MFLAGS unset, CARGO_BUILD_JOBS unless the user set it), for the launch
 * environment: supervise's own environment is left alone. Returns how many. */
size_t jobctl_env(const struct jobctl *jc, struct launch_var *ret, size_t size);
/* The command to launch: argv, or a copy with -jN for a client that reads no
 * jobserver (ninja < 1.13); owned by jc. */
char *const *jobctl_argv(const struct jobctl *jc, char *const *argv);
/* Jobs are paused or a narrowing is under way: the loop must not stretch its
 * period (the progress rule and narrowing act within a tick). */
bool jobctl_needs_turns(const struct jobctl *jc);
/* The governor's decision points need a millisecond reaction now: jobs run
 * and, each as large as the largest known, they could fill the room left to
 * the pause point (the governor pauses a job as it passes its estimate, while
 * it still holds little; a paused job keeps what it holds). */
bool jobctl_needs_fast(const struct jobctl *jc, uint64_t rss_bytes);
int jobctl_inherit_fds(const struct jobctl *jc, int ret_fds[2]);
void jobctl_started(struct jobctl *jc, pid_t main_pid);
/* The reading of this turn: jobs, decision, actions, audit, observers. */
void jobctl_on_reading(struct jobctl *jc, const struct reading *r);
/* The jobserver while tokens are to come home (the pool is above the
 * target), else -1: a token written back is taken at once. */
int jobctl_fd(const struct jobctl *jc);
void jobctl_tokens_home(struct jobctl *jc);
/* Where the summed RSS next changes the decision (0: none): the loop arms
 * the monitor's RSS alert there. */
uint64_t jobctl_rss_alert(const struct jobctl *jc);
void jobctl_resume_all(struct jobctl *jc);
/* `supervise set`: a new budget (b NULL: keep) and job range (jobs_max 0: keep). */
void jobctl_set_budget(struct jobctl *jc, const struct budget *b, unsigned jobs_min, unsigned jobs_max);
/* Grant no new token while hold is true (the map_count guard asks it). */
void jobctl_hold_tokens(struct jobctl *jc, bool hold);
bool jobctl_killed(const struct jobctl *jc);
/* Also ends the live status line, before the summary is printed. */
void jobctl_summary(struct jobctl *jc, struct jobs_summary *ret);
void jobctl_close(struct jobctl *jc);
