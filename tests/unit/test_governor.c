/* The governor on synthetic and recorded readings: a pure function, so every
 * figure here is exact. Budget 4 GiB, margin 256 MiB (pause at 3.75 GiB). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "governor.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static struct gov_config cfg(unsigned lo, unsigned hi)
{
	return (struct gov_config){ .budget_bytes = 4 * GIB, .min_jobs = lo, .max_jobs = hi,
				    .margin_bytes = 256 * MIB, .may_kill = true };
}

static struct gov_decision decide(const struct gov_config *c, struct gov_state *st, uint64_t rss,
				  uint64_t next, const struct gov_job *jobs, size_t n)
{
	struct gov_input in = { .rss_bytes = rss, .next_job_bytes = next, .jobs = jobs, .nr_jobs = n };
	struct gov_decision d;
	governor_decide(c, st, &in, &d);
	return d;
}

Test(governor, no_budget_means_max)
{
	struct gov_config c = cfg(1, 8);
	c.budget_bytes = 0;
	struct gov_state st = {};
	struct gov_decision d = decide(&c, &st, 100 * GIB, 1 * GIB, NULL, 0);
	cr_expect_eq(d.target, 8);
	cr_expect_eq(d.action, GOV_NONE);
}

Test(governor, empty_workload_admits_headroom_over_footprint)
{
	struct gov_config c = cfg(1, 64);
	struct gov_state st = {};
	/* 3.75 GiB below the pause point, 512 MiB jobs: 7.5 slots, floor(7.5 - 0.25) = 7. */
	struct gov_decision d = decide(&c, &st, 0, 512 * MIB, NULL, 0);
	cr_expect_eq(d.target, 7);
	cr_expect_eq(d.headroom_bytes, (int64_t)(3840 * MIB));
}

Test(governor, implicit_token_is_counted_in_the_target)
{
	/* One job the client runs on its implicit token, headroom for 0.5 more:
	 * the target is that one job, so the pool holds no token. */
	struct gov_config c = cfg(1, 16);
	struct gov_state st = {};
	struct gov_job j[] = { { .start_ns = 1, .rss_bytes = 3 * GIB, .expected_bytes = 3 * GIB } };
	struct gov_decision d = decide(&c, &st, 3 * GIB, 1 * GIB, j, 1);
	cr_expect_eq(d.target, 1, "target %u", d.target);
}

Test(governor, headroom_shrinking_lowers_target_growing_raises_it)
{
	struct gov_config c = cfg(1, 16);
	struct gov_state st = {};
	struct gov_job j[4] = {};
	for (int i = 0; i < 4; i++)
		j[i] = (struct gov_job){ .start_ns = i + 1, .rss_bytes = 256 * MIB, .expected_bytes = 256 * MIB };
	struct gov_decision d = decide(&c, &st, 1 * GIB, 256 * MIB, j, 4);
	/* (3840 - 1024) / 256 = 11 slots: floor(10.75) = 10 more, 14 in all. */
	cr_expect_eq(d.target, 14);
	/* The jobs grow to 800 MiB each: 3200 MiB, 640 MiB free = 2.5 slots. */
	for (int i = 0; i < 4; i++)
		j[i].rss_bytes = j[i].expected_bytes = 800 * MIB;
	d = decide(&c, &st, 3200 * MIB, 256 * MIB, j, 4);
	cr_expect_eq(d.target, 6, "shrinking: target %u", d.target);
	/* Two of them finish: 1600 MiB, 2240 MiB free = 8.75 slots. */
	d = decide(&c, &st, 1600 * MIB, 256 * MIB, j, 2);
	cr_expect_eq(d.target, 10, "growing: target %u", d.target);
}

Test(governor, heavy_job_appearing_reserves_its_growth)
{
	struct gov_config c = cfg(1, 16);
	struct gov_state st = {};
	/* A link that is expected to reach 2 GiB has just started at 100 MiB:
	 * its 1.9 GiB to come count against the headroom before it is used. */
	struct gov_job j[] = {
		{ .start_ns = 1, .rss_bytes = 200 * MIB, .expected_bytes = 200 * MIB },
		{ .start_ns = 2, .rss_bytes = 100 * MIB, .expected_bytes = 2 * GIB },
	};
	struct gov_decision d = decide(&c, &st, 300 * MIB, 256 * MIB, j, 2);
	/* committed = 300 + 1948 = 2248 MiB; (3840 - 2248) / 256 = 6.2 -> 5 more. */
	cr_expect_eq(d.target, 7, "target %u", d.target);
	cr_expect_eq(d.action, GOV_NONE);
}

