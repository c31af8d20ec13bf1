/* governor: how many jobs may run at once, and whether a running job must be
 * paused, resumed or (last resort) the workload killed — a pure function of
 * (configuration, one reading, history). No I/O: unit-tested with recorded and
 * synthetic readings (tests/unit/test_governor.c).
 *
 * The rule (docs/jobserver.md, "The governor"): admit a job only if every
 * running job can still reach its likely peak within the budget, and pause
 * while what is paused plus what runs still fits — paused jobs keep their
 * memory, so a pause at the budget frees nothing.
 *   limit      = budget - margin
 *   project(j) = the peak job j is likely to reach (governor_project)
 *   committed  = other + sum over paused jobs of rss(j) + sum over running of project(j)
 *                + room for one small-mode job to turn large - the credit of jobs
 *                known to end before the ramping ones need their room
 *                (other: the workload's RSS outside any job, make itself)
 *   slots      = (limit - committed) / next_job_bytes        (may be negative)
 *   target     = jobs + slots, with a dead band of +-hysteresis slots around the
 *                last target, clamped to [min_jobs, max_jobs]; the slots leave
 *                paused jobs the room to reach their projected peaks
 * Beyond tokens: of the running jobs outgrowing their estimate (real peak
 * unknown) only the oldest grows on, the others are paused as they cross it;
 * committed > limit with more than one running job pauses the job whose
 * pause makes the rest fit while it holds least (else the one with the most
 * still to grow; the outgrowing one last); rss >= budget with at most one
 * running job kills (only when the kernel does not enforce the budget); a
 * job started after a paused one is paused (even the only one running) while
 * committed plus what the older paused jobs still need is above the limit; a
 * paused job resumes, oldest first, when its projected peak and what older
 * paused jobs still need fit below limit - margin/2, or when nothing else
 * runs. */
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

/* What the expected peak of a job rests on. */
enum gov_basis {
	GOV_BASIS_DEFAULT,            /* nothing learned: --job-mem or GOV_DEFAULT_JOB_BYTES */
	GOV_BASIS_COMMAND,            /* a high percentile of its command's peaks */
	GOV_BASIS_IDENTITY,           /* this very job's peak last time */
};

/* One job: a process subtree that holds a token (or the implicit one). */
struct gov_job {
	uint64_t start_ns;            /* first seen; ties in choices go to the newest */
	uint64_t rss_bytes;           /* summed over the job's processes now */
	uint64_t expected_bytes;      /* its likely peak (0: GOV_DEFAULT_JOB_BYTES) */
	/* GOV_BASIS_COMMAND only, 0: none. The top of the mode of its command's
	 * peaks that it is in now (below expected_bytes): a bimodal command's
	 * small job is sized so while it stays below, and committed keeps room
	 * for one such job to turn out a large one (GOV_BASIS_COMMAND jobs are
	 * paused as they cross into the large mode, holding little). */
	uint64_t likely_bytes;
	enum gov_basis basis;
	uint32_t ramp_ms;             /* GOV_BASIS_IDENTITY: start -> peak last time */
	uint32_t dur_ms;              /* GOV_BASIS_IDENTITY: run time start -> end last time, 0: unknown */
	/* Growth over the last window (~0.3 s of running time), bytes a second;
	 * rate_known false until one window has passed since start or resume. */
	uint64_t rate_bps;
	bool rate_known;
	uint64_t run_ns;              /* time it has run (not paused) since start */
	bool paused;
};

struct gov_input {
	uint64_t rss_bytes;           /* the workload's summed RSS */
	uint64_t next_job_bytes;      /* expected footprint of the next job to start */
	const struct gov_job *jobs;
	size_t nr_jobs;
	/* An alert's fast path: jobs are those of the last full reading, and
	 * other_bytes (the decision's own from then) is the RSS outside them. */
	bool stale_jobs;
	uint64_t other_bytes;
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
	int64_t headroom_bytes;       /* limit - committed */
	uint64_t pause_at_bytes;      /* the limit; 0 without a budget */
	uint64_t committed_bytes;     /* what the workload is expected to reach */
	uint64_t other_bytes;         /* RSS outside any job (for a stale_jobs input) */
	/* Wake the supervisor when rss reaches this (the next point where the
	 * decision changes on the way up); 0: none. */
	uint64_t alert_bytes;
};

#define GOV_DEFAULT_JOB_BYTES (512ull << 20)
/* Below this growth a job is taken to have settled at its peak. */
#define GOV_SETTLED_BPS (16ull << 20)

void governor_decide(const struct gov_config *cfg, struct gov_state *st, const struct gov_input *in,
		     struct gov_decision *ret);
/* The margin actually used for cfg (the default filled in). */
uint64_t governor_margin(const struct gov_config *cfg);
/* The peak job j is likely to reach (never below its RSS now):
 *  - settled (growth below GOV_SETTLED_BPS, and past twice its learned ramp
 *    when it has one): what it holds, plus a slack;
 *  - below its expected peak: the expected peak;
 *  - past it and growing, the estimate was wrong: it may grow about as long
 *    again as it has, so what it holds plus min(rss, rate x run time); past it
 *    and not measured yet: a quarter more than it holds. */
uint64_t governor_project(const struct gov_job *j);
/* a + b, saturating: figures read back from disk or a racy reading must not
 * wrap a sum into a small number. */
uint64_t governor_add(uint64_t a, uint64_t b);
