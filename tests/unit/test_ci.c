/* Pure parts of --mem auto (memauto.c) and the CI output (ci.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci.h"
#include "memauto.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

Test(memauto, reserve_is_64mib_plus_a_32nd_at_most_half)
{
	cr_expect_eq(memauto_reserve(600 * MIB), 64 * MIB + 600 * MIB / 32);
	cr_expect_eq(memauto_reserve(7 * GIB), 288 * MIB, "a 7 GiB runner keeps 288 MiB");
	cr_expect_eq(memauto_reserve(100 * MIB), 50 * MIB, "never more than half");
}

Test(memauto, limits_max_and_v1_unlimited_are_no_limit)
{
	uint64_t v = 0;
	cr_expect_eq(memauto_parse_limit("629145600\n", &v), 0);
	cr_expect_eq(v, 600 * MIB);
	cr_expect_eq(memauto_parse_limit("max\n", &v), -ERANGE);
	cr_expect_eq(memauto_parse_limit("9223372036854771712\n", &v), -ERANGE, "v1's page-rounded LONG_MAX");
	cr_expect_lt(memauto_parse_limit("12ab\n", &v), 0);
	cr_expect_lt(memauto_parse_limit("", &v), 0);
}

Test(memauto, v1_memory_mount_and_cgroup)
{
	const char *mi = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
			 "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
			 "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
			 "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
	char mnt[256], root[256], cg[256];
	cr_assert_eq(memauto_parse_v1_mount(mi, "memory", mnt, sizeof(mnt), root, sizeof(root)), 0);
	cr_expect_str_eq(mnt, "/sys/fs/cgroup/memory");
	cr_expect_str_eq(root, "/docker/abc");
	cr_expect_eq(memauto_parse_v1_mount("41 31 0:38 / /x rw - cgroup2 cgroup2 rw\n", "memory", mnt, sizeof(mnt), root,
					    sizeof(root)), -ENOENT, "pure v2: no v1 memory hierarchy");
	/* memory.memsw... is not "memory": whole option names only. */
	cr_expect_eq(memauto_parse_v1_mount("35 31 0:32 / /m rw - cgroup cgroup rw,memoryx\n", "memory", mnt, sizeof(mnt), root,
					    sizeof(root)), -ENOENT);
	cr_assert_eq(memauto_parse_v1_cgroup("5:devices:/\n4:memory:/process_api/e6\n0::/\n", "memory", cg, sizeof(cg)), 0);
	cr_expect_str_eq(cg, "/process_api/e6");
	cr_assert_eq(memauto_parse_v1_cgroup("3:cpu,memory:/a\n", "memory", cg, sizeof(cg)), 0);
	cr_expect_str_eq(cg, "/a");
	cr_expect_eq(memauto_parse_v1_cgroup("0::/\n", "memory", cg, sizeof(cg)), -ENOENT);
	/* cpu shares a hierarchy with cpuacct on most hosts: "cpu,cpuacct". */
	cr_assert_eq(memauto_parse_v1_cgroup("3:cpu,cpuacct:/ci\n", "cpu", cg, sizeof(cg)), 0);
	cr_expect_str_eq(cg, "/ci");
	cr_expect_eq(memauto_parse_v1_cgroup("2:cpuacct:/ci\n", "cpu", cg, sizeof(cg)), -ENOENT, "cpuacct is not cpu");
	cr_assert_eq(memauto_parse_v1_mount("33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
					    "cpu", mnt, sizeof(mnt), root, sizeof(root)), 0);
	cr_expect_str_eq(mnt, "/sys/fs/cgroup/cpu,cpuacct");
}

