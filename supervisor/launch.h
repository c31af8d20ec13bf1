/* launch: start the workload inside its leaf with clone3(CLONE_INTO_CGROUP),
 * so it never runs a single instruction outside it. */
#pragma once

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One variable a capability gives the workload's environment. */
struct launch_var {
	char name[32];
	char value[PATH_MAX + 64];
	bool unset;             /* remove it instead */
	bool keep_user;         /* the user's own value, if set, wins */
};

/* A new environment: base with vars applied (replaced, added, removed).
 * The array and its strings are malloc'd: free with launch_env_free(). NULL
 * on ENOMEM. */
char **launch_env_build(char *const *base, const struct launch_var *vars, size_t n);
void launch_env_free(char **env);
/* The value of name in env, NULL when absent. */
const char *launch_env_get(char *const *env, const char *name);

struct launch {
	char *const *argv;
	int cgroup_fd;          /* O_PATH fd of the leaf */
	const sigset_t *restore_mask;   /* the mask the workload starts with */
	const struct sigaction *restore_sigpipe;   /* SIGPIPE as supervise found it */
	char *const *envp;      /* the workload's environment; NULL: supervise's own */
	const int *inherit_fds;         /* CLOEXEC fds the workload inherits (the jobserver pipe) */
	int nr_inherit_fds;
	struct sandbox *sandbox;        /* NULL: none; entered in the child before exec */
};

/* Returns 0 with the child's pid and a pidfd (CLOEXEC), or -errno. When the
 * exec itself fails (not found, not executable), returns 0 and sets
 * *ret_exec_errno; the child has then already exited with 126/127. */
int launch_workload(const struct launch *l, pid_t *ret_pid, int *ret_pidfd, int *ret_exec_errno);
