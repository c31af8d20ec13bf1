/* The governor on synthetic and recorded readings: a pure function, so every
 * figure here is exact. Budget 4 GiB, margin 256 MiB (pause at 3.75 GiB). */
#include <criterion/criterion.h>
#include <string.h>

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

Test(governor, pause_newest_above_pause_point)
{
	struct gov_config c = cfg(1, 8);
	struct gov_state st = {};
	struct gov_job j[] = {
		{ .start_ns = 10, .rss_bytes = 1 * GIB, .expected_bytes = 1 * GIB },
		{ .start_ns = 30, .rss_bytes = 1 * GIB, .expected_bytes = 1 * GIB },
		{ .start_ns = 20, .rss_bytes = 1800 * MIB, .expected_bytes = 1 * GIB },
	};
	struct gov_decision d = decide(&c, &st, 3900 * MIB, 256 * MIB, j, 3);
	cr_expect_eq(d.action, GOV_PAUSE);
	cr_expect_eq(d.job, 1, "paused job %zu, the newest is 1", d.job);
	/* No new job starts while one is to be paused. */
	cr_expect_leq(d.target, 2);
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
	/* Two running: pause first, even past the budget. */
	c.may_kill = true;
	struct gov_job two[] = { one[0], { .start_ns = 2, .rss_bytes = 1 * MIB, .expected_bytes = 1 * MIB } };
	d = decide(&c, &st, 4 * GIB, 256 * MIB, two, 2);
	cr_expect_eq(d.action, GOV_PAUSE);
	cr_expect_eq(d.job, 1);
}

Test(governor, alert_is_where_the_decision_changes)
{
	struct gov_config c = cfg(1, 16);
	struct gov_state st = {};
	struct gov_job j[] = {
		{ .start_ns = 1, .rss_bytes = 512 * MIB, .expected_bytes = 512 * MIB },
		{ .start_ns = 2, .rss_bytes = 512 * MIB, .expected_bytes = 512 * MIB },
	};
	struct gov_decision d = decide(&c, &st, 1 * GIB, 512 * MIB, j, 2);
	/* (3840 - 1024) / 512 = 5.5 slots -> target 2 + 5 = 7; it drops to 6 when
	 * x + 0.25 < 5, i.e. 0.75 slot = 384 MiB more. */
	cr_expect_eq(d.target, 7);
	cr_expect_eq(d.alert_bytes, 1 * GIB + 384 * MIB + 1, "alert %llu MiB",
		     (unsigned long long)(d.alert_bytes >> 20));
	/* At the pause point when nothing lower applies. */
	struct gov_state st2 = {};
	struct gov_config c2 = cfg(1, 2);
	d = decide(&c2, &st2, 3 * GIB, 256 * MIB, j, 2);
	cr_expect_eq(d.alert_bytes, 3840 * MIB);
}

/* A recorded reading sequence (summed RSS in MiB every 50 ms of a gcc build
 * with a 1.6 GiB link at the end), 2 GiB budget, jobs of 180 MiB learned. */
Test(governor, recorded_build_ramp)
{
	static const unsigned rss_mib[] = { 30,  210, 390, 560, 700, 820, 905, 980, 1010, 1040,
					    990, 1020, 1100, 1180, 1320, 1480, 1620, 1750, 1790, 1795 };
	struct gov_config c = { .budget_bytes = 2 * GIB, .min_jobs = 1, .max_jobs = 16, .may_kill = true };
	struct gov_state st = {};
	unsigned prev = 0, drops = 0;
	for (size_t i = 0; i < sizeof(rss_mib) / sizeof(rss_mib[0]); i++) {
		struct gov_decision d = decide(&c, &st, rss_mib[i] * MIB, 180 * MIB, NULL, 0);
		cr_assert_leq(d.target, 16);
		cr_assert_geq(d.target, 1);
		if (prev && d.target < prev)
			drops++;
		/* Admitted jobs of 180 MiB all fit below the pause point. */
		cr_expect_leq(rss_mib[i] * MIB + (uint64_t)d.target * 180 * MIB, d.pause_at_bytes + 180 * MIB,
			      "step %zu: %u jobs of 180 MiB on %u MiB exceed the pause point", i, d.target, rss_mib[i]);
		prev = d.target;
	}
	cr_expect_eq(prev, 1, "at 1795 of 1920 MiB the target is 1, got %u", prev);
	cr_expect_geq(drops, 3);
}