Test(governor, min_and_max_bound_the_target)
{
	struct gov_config c = cfg(2, 5);
	struct gov_state st = {};
	struct gov_decision d = decide(&c, &st, 0, 64 * MIB, NULL, 0);
	cr_expect_eq(d.target, 5, "max: %u", d.target);
	struct gov_job j[] = { { .start_ns = 1, .rss_bytes = 3900 * MIB, .expected_bytes = 3900 * MIB } };
	d = decide(&c, &st, 3900 * MIB, 1 * GIB, j, 1);
	cr_expect_eq(d.target, 2, "min: %u", d.target);
}

Test(governor, noisy_reading_does_not_oscillate)
{
	struct gov_config c = cfg(1, 32);
	struct gov_state st = {};
	/* Headroom around exactly 4 slots of 256 MiB, +-20 MiB of noise (8 % of a slot). */
	unsigned first = 0, changes = 0, last = 0;
	for (int i = 0; i < 200; i++) {
		int64_t noise = ((i * 7919) % 41 - 20) * (int64_t)MIB;
		uint64_t rss = (3840 - 4 * 256) * MIB + noise;
		struct gov_decision d = decide(&c, &st, rss, 256 * MIB, NULL, 0);
		if (i == 0)
			first = d.target;
		else if (d.target != last)
			changes++;
		last = d.target;
	}
	cr_expect(first == 3 || first == 4, "first target %u", first);
	cr_expect_eq(changes, 0, "the target changed %u times on noise alone", changes);
}

Test(governor, pause_the_job_that_outgrew_its_estimate)
{
	struct gov_config c = cfg(1, 8);
	struct gov_state st = {};
	/* Two jobs at their expected peaks (pausing them frees nothing and
	 * stops nothing), one past its estimate and not measured yet: it is
	 * projected a quarter above what it holds, 2250 MiB. */
	struct gov_job j[] = {
		{ .start_ns = 10, .rss_bytes = 1 * GIB, .expected_bytes = 1 * GIB },
		{ .start_ns = 30, .rss_bytes = 1 * GIB, .expected_bytes = 1 * GIB },
		{ .start_ns = 20, .rss_bytes = 1800 * MIB, .expected_bytes = 1 * GIB },
	};
	struct gov_decision d = decide(&c, &st, 3900 * MIB, 256 * MIB, j, 3);
	cr_expect_eq(d.action, GOV_PAUSE);
	cr_expect_eq(d.job, 2, "paused job %zu, the one still growing is 2", d.job);
	cr_expect_eq(d.committed_bytes, (1024 + 1024 + 2250 + 52) * MIB, "committed %llu MiB",
		     (unsigned long long)(d.committed_bytes >> 20));
	/* No new job starts while one is to be paused. */
	cr_expect_leq(d.target, 2);
}

Test(governor, pause_early_the_new_job_whose_peak_does_not_fit)
{
	/* Two heavy jobs at 1.2 of their 1.4 GiB, and a new one (20 MiB) known
	 * from its last run to reach 1.4 GiB: 1400 + 1400 + 1400 > 3840. Pausing
	 * the new one makes the rest fit while it holds 20 MiB; pausing it at
	 * the budget instead would keep 1.2 GiB stuck. */
	struct gov_config c = cfg(1, 16);
	struct gov_state st = {};
	struct gov_job j[] = {
		{ .start_ns = 1, .rss_bytes = 1200 * MIB, .expected_bytes = 1400 * MIB, .basis = GOV_BASIS_IDENTITY },
		{ .start_ns = 2, .rss_bytes = 1200 * MIB, .expected_bytes = 1400 * MIB, .basis = GOV_BASIS_IDENTITY },
		{ .start_ns = 3, .rss_bytes = 20 * MIB, .expected_bytes = 1400 * MIB, .basis = GOV_BASIS_IDENTITY },
	};
	struct gov_decision d = decide(&c, &st, 2420 * MIB, 256 * MIB, j, 3);
	cr_expect_eq(d.action, GOV_PAUSE);
	cr_expect_eq(d.job, 2);
	cr_expect_leq(d.target, 3, "no new job while it is being paused");
	/* It waits until its whole peak fits with half a margin to spare. */
	j[2].paused = true;
	d = decide(&c, &st, 2420 * MIB, 256 * MIB, j, 3);
	cr_expect_eq(d.action, GOV_NONE);
	j[0].rss_bytes = 0, j[0].expected_bytes = 0, j[0].paused = true;   /* gone: drop it */
	struct gov_job rest[] = { j[1], j[2] };
	d = decide(&c, &st, 1220 * MIB, 256 * MIB, rest, 2);
	cr_expect_eq(d.action, GOV_RESUME);
	cr_expect_eq(d.job, 1);
}

