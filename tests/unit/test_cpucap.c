/* cpucap: the CPU cap on the number of jobs, from PSI or runnable tasks. */
#include <criterion/criterion.h>
#include <errno.h>

#include "cpucap.h"
#include "livestate.h"

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

Test(cpucap, psi_total_and_share_over_a_step)
{
	uint64_t t = 0;
	double a;
	cr_expect_eq(psi_parse_some("some avg10=2.97 avg60=2.12 avg300=9.50 total=6787972450\n"
					     "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
					     &a, &t),
		     0);
	cr_expect_eq(t, 6787972450ull);
	cr_expect_eq(psi_parse_some("full avg10=0.00 total=5\n", &a, &t), -EINVAL, "no some line");
	cr_expect_eq(psi_parse_some("some avg10=1.00\nfull avg10=0.00 total=5\n", &a, &t), -EINVAL,
		     "the full line's total is not the some line's");
	cr_expect_eq(psi_parse_some("some avg10=1.00 total=x\n", &a, &t), -EINVAL);
	/* 250 ms of waiting in a 1 s step: 25 %. */
	cr_expect_eq(cpucap_share_x100(1000000, 1250000, 1000000), 2500);
	cr_expect_eq(cpucap_from_psi(cpucap_share_x100(1000000, 1250000, 1000000)), CPU_LOAD_OK);
	cr_expect_eq(cpucap_share_x100(0, 2000000, 1000000), 10000, "clamped to the step");
	cr_expect_eq(cpucap_share_x100(5, 4, 1000000), 0, "a total that went back");
	cr_expect_eq(cpucap_share_x100(0, 5, 0), 0, "no time passed");
}
