/* mapguard: warn before a process of the workload runs out of map areas
 * (mm->map_count reaching vm.max_map_count makes mmap, mprotect and brk fail
 * with ENOMEM, and JVMs, Elasticsearch and wasm hosts then abort).
 *
 * Once per process at 80 % and again at 95 % of vm.max_map_count: pid, comm,
 * count, limit and the sysctl line to set, computed from the observed growth
 * with "4 x RAM in MiB" as the upper reference. --raise-map-count raises the
 * limit itself when permitted. While a process is at or above 80 %,
 * mapguard_hold() is true: the jobserver (the jobserver issue) is to grant
 * no new token then, and the advice page carries SV_ADVICE_HOLD_JOBS. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "monitor.h"

#define MAPGUARD_WARN_PCT  80
#define MAPGUARD_LAST_PCT  95

/* Pure: the two thresholds of a limit. */
void mapguard_thresholds(uint64_t limit, uint32_t *ret_warn, uint32_t *ret_last);

/* Pure: the vm.max_map_count to suggest for a process at count that grows by
 * rate_per_s: room for ten more minutes of that growth and at least twice the
 * count, rounded up to a multiple of 65536, above the current limit; capped
 * at 4 x RAM in MiB (ram_mib) when that is above the limit. *ret_capped:
 * the growth asked for more than that reference (a leak is likely). */
uint64_t mapguard_suggest(uint64_t limit, uint32_t count, double rate_per_s, uint64_t ram_mib, bool *ret_capped);

struct mapguard;

struct mapguard_options {
	bool raise;                   /* --raise-map-count */
	const char *sysctl_path;      /* NULL: /proc/sys/vm/max_map_count */
};

int mapguard_new(const struct mapguard_options *o, struct mapguard **ret);
/* The threshold to arm the monitor's map_count alert with. */
uint32_t mapguard_alert_threshold(struct mapguard *g);
/* Look at a reading: warn (once per process and level), raise when asked.
 * Returns true when the alert threshold changed (re-arm the monitor). */
bool mapguard_check(struct mapguard *g, const struct reading *r);
/* Is a live process at or above the warning threshold? */
bool mapguard_hold(const struct mapguard *g);
uint64_t mapguard_limit(const struct mapguard *g);
void mapguard_free(struct mapguard *g);
