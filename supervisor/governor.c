/* governor: the pure decision (see governor.h for the rule). */
#include <math.h>

#include "budget.h"
#include "governor.h"

#define MIB (1ull << 20)
/* A job this close to its projected peak is at it: pausing it stops nothing. */
#define GOV_STOPS_NOTHING_BYTES (16 * MIB)
/* Sums stay below this: int64_t headroom arithmetic never overflows. */
#define GOV_SUM_MAX (UINT64_MAX >> 2)

uint64_t governor_add(uint64_t a, uint64_t b)
{
	return a > GOV_SUM_MAX - (b < GOV_SUM_MAX ? b : GOV_SUM_MAX) ? GOV_SUM_MAX : a + b;
}

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

/* In the small mode of its command, within an eighth above that mode's top
 * (the same peak measured a little differently — page tables, libraries —
 * or a table that has seen only some of the small jobs). */
static bool in_small_mode(const struct gov_job *j, uint64_t expected)
{
	return j->likely_bytes && j->likely_bytes < expected &&
	       j->rss_bytes <= governor_add(j->likely_bytes, j->likely_bytes / 8);
}

uint64_t governor_project(const struct gov_job *j)
{
	uint64_t rss = j->rss_bytes < GOV_SUM_MAX ? j->rss_bytes : GOV_SUM_MAX;
	uint64_t slack = rss / 16 > 8 * MIB ? rss / 16 : 8 * MIB;
	uint64_t expected = j->expected_bytes ? j->expected_bytes : GOV_DEFAULT_JOB_BYTES;
	bool settled = j->rate_known && j->rate_bps < GOV_SETTLED_BPS;
	/* A job known to peak later (a compiler parsing, then optimising) may
	 * rest below its last peak for a while: trust the plateau only well
	 * past the time it took to peak last time. */
	if (settled && j->basis == GOV_BASIS_IDENTITY && rss < expected)
		settled = j->run_ns > 2 * (uint64_t)j->ramp_ms * 1000000ull + 1000000000ull;
	if (settled)
		return governor_add(rss, slack);
	if (in_small_mode(j, expected))
		return rss > j->likely_bytes ? governor_add(rss, slack) : j->likely_bytes;
	if (rss <= expected)
		return expected;
	/* Within the slack of a learned peak: the same peak, measured a little
	 * differently this time (page tables, a larger argv). */
	if (rss <= expected + slack && j->basis == GOV_BASIS_IDENTITY)
		return governor_add(expected, slack);
	/* Past its expected peak and growing, or not measured yet: the estimate
	 * was wrong. Growing, assume it goes on for another second at its rate
	 * (re-projected at every step, so always a second ahead: time to pause
	 * others before it needs their room); not measured yet (just started or
	 * resumed), a quarter more than it holds. */
	uint64_t more = rss / 4;
	if (j->rate_known)
		more = j->rate_bps < rss ? j->rate_bps : rss;
	return governor_add(rss, more > slack ? more : slack);
}

/* The job to pause when committed > limit: among running jobs whose pause
 * alone brings committed within the limit, the one holding least (its memory
 * stays put while it waits); when none suffices, the one with the most still
 * to grow; the outgrowing one (grower) last. Ties go to the newest. */
static size_t pick_pause(const struct gov_input *in, uint64_t committed, uint64_t limit, size_t grower)
{
	size_t fit = in->nr_jobs, grow = in->nr_jobs;
	uint64_t grow_best = 0;
	for (size_t i = 0; i < in->nr_jobs; i++) {
		const struct gov_job *j = &in->jobs[i];
		/* The one job outgrowing its estimate is paused last: stopped
		 * mid-ramp it would keep what it holds and still need the rest. */
		if (j->paused || i == grower)
			continue;
		uint64_t p = governor_project(j);
		uint64_t rest = committed - p + j->rss_bytes;   /* p >= rss, p <= committed */
		if (rest <= limit && (fit == in->nr_jobs || j->rss_bytes < in->jobs[fit].rss_bytes ||
				      (j->rss_bytes == in->jobs[fit].rss_bytes && j->start_ns > in->jobs[fit].start_ns)))
			fit = i;
		uint64_t g = p - j->rss_bytes;
		if (grow == in->nr_jobs || g > grow_best ||
		    (g == grow_best && (j->rss_bytes < in->jobs[grow].rss_bytes ||
					(j->rss_bytes == in->jobs[grow].rss_bytes && j->start_ns > in->jobs[grow].start_ns)))) {
			grow = i;
			grow_best = g;
		}
	}
	if (fit < in->nr_jobs)
		return fit;
	/* Pausing a job at its peak stops nothing: then the outgrowing one. */
	return grow < in->nr_jobs && (grow_best > GOV_STOPS_NOTHING_BYTES || grower == in->nr_jobs) ? grow : grower;
}

