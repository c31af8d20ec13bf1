/* Learned footprints: per-command histograms and their percentile, per-job
 * identities, the file format (and what a damaged or hostile file cannot do),
 * the scoped paths and the cache directory's ownership rule. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "footprint.h"
#include "governor.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static struct footprints t, u;

Test(footprint, learn_and_expect)
{
	memset(&t, 0, sizeof(t));
	cr_expect_eq(footprint_expected(&t, "cc1plus"), 0);
	footprint_learn(&t, "cc1plus", 400 * MIB);
	cr_expect_eq(footprint_expected(&t, "cc1plus"), 400 * MIB, "one peak: that peak");
	for (int i = 0; i < 20; i++)
		footprint_learn(&t, "cc1plus", 200 * MIB);
	uint64_t e = footprint_expected(&t, "cc1plus");
	/* 20 of 21 peaks at 200 MiB: p90 is in their bucket (at most 9 % above). */
	cr_expect(e >= 200 * MIB && e <= 219 * MIB, "after 20 peaks of 200 MiB, expected %llu MiB",
		  (unsigned long long)(e >> 20));
	cr_expect_eq(footprint_mean(&t, "cc1plus") >> 20, 209, "mean %llu MiB",
		     (unsigned long long)(footprint_mean(&t, "cc1plus") >> 20));
	footprint_learn(&t, "bad comm", 1);
	footprint_learn(&t, "", 1);
	footprint_learn(&t, "=x", 1);
	cr_expect_eq(t.nr_cmd, 1);
}

/* The mix under one command name: 48 light (100-200 MiB) and 12 heavy
 * (1-1.5 GiB) peaks. The mean (~370 MiB) fits neither; p90 must size a job
 * never seen as a heavy one. */
Test(footprint, bimodal_command_is_sized_by_its_high_percentile)
{
	memset(&t, 0, sizeof(t));
	for (int i = 0; i < 60; i++) {
		uint64_t peak = i % 5 == 4 ? (1024 + (uint64_t)(i * 97) % 512) * MIB : (100 + (uint64_t)(i * 37) % 101) * MIB;
		footprint_learn(&t, "touch", peak);
	}
	uint64_t mean = footprint_mean(&t, "touch"), p90 = footprint_expected(&t, "touch");
	cr_expect(mean > 300 * MIB && mean < 450 * MIB, "mean %llu MiB", (unsigned long long)(mean >> 20));
	cr_expect_geq(p90, 1024 * MIB, "p90 %llu MiB must cover the heavy mode", (unsigned long long)(p90 >> 20));
	const struct fp_cmd *c = footprint_find_cmd(&t, "touch");
	cr_assert(c);
	cr_expect_leq(footprint_percentile(c, 50), 220 * MIB, "p50 is a light job");
	cr_expect_leq(p90, c->max_bytes, "never above the largest peak seen");
}

Test(footprint, identity_is_the_job_not_the_command)
{
	const char a[] = "./touch\0" "1400\0" "2", b[] = "./touch\0" "140\0" "2";
	uint64_t ia = footprint_identity(a, sizeof(a), "/src"), ib = footprint_identity(b, sizeof(b), "/src");
	cr_expect_neq(ia, ib);
	cr_expect_neq(ia, footprint_identity(a, sizeof(a), "/other"), "the directory is part of it");
	cr_expect_eq(ia, footprint_identity(a, sizeof(a), "/src"), "stable across runs");
	/* "ab" + "c" and "a" + "bc" differ: the separator counts. */
	cr_expect_neq(footprint_identity("ab", 2, "c"), footprint_identity("a", 1, "bc"));

	memset(&t, 0, sizeof(t));
	footprint_learn_id(&t, ia, "touch", 1400 * MIB, 4000, 0);
	footprint_learn(&t, "touch", 1400 * MIB);
	footprint_learn(&t, "touch", 140 * MIB);
	footprint_learn(&t, "touch", 150 * MIB);
	struct fp_estimate e;
	footprint_estimate(&t, NULL, ia, "touch", &e);
	cr_expect_eq(e.source, FP_IDENTITY);
	cr_expect_eq(e.bytes, 1400 * MIB);
	cr_expect_eq(e.ramp_ms, 4000);
	footprint_estimate(&t, NULL, ib, "touch", &e);
	cr_expect_eq(e.source, FP_COMMAND, "an unknown job of a known command: its percentile");
	cr_expect_geq(e.bytes, 1400 * MIB);
	/* A smaller run lowers the identity by a quarter of the way, a larger one raises it at once. */
	footprint_learn_id(&t, ia, "touch", 600 * MIB, 2000, 0);
	cr_expect_eq(footprint_find_id(&t, ia)->peak_bytes, 1200 * MIB);
	footprint_learn_id(&t, ia, "touch", 1500 * MIB, 4100, 0);
	cr_expect_eq(footprint_find_id(&t, ia)->peak_bytes, 1500 * MIB);
}