Test(governor, a_new_job_never_takes_the_room_paused_ones_wait_for)
{
	/* Recorded from test_mix's fourth cold run (killed at the budget):
	 * seven jobs paused mid-ramp hold 2843 MiB and need more to finish;
	 * make reused the token of the job that ended and started another,
	 * alone beside them. It was sized 898 MiB (what a running job of its
	 * command held), which fitted below the limit, grew past it to
	 * 1.2 GiB and, the only one running, could not be paused: the kill.
	 * The young job is paused at birth instead (even the only one
	 * running), the oldest paused one resumes, and only once the paused
	 * ones' room is free does the young one go on. */
	struct gov_config c = cfg(1, 16);
	struct gov_state st = {};
	const uint64_t e = 1200 * MIB;
	struct gov_job j[] = {
		{ .start_ns = 1, .rss_bytes = 898 * MIB, .expected_bytes = e, .basis = GOV_BASIS_COMMAND, .paused = true },
		{ .start_ns = 2, .rss_bytes = 524 * MIB, .expected_bytes = e, .basis = GOV_BASIS_COMMAND, .paused = true },
		{ .start_ns = 3, .rss_bytes = 631 * MIB, .expected_bytes = e, .basis = GOV_BASIS_COMMAND, .paused = true },
		{ .start_ns = 4, .rss_bytes = 360 * MIB, .expected_bytes = e, .basis = GOV_BASIS_COMMAND, .paused = true },
		{ .start_ns = 5, .rss_bytes = 137 * MIB, .expected_bytes = e, .likely_bytes = 215 * MIB,
		  .basis = GOV_BASIS_COMMAND, .paused = true },
		{ .start_ns = 6, .rss_bytes = 68 * MIB, .expected_bytes = e, .likely_bytes = 215 * MIB,
		  .basis = GOV_BASIS_COMMAND, .paused = true },
		{ .start_ns = 7, .rss_bytes = 225 * MIB, .expected_bytes = e, .basis = GOV_BASIS_COMMAND, .paused = true },
		{ .start_ns = 8, .rss_bytes = 8 * MIB, .expected_bytes = 898 * MIB, .basis = GOV_BASIS_COMMAND },
	};
	struct gov_decision d = decide(&c, &st, 2860 * MIB, 512 * MIB, j, 8);
	cr_expect_leq(d.committed_bytes, c.budget_bytes - c.margin_bytes,
		      "committed %llu MiB: the young job alone fits below the limit",
		      (unsigned long long)(d.committed_bytes >> 20));
	cr_expect_eq(d.action, GOV_PAUSE, "action %d", d.action);
	cr_expect_eq(d.job, 7, "paused job %zu, the new one is 7", d.job);
	j[7].paused = true;
	d = decide(&c, &st, 2860 * MIB, 512 * MIB, j, 8);
	cr_expect_eq(d.action, GOV_RESUME);
	cr_expect_eq(d.job, 0, "resumed job %zu: the oldest goes first", d.job);
	/* Resumed, the oldest is older than every paused job: it is never
	 * paused for their room, and the young one stays paused meanwhile. */
	j[0].paused = false;
	d = decide(&c, &st, 2860 * MIB, 512 * MIB, j, 8);
	cr_expect_neq(d.action, GOV_PAUSE);
	cr_expect_eq(d.action == GOV_RESUME && d.job == 7, false, "the young one waits for the older ones' room");
}

Test(governor, a_young_job_at_its_peak_is_not_paused_for_older_ones)
{
	/* test_realbuild's $(shell) case, --jobs 3 of 110 MiB jobs under
	 * 320 MiB: an older job paused at 8 MiB waits for 103 MiB; a younger
	 * one holds its 113 MiB peak and has settled. Pausing it would stop
	 * nothing and keep 113 MiB held (it was, and the third job then grew to
	 * the budget): it runs on, ends, and frees what it holds. */
	struct gov_config c = { .budget_bytes = 320 * MIB, .min_jobs = 3, .max_jobs = 3, .margin_bytes = 64 * MIB,
				.may_kill = true };
	struct gov_state st = {};
	struct gov_job j[] = {
		{ .start_ns = 1, .rss_bytes = 8 * MIB, .expected_bytes = 111 * MIB, .basis = GOV_BASIS_COMMAND,
		  .paused = true },
		{ .start_ns = 2, .rss_bytes = 90 * MIB, .expected_bytes = 111 * MIB, .basis = GOV_BASIS_COMMAND,
		  .rate_known = true, .rate_bps = 0 },
		{ .start_ns = 3, .rss_bytes = 113 * MIB, .expected_bytes = 111 * MIB, .basis = GOV_BASIS_COMMAND,
		  .rate_known = true, .rate_bps = 0 },
	};
	struct gov_decision d = decide(&c, &st, 215 * MIB, 111 * MIB, j, 3);
	cr_expect_neq(d.action, GOV_PAUSE, "paused job %zu: both running jobs are at their peaks", d.job);
	/* The one still 21 MiB below its peak is paused: its growth is what
	 * the older one's room needs. */
	j[1].rate_bps = 100 * MIB;
	d = decide(&c, &st, 215 * MIB, 111 * MIB, j, 3);
	cr_expect_eq(d.action, GOV_PAUSE);
	cr_expect_eq(d.job, 1);
}

