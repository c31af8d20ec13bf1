/* The job table built from a reading, the re-minting arithmetic and the tokens
 * file format: pure code, exact figures. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "jobaudit.h"
#include "jobobs.h"
#include "jobtable.h"

#define MIB (1ull << 20)

static struct proc_reading P(uint32_t pid, uint32_t ppid, const char *comm, uint64_t rss)
{
	struct proc_reading p = { .pid = pid, .ppid = ppid, .rss_bytes = rss };
	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	return p;
}

struct ended {
	int n;
	pid_t root[8];
	uint64_t peak[8];
};

static void on_ended(void *ud, const struct job *j)
{
	struct ended *e = ud;
	e->root[e->n] = j->root;
	e->peak[e->n++] = j->peak;
}

static struct jobtable t;

static void map(struct proc_reading *procs, size_t n, uint64_t now, struct ended *e)
{
	struct reading r = { .procs = procs, .nr_proc_readings = n };
	struct jobtable_params p = { .main_pid = 100, .default_job_bytes = 512 * MIB, .now_ns = now,
				     .ended = on_ended, .userdata = e };
	jobtable_map(&t, &r, &p);
}

Test(jobtable, children_of_clients_are_jobs_with_their_subtrees)
{
	memset(&t, 0, sizeof(t));
	struct ended e = {};
	/* main (make) 100 → sh 101 → cc1 102; make 100 → cc1 103; recursive
	 * make 104 under 100 → cc1 105. The order in the reading is not pid order. */
	struct proc_reading procs[] = {
		P(105, 104, "cc1", 30 * MIB), P(100, 1, "make", 2 * MIB), P(102, 101, "cc1", 100 * MIB),
		P(101, 100, "sh", 1 * MIB),   P(103, 100, "cc1", 50 * MIB), P(104, 100, "make", 2 * MIB),
	};
	map(procs, 6, 1000, &e);
	cr_assert_eq(t.nr_jobs, 3);
	cr_expect_eq(jobtable_job_of(&t, 100), -1, "the main process is a client, not a job");
	cr_expect_eq(jobtable_job_of(&t, 104), -1, "a nested make is a client");
	int j101 = jobtable_job_of(&t, 101);
	cr_assert_geq(j101, 0);
	cr_expect_eq(jobtable_job_of(&t, 102), j101, "cc1 under sh belongs to sh's job");
	cr_expect_eq(t.jobs[j101].root, 101);
	cr_expect_eq(t.jobs[j101].rss, 101 * MIB);
	cr_expect_str_eq(t.jobs[j101].comm, "cc1", "the heaviest process names the job");
	cr_expect_eq(t.jobs[j101].expected, 512 * MIB, "never seen: the default");
	cr_expect_eq(t.jobs[jobtable_job_of(&t, 105)].rss, 30 * MIB);
	cr_expect_eq(t.jobs[j101].start_ns, 1000);
	cr_expect_eq(e.n, 0);
}

Test(jobtable, ended_jobs_are_reported_with_their_peak_and_the_rest_keep_order)
{
	memset(&t, 0, sizeof(t));
	struct ended e = {};
	struct proc_reading a[] = { P(100, 1, "make", 0), P(101, 100, "cc1", 300 * MIB), P(102, 100, "ld", 10 * MIB) };
	map(a, 3, 1, &e);
	cr_assert_eq(t.nr_jobs, 2);
	/* 101 grows then ends; 102 lives on, a new 103 starts. */
	a[1].rss_bytes = 400 * MIB;
	map(a, 3, 2, &e);
	struct proc_reading b[] = { P(100, 1, "make", 0), P(102, 100, "ld", 20 * MIB), P(103, 100, "cc1", 5 * MIB) };
	map(b, 3, 3, &e);
	cr_assert_eq(e.n, 1);
	cr_expect_eq(e.root[0], 101);
	cr_expect_eq(e.peak[0], 400 * MIB);
	cr_assert_eq(t.nr_jobs, 2);
	cr_expect_eq(t.jobs[0].root, 102, "the older job stays first");
	cr_expect_eq(t.jobs[0].start_ns, 1);
	cr_expect_eq(t.jobs[1].root, 103);
	cr_expect_eq(t.jobs[1].start_ns, 3);
	cr_expect_eq(jobtable_job_of(&t, 103), 1);
}

Test(jobtable, learned_footprint_sets_expected)
{
	memset(&t, 0, sizeof(t));
	static struct footprints fp;
	memset(&fp, 0, sizeof(fp));
	footprint_learn(&fp, "rustc", 2048 * MIB);
	struct proc_reading a[] = { P(100, 1, "cargo", 0), P(101, 100, "rustc", 1 * MIB) };
	struct reading r = { .procs = a, .nr_proc_readings = 2 };
	struct jobtable_params p = { .main_pid = 100, .fp = &fp, .default_job_bytes = 512 * MIB };
	jobtable_map(&t, &r, &p);
	cr_assert_eq(t.nr_jobs, 1);
	cr_expect_eq(t.jobs[0].expected, footprint_expected(&fp, "rustc"));
	cr_expect_geq(t.jobs[0].expected, 2048 * MIB);
}

