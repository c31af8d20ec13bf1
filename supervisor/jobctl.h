/* jobctl: the memory-following jobserver as one capability for the run loop —
 * reading (monitor) → governor → actuators (jobserver tokens, pause/resume of a
 * job's processes, kill at the budget) — plus learned footprints, re-minting of
 * tokens lost with dead clients, and the tokens file `supervise stat` reads.
 *
 * run.c uses it as: jobctl_open() after the monitor and before launch (it
 * exports MAKEFLAGS/CARGO_MAKEFLAGS and says which style); jobctl_inherit_fds()
 * for launch; jobctl_started() with the main pid; poll jobctl_fd() and call
 * jobctl_step() on every wake of the loop; jobctl_resume_all() before a signal is
 * forwarded; jobctl_killed() for the exit status; jobctl_close() at the end. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jobserver.h"
#include "monitor.h"

struct jobctl_config {
	unsigned min_jobs, max_jobs;  /* --jobs; max 0 with jobs_auto: CPUs */
	bool jobs_auto;
	double cpus;                  /* --cpus quota, 0: none (caps auto) */
	uint64_t job_mem;             /* --job-mem, 0: learned or the default */
	enum js_style style;          /* JS_AUTO: from the command */
	uint64_t budget_bytes;        /* --mem resolved, 0: none */
	bool kernel_enforces;         /* memory.max is set: never kill, the kernel does */
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

int jobctl_open(const struct jobctl_config *cfg, char *const *argv, const char *run_dir, const char *cgroup_path,
		struct monitor *m, struct jobctl **ret);
/* The command to launch: argv, or a copy with -jN for a client that reads no
 * jobserver (ninja < 1.13); owned by jc. */
char *const *jobctl_argv(const struct jobctl *jc, char *const *argv);
int jobctl_inherit_fds(const struct jobctl *jc, int ret_fds[2]);
void jobctl_started(struct jobctl *jc, pid_t main_pid);
int jobctl_fd(const struct jobctl *jc);
int jobctl_step(struct jobctl *jc);
void jobctl_resume_all(struct jobctl *jc);
/* `supervise set`: a new budget (0: keep) and job range (jobs_max 0: keep). */
void jobctl_set_budget(struct jobctl *jc, uint64_t budget_bytes, unsigned jobs_min, unsigned jobs_max);
/* Grant no new token while hold is true (the map_count guard asks it). */
void jobctl_hold_tokens(struct jobctl *jc, bool hold);
bool jobctl_killed(const struct jobctl *jc);
/* Also ends the live status line, before the summary is printed. */
void jobctl_summary(struct jobctl *jc, struct jobs_summary *ret);
/* What the kernel does not enforce, supervise does (the summary's enforced_by). */
bool jobctl_enforces(const struct jobctl *jc);
void jobctl_close(struct jobctl *jc);
/* Pure: the "pause at" margin used for a budget with a backend ("procfs" wakes
 * only every 100 ms, so it pauses earlier). */
uint64_t jobctl_margin(uint64_t budget_bytes, bool bpf);