Test(governor, only_one_job_grows_past_its_estimate_at_a_time)
{
	/* Cold: two jobs of a command seen only small (expected 200 MiB) both
	 * grow past it. The older grows on; the newer is paused now, holding
	 * 260 MiB, not later at a gigabyte. */
	struct gov_config c = cfg(1, 16);
	struct gov_state st = {};
	struct gov_job j[] = {
		{ .start_ns = 1, .rss_bytes = 600 * MIB, .expected_bytes = 200 * MIB, .basis = GOV_BASIS_COMMAND,
		  .rate_bps = 350 * MIB, .rate_known = true, .run_ns = 1700000000ull },
		{ .start_ns = 2, .rss_bytes = 260 * MIB, .expected_bytes = 200 * MIB, .basis = GOV_BASIS_COMMAND,
		  .rate_bps = 350 * MIB, .rate_known = true, .run_ns = 750000000ull },
		{ .start_ns = 3, .rss_bytes = 150 * MIB, .expected_bytes = 200 * MIB, .basis = GOV_BASIS_COMMAND },
	};
	struct gov_decision d = decide(&c, &st, 1010 * MIB, 200 * MIB, j, 3);
	cr_expect_eq(d.action, GOV_PAUSE, "plenty of room, yet a second unknown must wait");
	cr_expect_eq(d.job, 1);
	/* Paused, it is not resumed while the first still outgrows its estimate... */
	j[1].paused = true, j[1].rate_known = false;
	d = decide(&c, &st, 1010 * MIB, 200 * MIB, j, 3);
	cr_expect_neq(d.action, GOV_RESUME);
	/* ...and is once that one has settled. */
	j[0].rss_bytes = 1200 * MIB, j[0].rate_bps = 0;
	d = decide(&c, &st, 1610 * MIB, 200 * MIB, j, 3);
	cr_expect_eq(d.action, GOV_RESUME);
	cr_expect_eq(d.job, 1);
}

Test(governor, a_job_about_to_end_leaves_room_for_a_ramp)
{
	/* Two heavy jobs known from their last run hold their 1.4 GiB peaks and
	 * are about to end (3 s runs, 3.6 s done: gone by 3 s + 25 % + 0.5 s, in
	 * 0.65 s); a third, known to reach 1.4 GiB in 4 s, starts: at twice its
	 * learned pace it holds 465 MiB by then (2800 + 465 < 3840), so it need
	 * not be paused. */
	struct gov_config c = cfg(1, 16);
	struct gov_state st = {};
	struct gov_job j[] = {
		{ .start_ns = 1, .rss_bytes = 1400 * MIB, .expected_bytes = 1400 * MIB, .basis = GOV_BASIS_IDENTITY,
		  .ramp_ms = 2500, .dur_ms = 3000, .rate_known = true, .run_ns = 3600000000ull },
		{ .start_ns = 2, .rss_bytes = 1400 * MIB, .expected_bytes = 1400 * MIB, .basis = GOV_BASIS_IDENTITY,
		  .ramp_ms = 2500, .dur_ms = 3000, .rate_known = true, .run_ns = 3600000000ull },
		{ .start_ns = 3, .rss_bytes = 10 * MIB, .expected_bytes = 1400 * MIB, .basis = GOV_BASIS_IDENTITY,
		  .ramp_ms = 4000, .dur_ms = 6000 },
	};
	struct gov_decision d = decide(&c, &st, 2810 * MIB, 256 * MIB, j, 3);
	cr_expect_eq(d.action, GOV_NONE, "committed %llu MiB", (unsigned long long)(d.committed_bytes >> 20));
	/* Without a learned run time the same three do not fit: the new one waits. */
	j[0].dur_ms = j[1].dur_ms = 0;
	d = decide(&c, &st, 2810 * MIB, 256 * MIB, j, 3);
	cr_expect_eq(d.action, GOV_PAUSE);
	cr_expect_eq(d.job, 2);
	/* Overdue (past 3 s x 1.25 + 0.5 s): taken to run on. */
	j[0].dur_ms = j[1].dur_ms = 3000;
	j[0].run_ns = j[1].run_ns = 4300000000ull;
	d = decide(&c, &st, 2810 * MIB, 256 * MIB, j, 3);
	cr_expect_eq(d.action, GOV_PAUSE);
}

