/* guard: a small process outside the leaf that outlives a SIGKILLed
 * supervisor. PDEATHSIG reaches only the workload's main process; the guard
 * kills the whole leaf (grandchildren too), removes it and the run directory
 * when the supervisor dies without saying it is done. */
#pragma once

#include <sys/types.h>

struct guard {
	pid_t pid;
	int fd;         /* write end: the guard reads EOF when we die */
};

int guard_start(const char *cgroup_path, const char *run_dir, struct guard *ret);
/* The supervisor cleaned up itself: the guard exits without acting. */
void guard_release(struct guard *g);
