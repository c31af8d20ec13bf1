/* cpucap: the CPU cap on the number of jobs, from PSI or runnable tasks. */
#include <criterion/criterion.h>

#include "cpucap.h"

Test(cpucap, psi_thresholds)
{
	cr_expect_eq(cpucap_from_psi(0), CPU_LOAD_IDLE);
	cr_expect_eq(cpucap_from_psi(999), CPU_LOAD_IDLE);
	cr_expect_eq(cpucap_from_psi(1000), CPU_LOAD_OK);
	cr_expect_eq(cpucap_from_psi(3999), CPU_LOAD_OK);
	cr_expect_eq(cpucap_from_psi(4000), CPU_LOAD_CONTENDED);
}

Test(cpucap, runnable_against_the_cpus)
{
	/* 2 CPUs, 10 samples: idle while on average at most 1 task runs. */
	cr_expect_eq(cpucap_from_runnable(0, 10, 2), CPU_LOAD_IDLE);
	cr_expect_eq(cpucap_from_runnable(10, 10, 2), CPU_LOAD_IDLE);
	cr_expect_eq(cpucap_from_runnable(11, 10, 2), CPU_LOAD_OK);
	/* Two CPU-bound jobs on two CPUs: neither idle nor contended: the cap
	 * holds at the CPUs (PSI would probe a third job now and then). */
	cr_expect_eq(cpucap_from_runnable(20, 10, 2), CPU_LOAD_OK);
	cr_expect_eq(cpucap_from_runnable(29, 10, 2), CPU_LOAD_OK);
	cr_expect_eq(cpucap_from_runnable(30, 10, 2), CPU_LOAD_CONTENDED);
	cr_expect_eq(cpucap_from_runnable(5, 0, 2), CPU_LOAD_UNKNOWN, "no sample: no judgement");
	/* One CPU: idle only when nothing ran at all. */
	cr_expect_eq(cpucap_from_runnable(0, 4, 1), CPU_LOAD_IDLE);
	cr_expect_eq(cpucap_from_runnable(1, 4, 1), CPU_LOAD_OK);
}

Test(cpucap, steps_by_one_within_floor_and_max)
{
	/* Up only while the running jobs fill the cap. */
	cr_expect_eq(cpucap_step(2, 2, 8, 2, CPU_LOAD_IDLE), 3);
	cr_expect_eq(cpucap_step(2, 2, 8, 1, CPU_LOAD_IDLE), 2, "one job running does not fill a cap of 2");
	cr_expect_eq(cpucap_step(8, 2, 8, 8, CPU_LOAD_IDLE), 8, "MAX bounds it");
	cr_expect_eq(cpucap_step(5, 2, 8, 5, CPU_LOAD_CONTENDED), 4);
	cr_expect_eq(cpucap_step(2, 2, 8, 2, CPU_LOAD_CONTENDED), 2, "never below the CPUs");
	cr_expect_eq(cpucap_step(5, 2, 8, 5, CPU_LOAD_OK), 5);
	cr_expect_eq(cpucap_step(5, 2, 8, 5, CPU_LOAD_UNKNOWN), 5);
	cr_expect_eq(cpucap_step(1, 2, 8, 0, CPU_LOAD_OK), 2, "brought up to the floor");
	cr_expect_eq(cpucap_step(3, 4, 4, 4, CPU_LOAD_IDLE), 4, "floor >= max: max");
}