/* A job past its expected peak and not settled: its real peak is unknown.
 * Only one such job grows at a time (the oldest): each other is paused as it
 * crosses its estimate, holding about that much, and waits for the first to
 * end — several unknowns ramping together and then paused mid-ramp is how
 * a workload gets stuck at the budget with nothing left to pause. */
static bool outgrowing(const struct gov_job *j)
{
	uint64_t rss = j->rss_bytes, expected = j->expected_bytes ? j->expected_bytes : GOV_DEFAULT_JOB_BYTES;
	uint64_t slack = rss / 16 > 8 * MIB ? rss / 16 : 8 * MIB;
	if (j->rate_known && j->rate_bps < GOV_SETTLED_BPS)
		return false;
	if (in_small_mode(j, expected))
		return false;
	return rss > governor_add(expected, slack);
}

/* The oldest running job that is outgrowing its estimate, nr_jobs: none. */
static size_t first_outgrowing(const struct gov_input *in)
{
	size_t best = in->nr_jobs;
	for (size_t i = 0; i < in->nr_jobs; i++)
		if (!in->jobs[i].paused && outgrowing(&in->jobs[i]) &&
		    (best == in->nr_jobs || in->jobs[i].start_ns < in->jobs[best].start_ns))
			best = i;
	return best;
}

/* Jobs known from their last run end about when they did then and ramp no
 * faster than twice their pace then: the workload need not hold every
 * projected peak at once. Returns how much less than the sum of the running
 * jobs' projections (as_running, a paused job, counted as resumed) it is
 * expected to hold at its highest: the maximum of the sum over time is taken
 * just before each such end and after the last. Conservative on purpose: an
 * end counts only 25 % + 0.5 s past the last run's time; an overdue job is
 * taken to run on. Only with up to 64 jobs (the cost is quadratic). */
#define GOV_TIMED_JOBS_MAX 64

static uint64_t end_in_ns(const struct gov_job *j)
{
	if (j->basis != GOV_BASIS_IDENTITY || !j->dur_ms)
		return UINT64_MAX;
	uint64_t d = (uint64_t)j->dur_ms * 1000000ull;
	d += d / 4 + 500000000ull;
	return j->run_ns < d ? d - j->run_ns : UINT64_MAX;
}

static uint64_t held_at(const struct gov_input *in, size_t as_running, uint64_t t)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < in->nr_jobs; i++) {
		const struct gov_job *j = &in->jobs[i];
		if ((j->paused && i != as_running) || end_in_ns(j) <= t)
			continue;
		uint64_t p = governor_project(j), m = p;
		if (j->basis == GOV_BASIS_IDENTITY && j->ramp_ms && j->rss_bytes < p) {
			/* bytes a nanosecond, twice the learned pace */
			double g = 2.0 * (double)p / ((double)j->ramp_ms * 1e6);
			double r = (double)j->rss_bytes + g * (double)t;
			m = r < (double)p ? (uint64_t)r : p;
		}
		sum = governor_add(sum, m);
	}
	return sum;
}

static uint64_t time_credit(const struct gov_input *in, size_t as_running)
{
	if (in->nr_jobs > GOV_TIMED_JOBS_MAX)
		return 0;
	uint64_t flat = 0, high = held_at(in, as_running, UINT64_MAX - 1);
	for (size_t i = 0; i < in->nr_jobs; i++)
		if (!in->jobs[i].paused || i == as_running)
			flat = governor_add(flat, governor_project(&in->jobs[i]));
	for (size_t k = 0; k < in->nr_jobs; k++) {
		uint64_t e = end_in_ns(&in->jobs[k]);
		if (e == UINT64_MAX || (in->jobs[k].paused && k != as_running) || !e)
			continue;
		uint64_t h = held_at(in, as_running, e - 1);
		if (h > high)
			high = h;
	}
	return flat > high ? flat - high : 0;
}

/* Within its slack of its projected peak (settled there, or about to be):
 * pausing it stops nothing and keeps what it holds; let run, it ends soon. */
static bool at_peak(const struct gov_job *j)
{
	uint64_t slack = j->rss_bytes / 16 > GOV_STOPS_NOTHING_BYTES ? j->rss_bytes / 16 : GOV_STOPS_NOTHING_BYTES;
	return governor_project(j) <= governor_add(j->rss_bytes, slack);
}