Test(jobtable, a_ppid_cycle_ends)
{
	memset(&t, 0, sizeof(t));
	struct proc_reading a[] = { P(200, 201, "x", 1), P(201, 200, "y", 1) };
	struct ended e = {};
	map(a, 2, 0, &e);
	cr_expect_eq(t.nr_jobs, 0);
}

Test(jobaudit, make_holds_children_minus_one_shells_none_unknown_stops)
{
	struct jobaudit_proc p[] = {
		{ .pid = 10, .ppid = 1, .comm = "make", .holds = 1 },
		{ .pid = 11, .ppid = 10, .comm = "sh", .holds = 1 },
		{ .pid = 12, .ppid = 10, .comm = "sh", .holds = 1 },
		{ .pid = 13, .ppid = 10, .comm = "sh", .holds = 1 },
		{ .pid = 14, .ppid = 11, .comm = "cc1", .holds = 0 },
	};
	/* make with 3 children holds 2: 5 held means 3 lost. */
	cr_expect_eq(jobaudit_lost(p, 5, 5), 3);
	cr_expect_eq(jobaudit_lost(p, 5, 2), 0);
	cr_expect_eq(jobaudit_lost(p, 5, 1), 0, "fewer held than justified is no loss");
	p[4].holds = 1;   /* cc1 with the jobserver open: cannot tell */
	cr_expect_eq(jobaudit_lost(p, 5, 5), -1);
	p[4].holds = -1;  /* unreadable: cannot tell either */
	cr_expect_eq(jobaudit_lost(p, 5, 5), -1);
}

Test(tokens_file, round_trip_and_rejects)
{
	struct tokens_state a = { 4, 2, 1, 7 }, b;
	char buf[64];
	cr_assert_gt(tokens_format(&a, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "4 2 1 7\n");
	cr_assert_eq(tokens_parse(buf, &b), 0);
	cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_expect_eq(tokens_parse("4 2 1\n", &b), -EINVAL);
	cr_expect_eq(tokens_parse("4 2 1 7", &b), -EINVAL, "a torn line without its newline");
	cr_expect_eq(tokens_parse("4 2 1 7 9\n", &b), -EINVAL);
	cr_expect_eq(tokens_parse("", &b), -EINVAL);
}

/* issue 15: `cd sub && $(MAKE)` — the shell under the top make waits for its
 * sub-make; it is a wrapper, not a job, and reserves only what it holds. */
Test(jobtable, a_shell_waiting_for_a_sub_make_is_a_wrapper_not_a_job)
{
	memset(&t, 0, sizeof(t));
	struct ended e = {};
	struct proc_reading procs[] = {
		P(100, 1, "make", 2 * MIB), P(101, 100, "sh", 1 * MIB),    P(102, 101, "make", 2 * MIB),
		P(103, 102, "sleep", 0),    P(104, 102, "sh", 1 * MIB),    P(105, 104, "cc1", 40 * MIB),
		P(106, 100, "cc1", 30 * MIB),
	};
	map(procs, 7, 1000, &e);
	int w = jobtable_job_of(&t, 101), s = jobtable_job_of(&t, 103), c = jobtable_job_of(&t, 104);
	cr_assert(w >= 0 && s >= 0 && c >= 0);
	cr_expect(t.jobs[w].wrapper, "sh 101 waits for make 102: a wrapper");
	cr_expect_eq(t.jobs[w].expected, 1 * MIB, "a wrapper reserves what it holds, not a default job");
	cr_expect(!jobtable_is_job(&t.jobs[w]));
	cr_expect(!t.jobs[s].wrapper && !t.jobs[c].wrapper && !t.jobs[jobtable_job_of(&t, 106)].wrapper);
	cr_expect_eq(t.jobs[c].rss, 41 * MIB, "the sub-make's job: sh and its cc1");
	cr_expect(t.jobs[c].guessed, "never-seen commands: expected is the default guess");
	cr_expect_eq(jobtable_jobs(&t), 3, "sleep, sh+cc1 and cc1 are jobs; the wrapper is not");
	/* The sub-make ends: the shell goes on with real work (a job again). */
	struct proc_reading after[] = { P(100, 1, "make", 2 * MIB), P(101, 100, "sh", 1 * MIB),
					P(107, 101, "cc1", 80 * MIB) };
	map(after, 3, 2000, &e);
	cr_expect(!t.jobs[jobtable_job_of(&t, 101)].wrapper);
	cr_expect_eq(jobtable_jobs(&t), 1);
}
