/* governor: how many jobs may run at once, and whether a running job must be
 * paused, resumed or (last resort) the workload killed — a pure function of
 * (configuration, one reading, history). No I/O: unit-tested with recorded and
 * synthetic readings (tests/unit/test_governor.c).
 *
 * The formula (docs/jobserver.md):
 *   pause_at  = budget - margin
 *   committed = rss + sum over unpaused jobs of max(0, expected(job) - rss(job))
 *   slots     = (pause_at - committed) / next_job_bytes        (may be negative)
 *   target    = jobs + slots, with a dead band of +-hysteresis slots around the
 *               last target, clamped to [min_jobs, max_jobs]
 * Beyond tokens: rss >= pause_at with more than one unpaused job pauses the
 * newest; rss >= budget with at most one unpaused job kills (only when the
 * kernel does not enforce the budget); a paused job resumes, oldest first, when
 * its expected growth fits below pause_at - margin, or when nothing else runs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gov_config {
	uint64_t budget_bytes;        /* 0: no memory bound (target = max_jobs) */
	unsigned min_jobs, max_jobs;  /* jobs at once, the client's implicit token included */
	uint64_t margin_bytes;        /* pause this far below the budget; 0: max(budget/16, 64 MiB) */
	double hysteresis;            /* dead band in job slots; 0: 0.25 */
	bool may_kill;                /* the kernel does not enforce the budget: supervise kills */
};

/* One job: a process subtree that holds a token (or the implicit one). */
struct gov_job {
	uint64_t start_ns;            /* first seen; the newest is paused first */
	uint64_t rss_bytes;           /* summed over the job's processes now */
	uint64_t expected_bytes;      /* its expected peak (learned footprint, else default) */
	bool paused;
};

struct gov_input {
	uint64_t rss_bytes;           /* the workload's summed RSS */
	uint64_t next_job_bytes;      /* expected footprint of the next job to start */
	const struct gov_job *jobs;
	size_t nr_jobs;
};

/* History: zero-initialise, pass the same one to every call. */
struct gov_state {
	unsigned target;              /* 0 before the first decision */
};

enum gov_action { GOV_NONE, GOV_PAUSE, GOV_RESUME, GOV_KILL };

struct gov_decision {
	unsigned target;              /* jobs at once, implicit token included */
	enum gov_action action;
	size_t job;                   /* index into jobs for GOV_PAUSE / GOV_RESUME */
	int64_t headroom_bytes;       /* pause_at - committed */
	uint64_t pause_at_bytes;      /* 0 without a budget */
	/* Wake the supervisor when rss reaches this (the next point where the
	 * decision changes on the way up); 0: none. */
	uint64_t alert_bytes;
};

#define GOV_DEFAULT_JOB_BYTES (512ull << 20)

void governor_decide(const struct gov_config *cfg, struct gov_state *st, const struct gov_input *in,
		     struct gov_decision *ret);
/* The margin actually used for cfg (the default filled in). */
uint64_t governor_margin(const struct gov_config *cfg);
