/* memauto: `--mem auto` — the tightest memory limit that applies to this
 * supervisor, less a reserve for supervise and the CI runner around it.
 *
 * Candidates, tightest wins:
 *   cgroup  memory.max of our v2 cgroup and every ancestor up to and
 *           including the mount's root (in a container with its own cgroup
 *           namespace the container's limit is there);
 *   cgroup  memory.limit_in_bytes of our v1 memory cgroup and its ancestors,
 *           where a v1 memory hierarchy is mounted (read only, never written);
 *   meminfo MemAvailable at start.
 * The reserve: 64 MiB + 1/32 of the limit (a 7 GiB runner keeps 288 MiB, a
 * 600 MiB pod 82 MiB), never more than half of it. */
#pragma once

#include <stdint.h>
#include <stddef.h>

enum memauto_source { MEMAUTO_CGROUP, MEMAUTO_MEMINFO };

struct memauto {
	uint64_t limit;            /* the tightest limit found */
	uint64_t reserve;
	uint64_t budget;           /* limit - reserve */
	enum memauto_source source;
	char where[4096 + 64];     /* the file the limit was read from */
};

/* Pure: the reserve for a limit. */
uint64_t memauto_reserve(uint64_t limit);
/* Pure: a v1 hierarchy's mount point and root from the text of
 * /proc/self/mountinfo (fstype cgroup with the controller among its super
 * options: "memory", "cpu"). -ENOENT. */
int memauto_parse_v1_mount(const char *mountinfo, const char *controller, char *ret_mount, size_t msize,
			   char *ret_root, size_t rsize);
/* Pure: the v1 cgroup path of a controller ("4:memory:/a/b" → "/a/b") in
 * the text of /proc/PID/cgroup. */
int memauto_parse_v1_cgroup(const char *text, const char *controller, char *ret, size_t size);
/* Pure: a v1 limit_in_bytes or v2 memory.max text to bytes; -ERANGE for
 * "max" and the v1 "unlimited" values (≥ 2^62). */
int memauto_parse_limit(const char *text, uint64_t *ret);

/* Read the limits now. 0, or -errno when not even MemAvailable could be read. */
int memauto_resolve(struct memauto *ret);
const char *memauto_source_name(enum memauto_source s);   /* "cgroup" | "meminfo" */
/* The tightest v1 CFS quota (cpu.cfs_quota_us / cpu.cfs_period_us) of our v1
 * cpu group and its ancestors, in CPUs; 0 when none (or no v1 cpu
 * hierarchy). Containers on v1 hosts carry --cpus there. */
double memauto_v1_cpu_quota(void);
