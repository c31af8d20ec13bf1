/* proctree: the workload as a process tree, for runs without a cgroup leaf
 * (no writable cgroup: a plain user, a container with a read-only cgroupfs).
 * supervise is a child subreaper there, so every process the workload starts
 * stays its descendant even when its parent exits: the tree below our pid is
 * the workload. What it cannot do that a leaf does: catch a process that
 * daemonizes out of our session by a double fork into another subreaper (none
 * exists below us) or that is started from outside. */
#pragma once

#include <sys/types.h>

/* Call fn for every descendant of root (not root itself), from one pass over
 * /proc. fn returning < 0 stops the walk with that value. Returns 0 or -errno. */
int proctree_walk(pid_t root, int (*fn)(pid_t pid, void *userdata), void *userdata);
/* SIGKILL every descendant of root, in rounds (a process may fork between the
 * pass and the kill), until none is left alive or after 50 rounds. Each kill
 * goes through a pidfd opened after the pass, checked against the start time
 * seen in it: a recycled pid is never signalled. Returns the number killed. */
int proctree_kill(pid_t root);
