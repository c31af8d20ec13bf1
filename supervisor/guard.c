#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "guard.h"
#include "log.h"
#include "rundir.h"
#include "util.h"

static __attribute__((noreturn)) void guard_main(int fd, const char *cgroup_path, pid_t pgid, const char *run_dir)
{
	prctl(PR_SET_NAME, "supervise-guard");
	/* Out of the supervisor's process group and session: `timeout -s KILL`
	 * and a terminal's hangup signal the whole group, which would take the
	 * guard down with the supervisor it is there to outlive. */
	setsid();
	/* A Ctrl-C or a SIGTERM sent to the process group is for the
	 * workload; the guard must still be there if the supervisor dies. */
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGTSTP, SIGPIPE };
	for (size_t i = 0; i < ELEMENTSOF(ignored); i++)
		signal(ignored[i], SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* Hold nothing else the supervisor had open (the workload's pipes). */
	if (dup2(fd, 3) < 0)
		_exit(1);
	/* The run and leaf locks stay: they say the run is not dead yet. */
	syscall(SYS_close_range, rundir_keep_locks(4), ~0U, 0);
	int devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		if (devnull > STDERR_FILENO && devnull != 3)
			close(devnull);
	}

	char byte = 0;
	ssize_t n;
	do
		n = read(3, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && byte == 'D')
		_exit(0);

	/* EOF without 'D': the supervisor died. */
	rundir_locks_ending();
	if (pgid > 0) {
		/* The group outlives its leader while members are left; the
		 * guard left it at setsid() above. */
		kill(-pgid, SIGKILL);
		rundir_remove(run_dir);
		log_warn("guard: the supervisor died; killed what was left of its process group %d", (int)pgid);
		_exit(0);
	}
	cgroup_kill_remove(cgroup_path, &(struct cgroup_teardown){ .timeout_ms = 5000 });
	rundir_remove(run_dir);
	log_warn("guard: the supervisor died; killed and removed %s", cgroup_path);
	_exit(0);
}

static int start(const char *cgroup_path, pid_t pgid, const char *run_dir, struct guard *ret)
{
	/* A socket, not a pipe: the supervisor's "done" is sent with
	 * MSG_NOSIGNAL, so a guard that died early cannot SIGPIPE it. */
	int p[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
		return log_errno(-errno, "guard: socketpair failed: %m");
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(p[0]);
		close(p[1]);
		return log_errno(r, "guard: fork failed: %m");
	}
	if (pid == 0) {
		close(p[1]);
		guard_main(p[0], cgroup_path, pgid, run_dir);
	}
	close(p[0]);
	*ret = (struct guard){ .pid = pid, .fd = p[1] };
	return 0;
}

int guard_start(const char *cgroup_path, const char *run_dir, struct guard *ret)
{
	return start(cgroup_path, 0, run_dir, ret);
}

int guard_start_group(pid_t pgid, const char *run_dir, struct guard *ret)
{
	return pgid > 0 ? start("", pgid, run_dir, ret) : -EINVAL;
}

void guard_release(struct guard *g)
{
	if (g->fd < 0)
		return;
	ssize_t n = send(g->fd, "D", 1, MSG_NOSIGNAL);
	(void)n;
	close(g->fd);
	g->fd = -1;
	/* The run loop may have reaped it already (pid 0). */
	while (g->pid > 0 && waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
}