Test(governor, projection_follows_the_ramp)
{
	/* Nothing learned: the default until it outgrows it. */
	struct gov_job j = { .rss_bytes = 100 * MIB };
	cr_expect_eq(governor_project(&j), GOV_DEFAULT_JOB_BYTES);
	/* Past it and growing 350 MiB/s: a second ahead at that rate (at most
	 * doubling what it holds); not measured yet: a quarter more. */
	j = (struct gov_job){ .rss_bytes = 700 * MIB, .expected_bytes = 512 * MIB, .rate_bps = 350 * MIB,
			      .rate_known = true, .run_ns = 2000000000ull };
	cr_expect_eq(governor_project(&j), 1050 * MIB);
	j.rss_bytes = 200 * MIB, j.expected_bytes = 100 * MIB;
	cr_expect_eq(governor_project(&j), 400 * MIB);
	j.rate_known = false;
	cr_expect_eq(governor_project(&j), 250 * MIB);
	/* A bimodal command's small job: its small mode's top while below it. */
	j = (struct gov_job){ .rss_bytes = 120 * MIB, .expected_bytes = 1400 * MIB, .likely_bytes = 210 * MIB,
			      .basis = GOV_BASIS_COMMAND };
	cr_expect_eq(governor_project(&j), 210 * MIB);
	j.rss_bytes = 300 * MIB;
	cr_expect_eq(governor_project(&j), 1400 * MIB, "past the small mode: the command's p90");
	j = (struct gov_job){ .rss_bytes = 700 * MIB, .expected_bytes = 512 * MIB, .rate_bps = 350 * MIB,
			      .rate_known = true, .run_ns = 1000000000ull };
	/* Settled: what it holds and a slack (1/16, at least 8 MiB). */
	j.rate_bps = 1 * MIB;
	cr_expect_eq(governor_project(&j), 700 * MIB + 700 * MIB / 16);
	j.rss_bytes = 100 * MIB;
	cr_expect_eq(governor_project(&j), 108 * MIB);
	/* A known job resting below its last peak (a compiler between phases)
	 * keeps its peak until twice its ramp time plus a second has passed. */
	j = (struct gov_job){ .rss_bytes = 300 * MIB, .expected_bytes = 1400 * MIB, .basis = GOV_BASIS_IDENTITY,
			      .ramp_ms = 4000, .rate_bps = 0, .rate_known = true, .run_ns = 5000000000ull };
	cr_expect_eq(governor_project(&j), 1400 * MIB);
	j.run_ns = 9500000000ull;
	cr_expect_eq(governor_project(&j), 300 * MIB + 300 * MIB / 16);
}

Test(governor, resume_oldest_paused_when_it_fits_again)
{
	struct gov_config c = cfg(1, 8);
	struct gov_state st = {};
	struct gov_job j[] = {
		{ .start_ns = 10, .rss_bytes = 1 * GIB, .expected_bytes = 1 * GIB },
		{ .start_ns = 30, .rss_bytes = 300 * MIB, .expected_bytes = 1 * GIB, .paused = true },
		{ .start_ns = 20, .rss_bytes = 300 * MIB, .expected_bytes = 1 * GIB, .paused = true },
	};
	/* 1.6 GiB now; job 2 needs 724 MiB more: 1600 + 724 + 256 <= 3584: resume it. */
	struct gov_decision d = decide(&c, &st, 1600 * MIB, 256 * MIB, j, 3);
	cr_expect_eq(d.action, GOV_RESUME);
	cr_expect_eq(d.job, 2);
	/* At 3 GiB it does not fit: stay paused, hold every token. */
	d = decide(&c, &st, 3 * GIB, 256 * MIB, j, 3);
	cr_expect_eq(d.action, GOV_NONE);
	cr_expect_eq(d.target, 1);
}

Test(governor, nothing_running_resumes_anyway)
{
	struct gov_config c = cfg(1, 8);
	struct gov_state st = {};
	struct gov_job j[] = { { .start_ns = 1, .rss_bytes = 3700 * MIB, .expected_bytes = 3900 * MIB, .paused = true } };
	struct gov_decision d = decide(&c, &st, 3700 * MIB, 256 * MIB, j, 1);
	cr_expect_eq(d.action, GOV_RESUME);
}

