/* jobtable: which process belongs to which job, built from one monitor reading.
 * Pure (no I/O, no clock): the caller passes the time and gets back the jobs
 * that ended; unit-tested in tests/unit/test_jobtable.c.
 *
 * A job is a process started directly by a client (make, cargo, ninja, or the
 * workload's main process) and everything below it, up to a nested client.
 * Jobs keep their index order across readings (oldest first) so the governor's
 * "newest" is stable; the table also sums each job's RSS and its expected peak
 * (learned footprint of its heaviest command, else the default).
 *
 * Not every child of a client is a job (issue 15): a process whose subtree
 * holds a nested client (`cd sub && $(MAKE)`, gcc's LTO make) is a wrapper that
 * only waits for it; it is never paused and reserves nothing beyond what it
 * holds (its sub-make's jobs are jobs of their own). A child the client waits
 * for synchronously (make's `$(shell)`) is marked by the caller (it takes a
 * look at file descriptors, not pure) and is never paused either. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "footprint.h"
#include "monitor.h"

#define JOBTABLE_MAX_JOBS 512
#define JOBTABLE_MAX_PROCS 4096

struct job {
	pid_t root;
	char comm[16];    /* of its heaviest process, for messages */
	uint64_t start_ns;
	uint64_t rss, peak, expected;
	bool paused;
	bool seen;
	bool from_command;  /* expected came from a learned command, not the default */
	/* Kept by jobctl (identity, ramp): the table only carries them. */
	uint64_t id;                  /* footprint_identity of the root, 0: not read yet */
	uint64_t id_bytes;            /* the identity's learned peak, 0: unknown */
	uint32_t id_ramp_ms, id_dur_ms;
	uint64_t run_ns, last_ns;     /* time run (not paused) since start; last step */
	uint64_t win_ns, win_rss;     /* start of the growth window */
	uint64_t rate_bps;            /* growth over the last window */
	bool rate_known;
	uint64_t ramp_rss, ramp_ns;   /* highest RSS so far and the run time it was reached at */
	bool wrapper;     /* its subtree holds a nested client now: not a job */
	bool guessed;     /* expected is the default guess: no process of it was learned */
	bool sync;        /* its client waits for it synchronously ($(shell)): set by the caller */
	bool sync_checked;/* the caller looked once */
	bool forced;      /* resumed by the progress rule: never paused again */
	bool narrowed;    /* paused to narrow to a lower target (`supervise set`), not for memory */
};

struct proc_ix {
	pid_t pid, ppid;
	int job;          /* index into jobs, -1: none (a client, or outside any job) */
	int idx;          /* into the reading's procs */
};

struct jobtable {
	struct job jobs[JOBTABLE_MAX_JOBS];
	size_t nr_jobs;
	struct proc_ix px[JOBTABLE_MAX_PROCS];   /* sorted by pid */
	size_t nr_px;
};

struct jobtable_params {
	pid_t main_pid;                   /* the workload's first process: a client */
	const struct footprints *fp;      /* expected peaks per command (the project's) */
	const struct footprints *global;  /* the fallback for commands fp has few peaks of */
	uint64_t default_job_bytes;       /* a command never seen */
	uint64_t now_ns;                  /* start time of jobs first seen now */
	/* Called for each job that is gone since the last reading, with its peak. */
	void (*ended)(void *userdata, const struct job *j);
	void *userdata;
};

/* Processes that hand out work and hold tokens for it. */
bool jobtable_is_client_comm(const char *comm);
/* Rebuild the table from r (jobs persist by root pid). */
void jobtable_map(struct jobtable *t, const struct reading *r, const struct jobtable_params *p);
/* The job index pid belonged to at the last mapping, -1: none. */
int jobtable_job_of(const struct jobtable *t, pid_t pid);
unsigned jobtable_paused(const struct jobtable *t);
/* The paused job first seen earliest, nr_jobs when none is paused. */
size_t jobtable_oldest_paused(const struct jobtable *t);
/* A job in the governor's sense: not a wrapper, not a $(shell) helper. */
bool jobtable_is_job(const struct job *j);
/* Jobs (in that sense) now, paused or not: the "jobs at once" figure. */
unsigned jobtable_jobs(const struct jobtable *t);
/* Send sig to every process of job k (as of the last mapping). */
void jobtable_signal(const struct jobtable *t, size_t k, int sig);