/* What the paused jobs started before job k still need to reach their
 * projected peaks: room a younger job must leave them. make reuses the token
 * of a job that ended at once (it writes it home and reads it back before
 * supervise can keep it), so a new job can start while older ones wait
 * paused; taking their room would leave them holding memory they cannot
 * finish with (issue 14: killed at the budget with 2.8 GiB held by seven
 * paused jobs and one new job growing alone beside them). First come, first
 * served, as the tokens are: a new job fills a gap, never a waiting job's
 * room. (Only the oldest one's room measured 20 % slower on the recorded
 * mix: the next-oldest then waits behind the young ones.) */
static uint64_t reserved_before(const struct gov_input *in, size_t k)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < in->nr_jobs; i++) {
		const struct gov_job *j = &in->jobs[i];
		if (i != k && j->paused && j->start_ns < in->jobs[k].start_ns)
			sum = governor_add(sum, governor_project(j) - j->rss_bytes);
	}
	return sum;
}

/* The newest running job that started after a paused one and does not fit
 * beside what the paused ones older than it still need; nr_jobs: none. */
static size_t pick_young(const struct gov_input *in, uint64_t committed, uint64_t limit)
{
	size_t best = in->nr_jobs;
	for (size_t i = 0; i < in->nr_jobs; i++) {
		const struct gov_job *j = &in->jobs[i];
		if (j->paused || (best < in->nr_jobs && j->start_ns <= in->jobs[best].start_ns))
			continue;
		/* At its peak, a pause stops nothing: it ends soon and frees all. */
		if (at_peak(j))
			continue;
		uint64_t r = reserved_before(in, i);
		if (r && governor_add(committed, r) > limit)
			best = i;
	}
	return best;
}

/* The oldest paused job whose projected peak fits below limit - slack_bytes
 * with what runs; any oldest paused job when nothing runs (waiting frees
 * nothing); nr_jobs when none. While a job outgrows its estimate, no
 * other that did waits to grow beside it. */