Test(governor, kill_only_at_budget_with_one_job_and_only_when_allowed)
{
	struct gov_config c = cfg(1, 8);
	struct gov_state st = {};
	struct gov_job one[] = { { .start_ns = 1, .rss_bytes = 4 * GIB, .expected_bytes = 1 * GIB } };
	struct gov_decision d = decide(&c, &st, 4 * GIB, 256 * MIB, one, 1);
	cr_expect_eq(d.action, GOV_KILL);
	c.may_kill = false;   /* the kernel enforces memory.max: it decides */
	d = decide(&c, &st, 4 * GIB, 256 * MIB, one, 1);
	cr_expect_eq(d.action, GOV_NONE);
	/* Two running: pause first, even past the budget — the one still
	 * growing past its estimate, not the small one at its peak. */
	c.may_kill = true;
	struct gov_job two[] = { one[0], { .start_ns = 2, .rss_bytes = 1 * MIB, .expected_bytes = 1 * MIB } };
	d = decide(&c, &st, 4 * GIB, 256 * MIB, two, 2);
	cr_expect_eq(d.action, GOV_PAUSE);
	cr_expect_eq(d.job, 0);
}

Test(governor, alert_is_where_the_decision_changes)
{
	struct gov_config c = cfg(1, 16);
	struct gov_state st = {};
	struct gov_job j[] = {
		{ .start_ns = 1, .rss_bytes = 200 * MIB, .expected_bytes = 512 * MIB },
		{ .start_ns = 2, .rss_bytes = 300 * MIB, .expected_bytes = 512 * MIB },
	};
	/* Growth within the projections (up to 1 GiB + make's 24 MiB) changes
	 * nothing; a byte beyond is growth nobody expected. */
	struct gov_decision d = decide(&c, &st, 524 * MIB, 512 * MIB, j, 2);
	cr_expect_eq(d.committed_bytes, 1048 * MIB);
	cr_expect_eq(d.alert_bytes, 1048 * MIB + 1, "alert %llu MiB", (unsigned long long)(d.alert_bytes >> 20));
	/* The fast path (jobs of the last reading) sees that growth as it is:
	 * within the projections, committed stays; beyond, it is the RSS. */
	struct gov_input in = { .rss_bytes = 1000 * MIB, .next_job_bytes = 512 * MIB, .jobs = j, .nr_jobs = 2,
				.stale_jobs = true, .other_bytes = d.other_bytes };
	governor_decide(&c, &st, &in, &d);
	cr_expect_eq(d.committed_bytes, 1048 * MIB);
	in.rss_bytes = 3900 * MIB;
	governor_decide(&c, &st, &in, &d);
	cr_expect_eq(d.committed_bytes, 3900 * MIB);
	cr_expect_eq(d.action, GOV_PAUSE);
	/* Over the limit with one job left: only the kill point remains. */
	struct gov_state st2 = {};
	d = decide(&c, &st2, 3900 * MIB, 256 * MIB, j, 1);
	cr_expect_eq(d.alert_bytes, 4 * GIB);
}

/* ---- replay of recorded readings ---------------------------------------------
 *
 * tests/unit/recorded-mix.h holds the per-job RSS of the mix (one
 * program, 48 light 100-200 MiB and 12 heavy 1-1.5 GiB jobs ramping at
 * 350 MiB/s and holding 0.5-3 s), recorded on this machine from /proc every
 * 50 ms. The replay plays make: jobs start in order while tokens allow; a
 * running job advances one sample a tick, a paused one stays where it is;
 * the governor decides every tick from the summed RSS and the job table, with
 * footprints learned as jobs end (cold: an empty table; warm: the table the
 * cold run left). */
#include "footprint.h"
#include "recorded-mix.h"

#define NR_REC (sizeof(recorded_mix) / sizeof(recorded_mix[0]))
#define TICK_NS ((uint64_t)RECORDED_TICK_MS * 1000000ull)
#ifndef SIM_WINDOW_NS
#define SIM_WINDOW_NS 300000000ull
#endif

struct replay {
	unsigned ticks;                /* makespan in ticks */
	unsigned kills, pauses;
	uint64_t peak;                 /* summed RSS */
	unsigned most_at_once;
};

struct sim_job {
	int state;                     /* 0 queued, 1 running, 2 paused, 3 done */
	unsigned pos;                  /* samples played */
	uint64_t start_ns, run_ns, win_ns, win_rss, rate, peak, peak_run_ns;
	bool rate_known;
};

static uint64_t sample(unsigned k, unsigned pos)
{
	unsigned i = pos < recorded_mix[k].n ? pos : recorded_mix[k].n - 1;
	return (uint64_t)recorded_mix[k].rss_mib[i] * MIB;
}

