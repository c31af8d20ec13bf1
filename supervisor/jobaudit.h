/* jobaudit: finds jobserver tokens that went with processes that died holding
 * them, so jobctl can re-mint them (docs/jobserver.md, "Re-minting").
 *
 * jobaudit_run() reads the leaf's processes (cgroup.h's walker) and their open
 * fds at most every JOBAUDIT_MS; jobaudit_lost() is its pure part: given who
 * holds the jobserver and how many tokens are out, how many are lost. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jobserver.h"

#define JOBAUDIT_MS 500

struct jobaudit {
	uint64_t last_ns;
	int prev_lost;
	unsigned prev_held;
	int agree;        /* audits in a row that found the same loss */
};

struct jobaudit_proc {
	pid_t pid, ppid;
	char comm[16];
	int holds;        /* has the jobserver open: 1, 0, -1 unknown */
};

/* Tokens a client of this kind is known to hold with `children` running
 * children: make holds one per child beyond its implicit token, shells none;
 * -1: cannot tell (rustc, a script reading tokens itself). */
int jobaudit_known_holding(const char *comm, unsigned children);
/* Pure: tokens held (pool - in pipe) less what the n processes justify;
 * -1 when some holder is of an unknown kind. */
int jobaudit_lost(const struct jobaudit_proc *p, int n, unsigned held);
/* Returns how many tokens to re-mint now (seen lost the same in three audits
 * in a row), 0 otherwise. */
unsigned jobaudit_run(struct jobaudit *a, struct jobserver *js, const char *cgroup, uint64_t now_ns);