static size_t pick_resume(const struct gov_input *in, uint64_t committed, uint64_t limit, uint64_t slack_bytes,
			  size_t running, uint64_t turn)
{
	size_t best = in->nr_jobs, grower = first_outgrowing(in);
	for (size_t i = 0; i < in->nr_jobs; i++) {
		const struct gov_job *j = &in->jobs[i];
		if (!j->paused)
			continue;
		/* One estimate proven wrong at a time (see outgrowing()). */
		if (grower < in->nr_jobs && j->rss_bytes > (j->expected_bytes ? j->expected_bytes : GOV_DEFAULT_JOB_BYTES) &&
		    running > 0)
			continue;
		/* Its rss is in committed already; resumed it counts as its projection. */
		uint64_t p = governor_project(j), e = j->expected_bytes ? j->expected_bytes : GOV_DEFAULT_JOB_BYTES;
		uint64_t after = governor_add(committed - j->rss_bytes, p);
		uint64_t credit = time_credit(in, i);
		after = after > credit ? after - credit : 0;
		if (j->likely_bytes && e > p && e - p > turn)
			after = governor_add(after, e - p - turn);
		/* First come, first served: it fits beside what older paused
		 * jobs still need (pick_young() would pause it again). */
		if (!at_peak(j))
			after = governor_add(after, reserved_before(in, i));
		bool fits = governor_add(after, slack_bytes) <= limit;
		if ((fits || running == 0) && (best == in->nr_jobs || j->start_ns < in->jobs[best].start_ns))
			best = i;
	}
	return best;
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

	uint64_t budget = cfg->budget_bytes < GOV_SUM_MAX ? cfg->budget_bytes : GOV_SUM_MAX;
	uint64_t rss = in->rss_bytes < GOV_SUM_MAX ? in->rss_bytes : GOV_SUM_MAX;
	uint64_t margin = governor_margin(cfg);
	uint64_t limit = budget > margin ? budget - margin : budget / 2;
	ret->pause_at_bytes = limit;

	size_t running = 0, paused = 0;
	uint64_t jobs_rss = 0, held = 0, turn = 0, waiting = 0;
	for (size_t i = 0; i < in->nr_jobs; i++) {
		const struct gov_job *j = &in->jobs[i];
		jobs_rss = governor_add(jobs_rss, j->rss_bytes);
		if (j->paused) {
			paused++;
			held = governor_add(held, j->rss_bytes);
			/* What it still needs once resumed: new jobs must leave room for it. */
			waiting = governor_add(waiting, governor_project(j) - j->rss_bytes);
		} else {
			running++;
			uint64_t p = governor_project(j);
			held = governor_add(held, p);
			/* Room for one job sized by its small mode to turn out large. */
			uint64_t e = j->expected_bytes ? j->expected_bytes : GOV_DEFAULT_JOB_BYTES;
			if (j->likely_bytes && e > p && e - p > turn)
				turn = e - p;
		}
	}
	held = governor_add(held, turn);
	/* What no job accounts for (make, the shell, a job the reading has not
	 * mapped yet), as it is now. On an alert's fast path the jobs' figures
	 * are the last reading's: growth since then goes to the jobs up to
	 * their projections, and only what is beyond every projection counts. */
	uint64_t other = in->stale_jobs ? in->other_bytes : rss > jobs_rss ? rss - jobs_rss : 0;
	uint64_t committed = governor_add(other, held);
	/* Jobs known to end before the ones ramping need their room. */
	uint64_t credit = time_credit(in, in->nr_jobs);
	committed = committed > credit ? committed - credit : 0;
	if (committed < rss)
		committed = rss;
	ret->committed_bytes = committed;
	ret->other_bytes = other;

	/* 1. Beyond tokens: kill, pause, resume. One action per decision: the
	 *    next reading shows its effect. */
	/* A second job seen growing past its estimate is paused while it holds
	 * little more than that estimate; one far past it already (resumed as
	 * the only one running) is left to the rules below. */
	size_t grower = first_outgrowing(in), second = in->nr_jobs, young;
	for (size_t i = 0; i < in->nr_jobs && grower < in->nr_jobs; i++) {
		const struct gov_job *j = &in->jobs[i];
		uint64_t e = j->expected_bytes ? j->expected_bytes : GOV_DEFAULT_JOB_BYTES;
		if (i != grower && !j->paused && j->rate_known && outgrowing(j) && j->rss_bytes <= e + e / 2 + 64 * MIB &&
		    (second == in->nr_jobs || j->rss_bytes < in->jobs[second].rss_bytes))
			second = i;
	}
	if (rss >= budget && running <= 1 && cfg->may_kill) {
		ret->action = GOV_KILL;
	} else if (second < in->nr_jobs) {
		ret->action = GOV_PAUSE;
		ret->job = second;
	} else if (committed > limit && running > 1) {
		ret->action = GOV_PAUSE;
		ret->job = pick_pause(in, committed, limit, grower);
	} else if (paused && (young = pick_young(in, committed, limit)) < in->nr_jobs) {
		/* Even the only one running: the oldest paused job resumes next. */
		ret->action = GOV_PAUSE;
		ret->job = young;
	} else if (paused) {
		/* Half a margin of hysteresis: a resumed job does not at once tip
		 * committed over the limit again (no pause/resume flapping). */
		size_t j = pick_resume(in, governor_add(committed, credit), limit, margin / 2, running, turn);
		if (j < in->nr_jobs) {
			ret->action = GOV_RESUME;
			ret->job = j;
		}
	}

	/* 2. Tokens: jobs + slots that fit below the limit once every job,
	 *    paused ones included, has reached its projected peak: a new job
	 *    fills a gap, it never takes the room a paused one waits for. */
	uint64_t next = in->next_job_bytes ? in->next_job_bytes : GOV_DEFAULT_JOB_BYTES;
	uint64_t after = governor_add(committed, waiting);
	int64_t headroom = (int64_t)limit - (int64_t)after;
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
	/* Pausing: nothing new starts this turn. Tokens already out are never
	 * taken back. */
	if (ret->action == GOV_PAUSE && t > jobs)
		t = jobs;
	st->target = ret->target = clamp(t, lo, hi);

	/* 3. Where the decision next changes on the way up. Growth within the
	 *    projections changes nothing; the RSS passing committed is growth
	 *    nobody expected, which moves committed one for one: it can lower
	 *    the target (when x + h falls below target - jobs) and then pause
	 *    (at the limit) — and, with one job left, kill at the budget. */
	uint64_t alert = cfg->may_kill ? budget : 0;
	if (running > 1 && (!alert || limit < alert))
		alert = limit;
	if (committed < limit)
		alert = committed + 1 < alert || !alert ? committed + 1 : alert;
	if (ret->target > lo && (long)ret->target > jobs - 1) {
		double d = (x + h - ((double)ret->target - (double)jobs)) * (double)next;
		if (d > 0) {
			uint64_t a = committed + (uint64_t)d + 1;
			if (!alert || a < alert)
				alert = a;
		}
	}
	if (alert && alert <= rss)
		alert = rss + 1;
	ret->alert_bytes = alert;
}
