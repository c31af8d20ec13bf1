#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "launch.h"
#include "log.h"
#include "sandbox.h"
#include "status.h"
#include "util.h"

static pid_t sys_clone3(struct clone_args *args)
{
	return (pid_t)syscall(SYS_clone3, args, sizeof(*args));
}

/* In the child, between clone3 and exec: async-signal-safe calls only. */
static __attribute__((noreturn)) void child(const struct launch *l, pid_t parent, int errfd)
{
	/* Die with the supervisor: if it is SIGKILLed the workload must not
	 * live on. Check the parent again: it may have died before prctl. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(EXIT_SUPERVISE_FAILURE);

	/* The supervisor blocks the signals it forwards (it reads them from a
	 * signalfd) but never changes their dispositions: the workload starts
	 * with the mask and dispositions supervise itself was started with. */
	if (l->restore_sigpipe)
		sigaction(SIGPIPE, l->restore_sigpipe, NULL);
	sigprocmask(SIG_SETMASK, l->restore_mask, NULL);

	/* Kept CLOEXEC in the supervisor so nothing else it starts holds them. */
	for (int i = 0; i < l->nr_inherit_fds; i++)
		if (fcntl(l->inherit_fds[i], F_SETFD, 0) < 0)
			_exit(EXIT_SUPERVISE_FAILURE);

	/* Last before exec: the workload is in its leaf; drop what it may not keep. */
	if (sandbox_enter(l->sandbox) < 0)
		_exit(EXIT_SUPERVISE_FAILURE);

	if (l->envp)
		execvpe(l->argv[0], l->argv, l->envp);
	else
		execvp(l->argv[0], l->argv);

	int err = errno;
	ssize_t n = write(errfd, &err, sizeof(err));
	(void)n;
	_exit(exit_status_from_exec_errno(err));
}

int launch_workload(const struct launch *l, pid_t *ret_pid, int *ret_pidfd, int *ret_exec_errno)
{
	int pipefd[2];
	/* CLOEXEC: a successful exec closes the write end, so the parent's
	 * read returns 0; a failed one writes errno first. */
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return log_errno(-errno, "launch: pipe2 failed: %m");
	_cleanup_close_ int rfd = pipefd[0];
	_cleanup_close_ int wfd = pipefd[1];

	int pidfd = -1;
	pid_t parent = getpid();
	struct clone_args args = {
		/* No leaf (cgroup_fd < 0): the child stays in our cgroup. */
		.flags = (l->cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0) | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)l->cgroup_fd,
	};
	pid_t pid = sys_clone3(&args);
	if (pid < 0) {
		int r = -errno;
		if (r == -ENOSYS || r == -E2BIG)
			return log_errno(r, "launch: clone3 with CLONE_INTO_CGROUP is not supported by this kernel "
					    "(needs Linux 5.7 or later): %m");
		return log_errno(r, "launch: clone3 into the workload's cgroup failed: %m");
	}
	if (pid == 0)
		child(l, parent, wfd);

	closep(&wfd);
	wfd = -1;
	/* The child waits for this before it execs (a denied call needs an answer). */
	sandbox_attach(l->sandbox, pidfd);
	int err = 0;
	ssize_t n;
	do
		n = read(rfd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	*ret_exec_errno = n == (ssize_t)sizeof(err) ? err : 0;
	*ret_pid = pid;
	*ret_pidfd = pidfd;
	return 0;
}

static bool is_var(const char *kv, const char *name)
{
	size_t n = strlen(name);
	return strncmp(kv, name, n) == 0 && kv[n] == '=';
}

const char *launch_env_get(char *const *env, const char *name)
{
	for (size_t i = 0; env && env[i]; i++)
		if (is_var(env[i], name))
			return env[i] + strlen(name) + 1;
	return NULL;
}

void launch_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

char **launch_env_build(char *const *base, const struct launch_var *vars, size_t n)
{
	size_t count = 0, o = 0;
	while (base && base[count])
		count++;
	char **env = calloc(count + n + 1, sizeof(char *));
	if (!env)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		bool drop = false;
		for (size_t j = 0; j < n && !drop; j++)
			drop = is_var(base[i], vars[j].name) && !vars[j].keep_user;
		if (!drop && !(env[o++] = strdup(base[i])))
			goto fail;
	}
	for (size_t j = 0; j < n; j++) {
		if (vars[j].unset || (vars[j].keep_user && launch_env_get(base, vars[j].name)))
			continue;
		if (asprintf(&env[o++], "%s=%s", vars[j].name, vars[j].value) < 0) {
			env[--o] = NULL;
			goto fail;
		}
	}
	return env;
fail:
	launch_env_free(env);
	return NULL;
}
