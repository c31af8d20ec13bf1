/* The budget: one owner for memory.max, memory.high, the pause and kill
 * points and who enforces; one margin policy; one CPU count. Pure, exact. */
#include <criterion/criterion.h>

#include "budget.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static struct budget derive(uint64_t mem, uint64_t high, bool jobs, bool kernel, bool fast)
{
	struct budget_input in = { .mem = mem, .mem_high = high, .jobs = jobs, .kernel_memory = kernel, .fast = fast };
	struct budget b;
	budget_derive(&in, &b);
	return b;
}

Test(budget, margin_policy)
{
	cr_expect_eq(budget_margin(4 * GIB, true), 256 * MIB, "bpf: budget / 16");
	cr_expect_eq(budget_margin(4 * GIB, false), 512 * MIB, "procfs: budget / 8");
	cr_expect_eq(budget_margin(512 * MIB, true), 64 * MIB, "bpf floor 64 MiB");
	cr_expect_eq(budget_margin(1 * GIB, false), 256 * MIB, "procfs floor 256 MiB");
	cr_expect_eq(budget_margin(256 * MIB, false), 128 * MIB, "never above half the budget");
}

Test(budget, kernel_enforces_and_throttles_at_the_pause_point_with_jobs)
{
	struct budget b = derive(4 * GIB, 0, true, true, true);
	cr_expect_eq(b.max, 4 * GIB);
	cr_expect_eq(b.pause_at, 4 * GIB - 256 * MIB);
	cr_expect_eq(b.high, b.pause_at, "memory.high at the pause point");
	cr_expect_eq(b.kill_at, 0, "the kernel kills, not supervise");
	cr_expect_str_eq(budget_enforcer_name(b.enforced_by), "kernel");
	b = derive(4 * GIB, 0, false, true, true);
	cr_expect_eq(b.high, 0, "without --jobs no memory.high is derived");
	b = derive(4 * GIB, 3 * GIB, true, true, true);
	cr_expect_eq(b.high, 3 * GIB, "the user's --mem-high wins");
}

Test(budget, hybrid_host_supervise_enforces_with_or_without_jobs)
{
	struct budget b = derive(2 * GIB, 0, true, false, false);
	cr_expect_eq(b.max, 0, "nothing to write without the controller");
	cr_expect_eq(b.high, 0);
	cr_expect_eq(b.kill_at, 2 * GIB);
	cr_expect_eq(b.pause_at, 2 * GIB - 256 * MIB);
	cr_expect_str_eq(budget_enforcer_name(b.enforced_by), "supervise");
	b = derive(2 * GIB, 0, false, false, true);
	cr_expect_str_eq(budget_enforcer_name(b.enforced_by), "supervise", "issue 10: without --jobs too");
	cr_expect_eq(b.kill_at, 2 * GIB);
	b = derive(0, 0, true, true, true);
	cr_expect_str_eq(budget_enforcer_name(b.enforced_by), "none");
	cr_expect_eq(b.pause_at, 0);
}

Test(budget, a_new_budget_moves_high_with_max)
{
	/* set --mem from 4 GiB to 2 GiB: memory.high follows to the new pause point. */
	struct budget a = derive(4 * GIB, 0, true, true, true), b = derive(2 * GIB, 0, true, true, true);
	cr_expect_eq(a.high, 4 * GIB - 256 * MIB);
	cr_expect_eq(b.high, 2 * GIB - 128 * MIB);
	/* A user's --mem-high above the new budget gives way to the pause point. */
	b = derive(2 * GIB, 3 * GIB, true, true, true);
	cr_expect_eq(b.high, 2 * GIB - 128 * MIB);
}

Test(budget, one_cpu_count)
{
	cr_expect_eq(budget_cpus_of(8, 0, 0), 8);
	cr_expect_eq(budget_cpus_of(8, 2.5, 0), 3, "cpu.max 2.5 CPUs: 3");
	cr_expect_eq(budget_cpus_of(2, 4, 0), 2, "taskset to 2 CPUs under a 4-CPU quota: 2");
	cr_expect_eq(budget_cpus_of(8, 0, 1.5), 2, "--cpus 1.5");
	cr_expect_eq(budget_cpus_of(8, 3, 1), 1);
	cr_expect_eq(budget_cpus_of(0, 0.1, 0), 1);
}
