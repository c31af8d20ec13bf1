/* governor: the pure decision (see governor.h for the formula). */
#include <math.h>

#include "budget.h"
#include "governor.h"


/* The one margin policy is the budget's (budget.h). */
uint64_t governor_margin(const struct gov_config *cfg)
{
	return cfg->margin_bytes ? cfg->margin_bytes : budget_margin(cfg->budget_bytes, true);
}

static unsigned clamp(long v, unsigned lo, unsigned hi)
{
	if (v < (long)lo)
		return lo;
	if (v > (long)hi)
		return hi;
	return (unsigned)v;
}

/* The newest unpaused job (latest start), or nr when there is none. */
static size_t newest_running(const struct gov_input *in)
{
	size_t best = in->nr_jobs;
	for (size_t i = 0; i < in->nr_jobs; i++)
		if (!in->jobs[i].paused && (best == in->nr_jobs || in->jobs[i].start_ns > in->jobs[best].start_ns))
			best = i;
	return best;
}

static size_t oldest_paused(const struct gov_input *in)
{
	size_t best = in->nr_jobs;
	for (size_t i = 0; i < in->nr_jobs; i++)
		if (in->jobs[i].paused && (best == in->nr_jobs || in->jobs[i].start_ns < in->jobs[best].start_ns))
			best = i;
	return best;
}

/* What a job may still add. One past its expected peak proved the estimate
 * wrong: assume it grows by another eighth of what it holds. */
static uint64_t growth(const struct gov_job *j)
{
	return j->expected_bytes >= j->rss_bytes ? j->expected_bytes - j->rss_bytes : j->rss_bytes / 8;
}

void governor_decide(const struct gov_config *cfg, struct gov_state *st, const struct gov_input *in,
		     struct gov_decision *ret)
{
	unsigned lo = cfg->min_jobs ? cfg->min_jobs : 1;
	unsigned hi = cfg->max_jobs >= lo ? cfg->max_jobs : lo;
	double h = cfg->hysteresis > 0 ? cfg->hysteresis : 0.25;

	*ret = (struct gov_decision){ .action = GOV_NONE, .job = in->nr_jobs };

	/* Without a budget the only bound is the configured one. */
	if (!cfg->budget_bytes) {
		st->target = ret->target = hi;
		return;
	}

	uint64_t margin = governor_margin(cfg);
	uint64_t pause_at = cfg->budget_bytes > margin ? cfg->budget_bytes - margin : cfg->budget_bytes / 2;
	ret->pause_at_bytes = pause_at;

	size_t running = 0, paused = 0;
	uint64_t reserve = 0;
	for (size_t i = 0; i < in->nr_jobs; i++) {
		if (in->jobs[i].paused) {
			paused++;
			continue;
		}
		running++;
		reserve += growth(&in->jobs[i]);
	}

	/* 1. Beyond tokens: pause, kill, resume. One action per decision: the
	 *    next reading shows its effect. */
	/* Pause early in a ramp rather than late: when what the running jobs are
	 * expected to reach no longer fits the budget, the newest waits while it
	 * holds little; at the pause point it waits whatever it holds. */
	uint64_t committed_run = in->rss_bytes + reserve;
	if (in->rss_bytes >= cfg->budget_bytes && running <= 1 && cfg->may_kill) {
		ret->action = GOV_KILL;
	} else if ((in->rss_bytes >= pause_at || committed_run > cfg->budget_bytes) && running > 1) {
		ret->action = GOV_PAUSE;
		ret->job = newest_running(in);
	} else if (paused) {
		size_t j = oldest_paused(in);
		/* Resume when it fits below the pause point by a further margin with
		 * what the running jobs still need, so a resumed job does not at once
		 * cross it again (no pause/resume flapping). With nothing else
		 * running, waiting frees nothing: resume anyway. */
		if (running == 0 || committed_run + growth(&in->jobs[j]) + margin <= pause_at) {
			ret->action = GOV_RESUME;
			ret->job = j;
		}
	}

	/* 2. Tokens: jobs + slots that fit below the pause point. */
	uint64_t next = in->next_job_bytes ? in->next_job_bytes : GOV_DEFAULT_JOB_BYTES;
	uint64_t committed = in->rss_bytes + reserve;
	int64_t headroom = (int64_t)pause_at - (int64_t)committed;
	double x = (double)headroom / (double)next;
	ret->headroom_bytes = headroom;

	long jobs = (long)in->nr_jobs;
	long up = jobs + (long)floor(x - h);
	long down = jobs + (long)floor(x + h);
	long t = st->target ? (long)st->target : up;
	if (up > t)
		t = up;
	else if (down < t)
		t = down;
	/* While a job is paused no new one starts: it would take the memory the
	 * paused one waits for. Tokens already out are never taken back. */
	if (paused || ret->action == GOV_PAUSE) {
		long cap = (long)running - (ret->action == GOV_PAUSE ? 1 : 0);
		if (t > cap)
			t = cap;
	}
	st->target = ret->target = clamp(t, lo, hi);

	/* 3. Where the decision next changes on the way up: the target drops
	 *    when x + h falls below target - jobs; the pause point; the kill point. */
	uint64_t alert = running > 1 ? pause_at : (cfg->may_kill ? cfg->budget_bytes : 0);
	if (ret->target > lo && (long)ret->target > jobs - 1) {
		double d = (x + h - ((double)ret->target - (double)jobs)) * (double)next;
		if (d > 0) {
			uint64_t a = in->rss_bytes + (uint64_t)d + 1;
			if (!alert || a < alert)
				alert = a;
		}
	}
	if (alert && alert <= in->rss_bytes)
		alert = in->rss_bytes + 1;
	ret->alert_bytes = alert;
}
