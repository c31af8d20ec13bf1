/* cpucap: see cpucap.h. */
#include "cpucap.h"

uint32_t cpucap_share_x100(uint64_t total_was, uint64_t total_now, uint64_t step_us)
{
	if (!step_us || total_now < total_was)
		return 0;
	uint64_t d = total_now - total_was;
	/* Several tasks waiting at once count once: d <= step_us, but clamp
	 * what a late read adds. */
	return d >= step_us ? 10000 : (uint32_t)(d * 10000 / step_us);
}

enum cpu_load cpucap_from_psi(uint32_t some_x100)
{
	return some_x100 < CPUCAP_PSI_LOW_X100	  ? CPU_LOAD_IDLE
	       : some_x100 >= CPUCAP_PSI_HIGH_X100 ? CPU_LOAD_CONTENDED
						   : CPU_LOAD_OK;
}

enum cpu_load cpucap_from_runnable(uint64_t runnable_sum, unsigned samples, unsigned cpus)
{
	if (!samples || !cpus)
		return CPU_LOAD_UNKNOWN;
	/* Compared as sums: avg <= cpus - 1  <=>  sum <= (cpus - 1) * samples. */
	if (runnable_sum <= (uint64_t)(cpus - 1) * samples)
		return CPU_LOAD_IDLE;
	if (runnable_sum >= (uint64_t)(cpus + 1) * samples)
		return CPU_LOAD_CONTENDED;
	return CPU_LOAD_OK;
}

unsigned cpucap_step(unsigned cap, unsigned floor, unsigned max, unsigned running_jobs, enum cpu_load load)
{
	if (floor >= max)
		return max;
	if (cap < floor)
		cap = floor;
	if (cap > max)
		cap = max;
	if (load == CPU_LOAD_IDLE && running_jobs >= cap && cap < max)
		return cap + 1;
	if (load == CPU_LOAD_CONTENDED && cap > floor)
		return cap - 1;
	return cap;
}