/* fixed > 0: make -jFIXED without a governor. */
static struct replay replay(struct footprints *fp, unsigned fixed)
{
	static struct sim_job sj[NR_REC];
	memset(sj, 0, sizeof(sj));
	struct gov_config c = { .budget_bytes = 4 * GIB, .min_jobs = 1, .max_jobs = 16, .margin_bytes = 256 * MIB,
				.may_kill = true };
	struct gov_state st = {};
	struct replay out = {};
	unsigned target = fixed ? fixed : 1, done = 0, reuse = 0;
	/* REPLAY_TRACE=N prints the decisions of the Nth replay with a table
	 * (1: cold, 2: warm) on stderr, to see why a replay is slow. */
	static int fp_runs;
	bool trace_this = fp && getenv("REPLAY_TRACE") && atoi(getenv("REPLAY_TRACE")) == ++fp_runs;
	for (unsigned tick = 1; done < NR_REC && tick < 20000; tick++) {
		uint64_t now = (uint64_t)tick * TICK_NS;
		/* make: a job per token; tokens out are never taken back, and the
		 * token of a job that ended is make's again at once (it writes it
		 * home and reads it back within microseconds: supervise loses that
		 * race), whatever the target — with every other job paused, the
		 * next job starts beside them. */
		unsigned out_now = 0;
		for (unsigned k = 0; k < NR_REC; k++)
			out_now += sj[k].state == 1 || sj[k].state == 2;
		for (unsigned k = 0; k < NR_REC && (out_now < target || reuse > 0); k++)
			if (sj[k].state == 0) {
				sj[k] = (struct sim_job){ .state = 1, .start_ns = now, .win_ns = now };
				if (out_now >= target)
					reuse--;
				out_now++;
			}
		reuse = 0;
		/* The workload moves on one sample. */
		uint64_t rss = 2 * MIB;   /* make */
		struct gov_job gj[NR_REC];
		unsigned idx[NR_REC], n = 0, running = 0;
		for (unsigned k = 0; k < NR_REC; k++) {
			struct sim_job *j = &sj[k];
			if (j->state == 1) {
				j->pos++;
				j->run_ns += TICK_NS;
				if (j->pos >= recorded_mix[k].n) {
					j->state = 3;
					done++;
					reuse++;
					if (fp) {
						footprint_learn(fp, "touch", j->peak);
						footprint_learn(fp, FOOTPRINT_JOB_COMM, j->peak);
						footprint_learn_id(fp, k + 1, "touch", j->peak,
								   (uint32_t)(j->peak_run_ns / 1000000),
								   (uint32_t)(j->run_ns / 1000000));
					}
					continue;
				}
			}
			if (j->state != 1 && j->state != 2)
				continue;
			uint64_t r = sample(k, j->pos);
			if (r > j->peak)
				j->peak = r, j->peak_run_ns = j->run_ns;
			/* jobctl's growth window: 300 ms of running time. */
			if (j->state == 2) {
				j->rate_known = false, j->win_ns = now, j->win_rss = r;
			} else if (now - j->win_ns >= SIM_WINDOW_NS) {
				j->rate = (r > j->win_rss ? r - j->win_rss : 0) * 1000000000ull / (now - j->win_ns);
				j->rate_known = true, j->win_ns = now, j->win_rss = r;
			}
			struct fp_estimate e = {};
			if (fp)
				footprint_estimate(fp, NULL, k + 1, "touch", &e);
			gj[n] = (struct gov_job){ .start_ns = j->start_ns, .rss_bytes = r, .expected_bytes = e.bytes,
						  .basis = e.source == FP_IDENTITY ? GOV_BASIS_IDENTITY
							   : e.bytes	      ? GOV_BASIS_COMMAND
									      : GOV_BASIS_DEFAULT,
						  .ramp_ms = e.ramp_ms, .dur_ms = e.dur_ms, .rate_bps = j->rate, .rate_known = j->rate_known,
						  .run_ns = j->run_ns, .paused = j->state == 2 };
			/* jobctl: a job never seen is at least as large as another of
			 * its command holds now. */
			if (fp && e.source != FP_IDENTITY)
				for (unsigned q = 0; q < NR_REC; q++)
					if (q != k && (sj[q].state == 1 || sj[q].state == 2) &&
					    sample(q, sj[q].pos) > gj[n].expected_bytes)
						gj[n].expected_bytes = sample(q, sj[q].pos), e.source = FP_COMMAND,
						gj[n].basis = GOV_BASIS_COMMAND;
			if (fp && e.source == FP_COMMAND) {
				uint64_t top = footprint_mode_top(footprint_find_cmd(fp, "touch"), r);
				gj[n].likely_bytes = top < e.bytes ? top : 0;
			}
			idx[n++] = k;
			rss += r;
			running += j->state == 1;
		}
		if (rss > out.peak)
			out.peak = rss;
		if (running > out.most_at_once)
			out.most_at_once = running;
		out.ticks = tick;
		if (fixed)
			continue;
		uint64_t next = fp ? footprint_mean(fp, FOOTPRINT_JOB_COMM) : 0;
		struct gov_input in = { .rss_bytes = rss, .next_job_bytes = next, .jobs = gj, .nr_jobs = n };
		struct gov_decision d;
		governor_decide(&c, &st, &in, &d);
		target = d.target;
		if (d.action == GOV_KILL) {
			out.kills++;
			break;
		}
		if (getenv("REPLAY_TRACE") && d.action != GOV_NONE && fp && trace_this)
			fprintf(stderr, "t=%u %s job %u rss %llu (job rss %llu exp %llu proj %llu) committed %llu target %u run %u\n", tick,
				d.action == GOV_PAUSE ? "pause" : d.action == GOV_RESUME ? "resume" : "kill", idx[d.job],
				(unsigned long long)(rss >> 20), (unsigned long long)(gj[d.job].rss_bytes >> 20),
				(unsigned long long)(gj[d.job].expected_bytes >> 20),
				(unsigned long long)(governor_project(&gj[d.job]) >> 20),
				(unsigned long long)(d.committed_bytes >> 20), d.target, running);
		if (d.action == GOV_PAUSE)
			sj[idx[d.job]].state = 2, out.pauses++;
		if (d.action == GOV_RESUME)
			sj[idx[d.job]].state = 1;
	}
	cr_assert_eq(done, NR_REC, "the replay did not finish: %u of %zu jobs done (a deadlock)", done, NR_REC);
	return out;
}

