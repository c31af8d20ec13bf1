/* budget: the one owner of the workload's memory budget and CPU count.
 *
 * From --mem, --mem-high, `supervise set --mem`, the leaf's controllers and
 * the monitor's backend it derives (pure, budget_derive()):
 *   memory.max   the budget, when the kernel can enforce it;
 *   memory.high  --mem-high, else (with --jobs under a kernel budget) the
 *                pause point, so the kernel throttles before it OOM-kills;
 *   pause point  budget - margin: the governor pauses the newest job here;
 *   kill point   the budget, only when supervise enforces it (no memory
 *                controller: hybrid hosts, or no leaf; with or without
 *                --jobs); 0 when the kernel does or there is no budget;
 * and who enforces. budget_apply() writes memory.max and memory.high through
 * cgroup.h; budget_set_mem() moves all of them together.
 *
 * The margin policy (one, used by the governor too):
 *   margin = clamp(budget / (fast ? 16 : 8), fast ? 64 MiB : 256 MiB, budget / 2)
 * fast: the backend reports a crossing within a millisecond (bpf); procfs
 * samples every 100 ms, in which a job can touch a few hundred MiB.
 *
 * The CPU count (one, used by --jobs auto and the advice): the CPUs the
 * supervisor may run on (affinity), capped by the cpu.max quota of the leaf
 * and its ancestors (or a v1 CFS quota: containers on v1 hosts) and by --cpus. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cgroup.h"

enum budget_enforcer { BUDGET_NONE, BUDGET_KERNEL, BUDGET_SUPERVISE };

struct budget_input {
	uint64_t mem;              /* --mem (or set --mem), resolved; 0: none */
	uint64_t mem_high;         /* --mem-high resolved; 0: derived */
	bool jobs;                 /* --jobs: supervise holds tokens, pauses, kills */
	bool kernel_memory;        /* the leaf has the memory controller */
	bool fast;                 /* crossings within a millisecond (bpf) */
};

struct budget {
	struct budget_input in;
	uint64_t max, high;        /* to write; 0: not written */
	uint64_t margin;
	uint64_t pause_at;         /* 0: no budget */
	uint64_t kill_at;          /* 0: supervise never kills */
	enum budget_enforcer enforced_by;
};

/* Pure. */
uint64_t budget_margin(uint64_t mem, bool fast);
void budget_derive(const struct budget_input *in, struct budget *ret);
const char *budget_enforcer_name(enum budget_enforcer e);   /* the summary's enforced_by */

/* Write memory.max and memory.high (where the controller is); *ret_missing
 * gets CGROUP_MEMORY when a budget could not be written. */
int budget_apply(const struct budget *b, struct cgroup *cg, unsigned *ret_missing);
/* `set --mem`: a new budget, everything derived again and written. */
int budget_set_mem(struct budget *b, uint64_t mem, struct cgroup *cg, unsigned *ret_missing);

/* Pure: the CPU count from its parts (affinity count, quota in CPUs and
 * --cpus, each 0 when absent). At least 1. */
unsigned budget_cpus_of(unsigned affinity, double quota, double cpus_opt);
/* The same, read now: sched_getaffinity and budget_cpu_quota(cgroup_path). */
unsigned budget_cpus(const char *cgroup_path, double cpus_opt);
/* The tightest CPU quota that encloses cgroup_path (NULL: none): cpu.max of
 * it and its ancestors, and the v1 CFS quota of our v1 cpu group where one
 * is mounted; in CPUs, 0 when there is none. */
double budget_cpu_quota(const char *cgroup_path);