Test(footprint, project_falls_back_to_the_global_table)
{
	memset(&t, 0, sizeof(t));
	memset(&u, 0, sizeof(u));
	for (int i = 0; i < 5; i++)
		footprint_learn(&u, "rustc", 2 * GIB);
	struct fp_estimate e;
	footprint_estimate(&t, &u, 42, "rustc", &e);
	cr_expect_eq(e.source, FP_GLOBAL_COMMAND);
	cr_expect_eq(e.bytes, 2 * GIB);
	/* Two peaks in the project: still the larger of the two tables. */
	footprint_learn(&t, "rustc", 100 * MIB);
	footprint_learn(&t, "rustc", 100 * MIB);
	footprint_estimate(&t, &u, 42, "rustc", &e);
	cr_expect_eq(e.bytes, 2 * GIB);
	/* Three: the project knows this command here. */
	footprint_learn(&t, "rustc", 100 * MIB);
	footprint_estimate(&t, &u, 42, "rustc", &e);
	cr_expect_eq(e.source, FP_COMMAND);
	cr_expect_leq(e.bytes, 110 * MIB);
	footprint_estimate(&t, &u, 42, "never", &e);
	cr_expect_eq(e.source, FP_NONE);
	cr_expect_eq(e.bytes, 0);
}

Test(footprint, file_round_trip)
{
	memset(&t, 0, sizeof(t));
	footprint_learn(&t, "rustc", 900 * MIB);
	footprint_learn(&t, "ld", 1500 * MIB);
	footprint_learn(&t, "ld", 15 * MIB);
	footprint_learn(&t, "[job]", 300 * MIB);
	footprint_learn_id(&t, 0xdeadbeefcafe, "ld", 1500 * MIB, 3200, 0);
	static char buf[1 << 20];
	int n = footprint_format(&t, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	footprint_parse(&u, buf);
	cr_expect_eq(u.nr_cmd, 3);
	cr_expect_eq(u.nr_ids, 1);
	cr_expect_eq(footprint_expected(&u, "ld"), footprint_expected(&t, "ld"));
	cr_expect_eq(footprint_mean(&u, "[job]"), 300 * MIB);
	cr_expect_eq(footprint_find_cmd(&u, "ld")->count, 2);
	const struct fp_id *f = footprint_find_id(&u, 0xdeadbeefcafe);
	cr_assert(f);
	cr_expect_eq(f->peak_bytes, 1500 * MIB);
	cr_expect_eq(f->ramp_ms, 3200);
	cr_expect_str_eq(f->comm, "ld");
	/* The first format (COMM EWMA MAX COUNT) still loads: mean and max seed it. */
	footprint_parse(&u, "# comment\nrustc 100 50 3\ngarbage\nld 10 20\ncc1 6000000 9000000 1\ncc1 20 30 1\n");
	cr_expect_eq(u.nr_cmd, 1, "max below the mean, short and duplicate lines are skipped");
	cr_expect_eq(footprint_expected(&u, "cc1"), 9000000, "two seeded peaks: the larger");
}

/* issue 9, item 5: "sleep 1000000 1000000 -1" made count+1 wrap to 0 and
 * crashed supervise (SIGFPE); values near UINT64_MAX wrapped the sums. */
Test(footprint, hostile_lines_are_clamped_not_trusted)
{
	footprint_parse(&t, "sleep 1000000 1000000 -1\n"
			    "huge 18446744073709551615 18446744073709551615 4294967295\n"
			    "big 1000 2000 5 0:65535 1:65535 119:65535\n"
			    "bad 1000 2000 5 120:1\n"
			    "=ffffffffffffffff 18446744073709551615 4294967295 4294967295 x\n");
	cr_expect_eq(footprint_expected(&t, "sleep"), 1000000);
	footprint_learn(&t, "sleep", 2000000);   /* no division by a wrapped count */
	cr_expect_eq(footprint_find_cmd(&t, "sleep")->count, 3);
	cr_expect_eq(footprint_expected(&t, "huge"), FOOTPRINT_MAX_BYTES, "clamped to 1 TiB");
	cr_expect_leq(footprint_find_cmd(&t, "big")->count, FOOTPRINT_HIST_CAP);
	cr_expect_null(footprint_find_cmd(&t, "bad"), "a bucket out of range drops the line");
	const struct fp_id *f = footprint_find_id(&t, UINT64_MAX);
	cr_assert(f);
	cr_expect_eq(f->peak_bytes, FOOTPRINT_MAX_BYTES);
	for (int i = 0; i < 5000; i++)
		footprint_learn(&t, "big", UINT64_MAX);
	cr_expect_leq(footprint_find_cmd(&t, "big")->count, FOOTPRINT_HIST_CAP, "the histogram fades, never wraps");
	/* The governor's sums over such jobs saturate instead of wrapping. */
	struct gov_job jobs[3];
	for (int i = 0; i < 3; i++)
		jobs[i] = (struct gov_job){ .start_ns = (uint64_t)i + 1, .rss_bytes = UINT64_MAX - 5,
					    .expected_bytes = UINT64_MAX };
	struct gov_config c = { .budget_bytes = 4 * GIB, .min_jobs = 1, .max_jobs = 16, .may_kill = true };
	struct gov_state st = {};
	struct gov_input in = { .rss_bytes = UINT64_MAX, .next_job_bytes = 1, .jobs = jobs, .nr_jobs = 3 };
	struct gov_decision d;
	governor_decide(&c, &st, &in, &d);
	cr_expect_eq(d.action, GOV_PAUSE, "far over the budget with three jobs: pause, not admit");
	cr_expect_leq(d.target, 2, "no new job");
	cr_expect_lt(d.headroom_bytes, 0);
}

Test(footprint, paths_are_scoped)
{
	char g[4096], p[4096], p2[4096];
	setenv("SUPERVISE_CACHE_DIR", "/tmp/x", 1);
	footprint_use_file(NULL);
	cr_assert_eq(footprint_global_path(g, sizeof(g)), 0);
	cr_expect_str_eq(g, "/tmp/x/footprints");
	cr_assert_eq(chdir("/"), 0);
	cr_assert_eq(footprint_project_path(p, sizeof(p)), 0);
	cr_assert_eq(chdir("/tmp"), 0);
	cr_assert_eq(footprint_project_path(p2, sizeof(p2)), 0);
	cr_expect(!strncmp(p, "/tmp/x/footprints.", 18) && strlen(p) == 18 + 16, "project table %s", p);
	cr_expect_str_neq(p, p2, "one table per working directory");
	footprint_use_file("/src/proj/.footprints");
	cr_assert_eq(footprint_project_path(p, sizeof(p)), 0);
	cr_expect_str_eq(p, "/src/proj/.footprints");
	footprint_use_file(NULL);
	unsetenv("SUPERVISE_CACHE_DIR");
}

/* issue 9, item 4: the cache directory must be the euid's with mode 0700;
 * a planted symlink is never followed; the save is a fresh file renamed over. */
Test(footprint, cache_dir_must_be_private)
{
	char dir[] = "/tmp/sv-fp-test-XXXXXX";
	cr_assert(mkdtemp(dir));
	char *cache = NULL, *file = NULL, *victim = NULL;
	cr_assert(asprintf(&cache, "%s/cache", dir) > 0 && asprintf(&file, "%s/footprints", cache) > 0 &&
		  asprintf(&victim, "%s/victim", dir) > 0);
	setenv("SUPERVISE_CACHE_DIR", cache, 1);
	memset(&t, 0, sizeof(t));
	footprint_learn(&t, "cc1", 100 * MIB);
	cr_expect_eq(footprint_save(&t, file), 0, "creates the directory");
	struct stat st;
	cr_assert_eq(stat(cache, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0700, "created with mode %o", st.st_mode & 07777);
	cr_assert_eq(stat(file, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	cr_expect_eq(footprint_load(&u, file), 0);
	cr_expect_eq(footprint_expected(&u, "cc1"), 100 * MIB);

	/* A symlink planted at the table's name: loading refuses it, saving
	 * replaces the link itself and leaves its target alone. */
	FILE *f = fopen(victim, "w");
	cr_assert(f);
	fputs("precious\n", f);
	fclose(f);
	cr_assert_eq(unlink(file), 0);
	cr_assert_eq(symlink(victim, file), 0);
	cr_expect_lt(footprint_load(&u, file), 0, "a symlink is not a table");
	t.dirty = true;
	cr_expect_eq(footprint_save(&t, file), 0);
	char buf[64] = "";
	f = fopen(victim, "r");
	cr_assert(f);
	cr_expect(fgets(buf, sizeof(buf), f) && !strcmp(buf, "precious\n"), "the symlink's target was written: %s", buf);
	fclose(f);
	cr_assert_eq(lstat(file, &st), 0);
	cr_expect(S_ISREG(st.st_mode));

	/* A directory others can enter or write: refused, nothing written. */
	cr_assert_eq(chmod(cache, 0777), 0);
	cr_expect_eq(footprint_save(&t, file), -EPERM);
	cr_expect_eq(footprint_load(&u, file), -EPERM);
	/* Ours but 0755, as an older supervise made it: nobody else could write
	 * it, so it is tightened to 0700 and used. */
	cr_assert_eq(chmod(cache, 0755), 0);
	cr_expect_eq(footprint_save(&t, file), 0);
	cr_assert_eq(stat(cache, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0700, "mode %04o", (unsigned)(st.st_mode & 07777));
	cr_expect_eq(footprint_remove(file), 0);
	cr_expect(access(file, F_OK) < 0 && errno == ENOENT);
	cr_expect_eq(footprint_remove(file), 0, "absent: nothing to do");

	/* A FIFO is not read (it would block). */
	cr_assert_eq(mkfifo(file, 0600), 0);
	cr_expect_lt(footprint_load(&u, file), 0);
	unlink(file);
	unsetenv("SUPERVISE_CACHE_DIR");
	char *rm = NULL;
	cr_assert(asprintf(&rm, "rm -rf %s", dir) > 0);
	cr_expect_eq(system(rm), 0);
	free(rm);
	free(cache);
	free(file);
	free(victim);
}
