/* caps: the workload's identity and capabilities (libcap for names and
 * text, raw syscalls in the child).
 *
 * Planned in the supervisor (user database lookups, name parsing: they
 * allocate), entered in the child between clone3 and exec with
 * async-signal-safe calls only. supervise itself and its guard keep every
 * privilege they have; only the workload loses them.
 *
 * One set for all five: bounding = permitted = effective = inheritable =
 * ambient = keep. Ambient carries keep across exec for a non-root user, and
 * for root under SECBIT_NOROOT (locked), which stops a root workload from
 * regaining the full set by exec, setuid-root binaries included. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct config;

#define CAPS_MAX_GROUPS 256

struct caps_plan {
	bool apply;              /* any of --cap-drop, --cap-add, --user, --sandbox */
	uint64_t keep;           /* capability bits the workload keeps */
	unsigned last_cap;       /* /proc/sys/kernel/cap_last_cap */
	bool can_setpcap;        /* supervise holds CAP_SETPCAP: bounding set and securebits */
	bool set_user;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[CAPS_MAX_GROUPS];
	char user[64];           /* "builder:builder" for the summary */
	char name[64], home[256], shell[256];  /* HOME, USER, LOGNAME, SHELL like runuser */
};

/* Pure: parse "all" or a list of capability names ("cap_net_raw,chown",
 * comma or space separated, "cap_" optional, any case) into bits. 0 or
 * -EINVAL with err naming the bad word. */
int caps_parse_list(const char *s, uint64_t *ret, char *err, size_t errsize);

/* Plan from the configuration: resolve --user (user database), compute the
 * set. 0, or -errno after logging what was wrong (exit 125). */
int caps_plan(const struct config *c, struct caps_plan *ret);

/* In the child: groups, ids, capability sets, securebits. Async-signal-safe.
 * 0, or -errno with *ret_step naming the step that failed. */
int caps_enter(const struct caps_plan *p, const char **ret_step);

/* "cap_net_bind_service=eip", "=" (none); "inherited" when not applied.
 * Writes into buf. */
const char *caps_describe(const struct caps_plan *p, char *buf, size_t size);
