/* cpucap: how many jobs the CPUs take — the cap --jobs MIN-MAX (and auto)
 * puts on the target beyond what memory allows. MAX is a bound, not a
 * target: the cap starts at the CPUs and moves one job a step, up while the
 * CPUs idle (jobs that wait on I/O, sleep, or a link reading its inputs),
 * down to the CPUs while the jobs contend for them. Pure (unit-tested in
 * tests/unit/test_cpucap.c); jobctl reads the signal and applies the cap.
 *
 * The signal, best first:
 *  - the leaf's cpu.pressure "some" (PSI) over the last step, from its total
 *    (microseconds some task waited for a CPU) — not avg10, a 10 s average
 *    that let the cap climb from 2 to 6 jobs on 2 CPUs in a CPU-bound zstd
 *    build before it rose past the threshold: idle below 10 %, contended at
 *    40 % or more;
 *  - without PSI (no leaf: a plain user's run or a container without
 *    cgroup delegation; a kernel built without CONFIG_PSI or booted psi=0):
 *    the workload's runnable tasks (state R) averaged over the step against
 *    the CPUs: idle while at least one CPU on average has nothing of the
 *    workload to run, contended while at least one task on average waits. */
#pragma once

#include <stdint.h>

enum cpu_load {
	CPU_LOAD_UNKNOWN,    /* no reading: the cap holds */
	CPU_LOAD_IDLE,       /* CPUs idle: one more job would use them */
	CPU_LOAD_OK,
	CPU_LOAD_CONTENDED,  /* jobs wait for CPUs: one fewer */
};

#define CPUCAP_PSI_LOW_X100 1000
#define CPUCAP_PSI_HIGH_X100 4000

/* The share of a step some task waited, in hundredths of a percent, from two
 * "some" totals (psi_parse_some(), livestate.h) step_us apart (0 when the total went back or no time passed). */
uint32_t cpucap_share_x100(uint64_t total_was, uint64_t total_now, uint64_t step_us);
/* that share's judgement */
enum cpu_load cpucap_from_psi(uint32_t some_x100);
/* runnable tasks summed over samples, and the number of samples. */
enum cpu_load cpucap_from_runnable(uint64_t runnable_sum, unsigned samples, unsigned cpus);
/* The cap after one step: up by one when idle and the running jobs fill it
 * (below max), down by one when contended (not below floor); never outside
 * [floor, max] (floor >= max: max). */
unsigned cpucap_step(unsigned cap, unsigned floor, unsigned max, unsigned running_jobs, enum cpu_load load);