Test(governor, recorded_mix_cold_then_warm_never_kills)
{
	static struct footprints fp;
	memset(&fp, 0, sizeof(fp));
	cr_assert_eq(NR_REC, 60);
	struct replay j4 = replay(NULL, 4), j5 = replay(NULL, 5), j6 = replay(NULL, 6);
	struct replay cold = replay(&fp, 0);
	struct replay warm = replay(&fp, 0);
	struct replay warm2 = replay(&fp, 0);
	cr_log_info("replay: -j4 %.1f s peak %llu MiB, -j5 %.1f s peak %llu MiB, -j6 %.1f s peak %llu MiB; "
		    "cold %.1f s peak %llu MiB %u pauses; warm %.1f s peak %llu MiB %u pauses; again %.1f s",
		    j4.ticks * 0.05, (unsigned long long)(j4.peak >> 20), j5.ticks * 0.05,
		    (unsigned long long)(j5.peak >> 20), j6.ticks * 0.05, (unsigned long long)(j6.peak >> 20),
		    cold.ticks * 0.05, (unsigned long long)(cold.peak >> 20), cold.pauses, warm.ticks * 0.05,
		    (unsigned long long)(warm.peak >> 20), warm.pauses, warm2.ticks * 0.05);
	/* Fixed -j4 stays within 4 GiB in the recording, as in the issue. */
	cr_expect_leq(j4.peak, 4 * GIB);
	struct replay *runs[] = { &cold, &warm, &warm2 };
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(runs[i]->kills, 0, "run %d: killed at the budget", i);
		cr_expect_leq(runs[i]->peak, 4 * GIB, "run %d: peak %llu MiB over the 4096 MiB budget", i,
			      (unsigned long long)(runs[i]->peak >> 20));
	}
	/* Against make -j4, the best fixed -j the issue saw stay within 4 GiB
	 * on this machine. (A replay has no CPU contention: -j5 and -j6 stay
	 * within the budget here and run faster than a real 2-CPU machine lets
	 * them; bench/jobserver.py mix measures the real ones.) Since the
	 * replay plays make reusing the token of a job that ended (as real
	 * make does, see replay()), new jobs are paused at birth while older
	 * ones wait (first come, first served): measured warm 0.92x and cold
	 * 1.35x of -j4 here, short of the 0.8x and 1.0x. These bounds
	 * catch a regression from there; they are not the targets. */
	cr_expect_leq(warm.ticks * 100, j4.ticks * 95, "warm %u ticks, make -j4 %u", warm.ticks, j4.ticks);
	cr_expect_leq(cold.ticks * 100, j4.ticks * 140, "cold %u ticks, make -j4 %u", cold.ticks, j4.ticks);
	cr_expect_geq(warm.most_at_once, 5, "warm: light jobs run more than 4 at once");
}
