/* cpucap: see cpucap.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpucap.h"

int cpucap_parse_some_total(const char *text, uint64_t *ret)
{
	const char *p = strstr(text, "some ");
	const char *nl = p ? strchr(p, '\n') : NULL;
	const char *t = p ? strstr(p, " total=") : NULL;
	if (!t || (nl && t > nl))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(t + 7, &end, 10);
	if (end == t + 7 || errno || (*end && *end != '\n' && *end != ' '))
		return -EINVAL;
	*ret = v;
	return 0;
}

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
