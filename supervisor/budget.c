/* budget: see budget.h. */
#include <math.h>
#include <sched.h>
#include <unistd.h>

#include "budget.h"
#include "log.h"
#include "memauto.h"

#define MIB (1ull << 20)

uint64_t budget_margin(uint64_t mem, bool fast)
{
	uint64_t m = mem / (fast ? 16 : 8);
	uint64_t floor_ = fast ? 64 * MIB : 256 * MIB;
	m = m > floor_ ? m : floor_;
	return m < mem / 2 ? m : mem / 2;
}

void budget_derive(const struct budget_input *in, struct budget *ret)
{
	struct budget b = { .in = *in };

	if (in->mem) {
		b.margin = budget_margin(in->mem, in->fast);
		b.pause_at = in->mem - b.margin;
		/* Where the kernel cannot (no memory controller in the leaf, or no
		 * leaf at all), supervise enforces from its readings, with or
		 * without --jobs: a budget nobody enforces is no budget. */
		b.enforced_by = in->kernel_memory ? BUDGET_KERNEL : BUDGET_SUPERVISE;
		if (in->kernel_memory)
			b.max = in->mem;
		if (b.enforced_by == BUDGET_SUPERVISE)
			b.kill_at = in->mem;
	}
	/* The user's memory.high while it is below the budget; else, following
	 * memory under a kernel budget, the pause point: the kernel throttles
	 * there before it would OOM-kill. */
	if (in->mem_high && (!in->mem || in->mem_high <= in->mem))
		b.high = in->mem_high;
	else if (in->jobs && b.max)
		b.high = b.pause_at;
	if (!in->kernel_memory)
		b.high = 0;
	*ret = b;
}

const char *budget_enforcer_name(enum budget_enforcer e)
{
	return e == BUDGET_KERNEL ? "kernel" : e == BUDGET_SUPERVISE ? "supervise" : "none";
}

int budget_apply(const struct budget *b, struct cgroup *cg, unsigned *ret_missing)
{
	struct cgroup_limits l = { .memory_max = b->max, .memory_high = b->high };
	unsigned missing = 0;
	int r = cgroup_apply_limits(cg, &l, &missing);
	if (ret_missing)
		*ret_missing = (b->in.mem || b->in.mem_high) && !(cg->controllers & CGROUP_MEMORY) ? CGROUP_MEMORY : 0;
	return r;
}

int budget_set_mem(struct budget *b, uint64_t mem, struct cgroup *cg, unsigned *ret_missing)
{
	struct budget_input in = b->in;
	struct budget next;

	/* Asked for only by `set`: the controller may not be enabled yet. */
	cgroup_enable_later(cg, CGROUP_MEMORY);
	in.mem = mem;
	in.kernel_memory = (cg->controllers & CGROUP_MEMORY) != 0;
	budget_derive(&in, &next);
	/* Both move together; memory.high may exceed memory.max for a moment
	 * (the kernel allows it), so the order of the two writes is free. */
	int r = budget_apply(&next, cg, ret_missing);
	if (r < 0)
		return r;
	*b = next;
	return 0;
}

unsigned budget_cpus_of(unsigned affinity, double quota, double cpus_opt)
{
	unsigned n = affinity ? affinity : 1;
	if (quota > 0 && ceil(quota - 1e-9) < n)
		n = (unsigned)ceil(quota - 1e-9);
	if (cpus_opt > 0 && ceil(cpus_opt - 1e-9) < n)
		n = (unsigned)ceil(cpus_opt - 1e-9);
	return n ? n : 1;
}

unsigned budget_cpus(const char *cgroup_path, double cpus_opt)
{
	cpu_set_t set;
	unsigned affinity = 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		affinity = (unsigned)CPU_COUNT(&set);
	if (!affinity) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		affinity = n > 0 ? (unsigned)n : 1;
	}
	return budget_cpus_of(affinity, budget_cpu_quota(cgroup_path), cpus_opt);
}

double budget_cpu_quota(const char *cgroup_path)
{
	double v2 = cgroup_path ? cgroup_cpu_quota(cgroup_path) : 0, v1 = memauto_v1_cpu_quota();
	/* The tighter of the two: a container on a v1 host carries its quota
	 * in the v1 cpu hierarchy, read only. */
	return v2 > 0 && (v1 <= 0 || v2 < v1) ? v2 : v1;
}