Test(ci, series_keeps_the_highest_and_fits_any_length)
{
	struct ci_series s = { .t0_ns = 1000, .step_s = 0.5 };
	ci_series_add(&s, 1000, 10 * MIB);
	ci_series_add(&s, 1000 + 100000000, 30 * MIB);   /* same bucket: the higher stays */
	ci_series_add(&s, 1000 + 1200000000ull, 20 * MIB);
	cr_expect_eq(s.n, 3);
	cr_expect_eq(s.max_bytes[0], 30 * MIB);
	cr_expect_eq(s.max_bytes[1], 30 * MIB, "a bucket no reading fell in holds the level before it");
	cr_expect_eq(s.max_bytes[2], 20 * MIB);
	/* An hour of readings fits CI_POINTS buckets; the run's peak survives. */
	for (uint64_t t = 2; t < 3600; t++)
		ci_series_add(&s, 1000 + t * 1000000000ull, t == 1800 ? 500 * MIB : 40 * MIB);
	cr_expect_leq(s.n, CI_POINTS);
	cr_expect_geq(s.n * s.step_s, 3599);
	uint64_t top = 0;
	for (unsigned i = 0; i < s.n; i++)
		top = s.max_bytes[i] > top ? s.max_bytes[i] : top;
	cr_expect_eq(top, 500 * MIB);
}

static struct run_summary summary_of(struct reading *r, uint64_t budget, uint64_t peak, bool killed)
{
	memset(r, 0, sizeof(*r));
	r->peak_rss_bytes = peak;
	r->peak_map_count = 100;
	return (struct run_summary){ .name = "make", .has_budget = budget != 0, .budget_bytes = budget,
				     .enforced_by = "supervise", .max_map_count = 65530, .final = r,
				     .killed_at_budget = killed };
}

static int commands(const struct run_summary *s, char *buf, size_t size)
{
	FILE *f = fmemopen(buf, size, "w");
	int n = ci_workflow_commands(s, f);
	fclose(f);
	return n;
}

Test(ci, workflow_commands_exactly_when_due)
{
	struct reading r;
	char out[4096];
	struct run_summary s = summary_of(&r, 1 * GIB, 850 * MIB, false);
	cr_expect_eq(commands(&s, out, sizeof(out)), 0, "83 %%: nothing");
	s = summary_of(&r, 1 * GIB, 922 * MIB, false);
	cr_expect_eq(commands(&s, out, sizeof(out)), 1, "90 %%: a warning");
	cr_expect(strstr(out, "::warning title=supervise: memory near the budget::make peaked at"), "%s", out);
	cr_expect(strstr(out, "90 %25 of"), "the %% escaped for the runner: %s", out);
	s = summary_of(&r, 1 * GIB, 1 * GIB, true);
	cr_expect_eq(commands(&s, out, sizeof(out)), 1, "killed: the error alone");
	cr_expect(!strncmp(out, "::error title=supervise: killed at the memory budget::", 54), "%s", out);
	s = summary_of(&r, 0, 10 * GIB, false);
	cr_expect_eq(commands(&s, out, sizeof(out)), 0, "no budget: no memory warning");
	s = summary_of(&r, 0, 0, false);
	r.peak_map_count = 52424;   /* 80 % of 65530 */
	r.peak_map_pid = 7;
	strcpy(r.peak_map_comm, "java\nx");
	cr_expect_eq(commands(&s, out, sizeof(out)), 1, "map_count at 80 %%");
	cr_expect(strstr(out, "::warning title=supervise: map_count near vm.max_map_count::"), "%s", out);
	cr_expect(strchr(out, '\n') == out + strlen(out) - 1, "a comm cannot start a new command line: %s", out);
}

Test(ci, markdown_escapes_what_the_workload_chose)
{
	struct reading r;
	struct proc_reading p = { .pid = 9, .comm = "a|b<i>`x`", .peak_rss_bytes = MIB };
	struct run_summary s = summary_of(&r, 0, MIB, false);
	r.procs = &p;
	r.nr_proc_readings = 1;
	char *argv[] = { "sh", "-c", "echo | [x](y)\n| evil |", NULL };
	s.command = argv;
	char out[8192];
	FILE *f = fmemopen(out, sizeof(out), "w");
	ci_markdown(&s, NULL, f);
	fclose(f);
	cr_expect(strstr(out, "a\\|b\\<i\\>\\`x\\`"), "comm escaped: %s", out);
	cr_expect(!strstr(out, "\n| evil |"), "a newline in the command cannot start a row: %s", out);
	cr_expect(strstr(out, "\\[x\\]\\(y\\)"), "no link from the command: %s", out);
}
