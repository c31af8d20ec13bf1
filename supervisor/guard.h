/* guard: a small process outside the leaf that outlives a SIGKILLed
 * supervisor. PDEATHSIG reaches only the workload's main process; the guard
 * kills the whole leaf (grandchildren too), removes it and the run directory
 * when the supervisor dies without saying it is done. Without a leaf it
 * kills the supervisor's process group instead — only where the supervisor
 * leads that group (a shell's job of its own, setsid), so the group is the
 * supervisor and what it started, never its caller. */
#pragma once

#include <sys/types.h>

struct guard {
	pid_t pid;
	int fd;         /* write end: the guard reads EOF when we die */
};

int guard_start(const char *cgroup_path, const char *run_dir, struct guard *ret);
/* Without a leaf: on the supervisor's death, SIGKILL to process group pgid
 * (stopped jobs die too) and the run directory removed. */
int guard_start_group(pid_t pgid, const char *run_dir, struct guard *ret);
/* The supervisor cleaned up itself: the guard exits without acting. */
void guard_release(struct guard *g);
