#include <fcntl.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "sandbox.h"
#include "syscall-groups.h"
#include "util.h"

#define SANDBOX_MAX_DENIED 64

/* The child hands its filter's listener fd over through this shared page:
 * it stores the fd number and waits (futex, always allowed) until the
 * supervisor has copied the fd with pidfd_getfd. Nothing else would do:
 * once the filter is loaded, any other call the child makes may itself be a
 * denied one, and only the listener can answer it. */
struct handover {
	_Atomic int32_t fd;      /* -1: not yet; -2: the child failed */
	_Atomic uint32_t go;     /* 1: the supervisor has the fd */
};

struct sandbox {
	bool active;             /* anything beyond the environment */
	struct caps_plan caps;
	bool no_new_privs;
	/* the filter, as BPF, ready for seccomp(2) in the child */
	bool has_filter;
	bool notify;             /* denied calls go to our listener */
	struct sock_fprog prog;
	enum sandbox_action action;
	int errno_value;
	struct handover *ho;
	/* supervisor side */
	int listener, stopfd;
	pthread_t thread;
	bool thread_running;
	bool thread_ran;         /* the thread owns (and closed) the listener */
	struct sandbox_denied denied[SANDBOX_MAX_DENIED];
	size_t nr_denied;
	uint64_t denied_other;
	/* environment and texts for the summary */
	char **extra_env;        /* NAME=VALUE, NULL-terminated, owned */
	char **envp;             /* built by sandbox_env */
	char *filter_text;
	char action_text[32];
	char caps_text[512];
};

/* ---- prepare ------------------------------------------------------------------ */

static int build_env(const struct config *c, struct sandbox *sb)
{
	size_t n = 0, o = 0;
	for (char *const *e = c->env_set; e && *e; e++)
		n++;
	sb->extra_env = calloc(n + 5, sizeof(char *));
	if (!sb->extra_env)
		return -ENOMEM;
	for (char *const *e = c->env_set; e && *e; e++)
		if (!(sb->extra_env[o++] = strdup(*e)))
			return -ENOMEM;
	if (sb->caps.set_user) {
		/* As runuser(1) without -l: the target's HOME, SHELL, USER, LOGNAME. */
		const struct caps_plan *p = &sb->caps;
		if (asprintf(&sb->extra_env[o++], "HOME=%s", p->home) < 0 ||
		    asprintf(&sb->extra_env[o++], "SHELL=%s", p->shell) < 0 ||
		    asprintf(&sb->extra_env[o++], "USER=%s", p->name) < 0 ||
		    asprintf(&sb->extra_env[o++], "LOGNAME=%s", p->name) < 0)
			return -ENOMEM;
	}
	return 0;
}

static const char *describe_filter(const struct config *c, char **ret)
{
	const char *spec = c->syscall_filter ? c->syscall_filter : "";
	if (asprintf(ret, "%s%s%s", c->sandbox ? "sandbox-default" : "", c->sandbox && *spec ? " + " : "", spec) < 0)
		*ret = NULL;
	/* one line in the summary */
	for (char *p = *ret; p && *p; p++)
		if (*p == '\n')
			*p = ';';
	return *ret;
}

int sandbox_prepare(const struct config *c, struct sandbox **ret)
{
	*ret = NULL;
	bool filter = c->sandbox || c->syscall_filter;
	bool active = filter || c->cap_drop || c->cap_add || c->user || c->no_new_privs;
	if (!active && !c->env_set)
		return 0;

	struct sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb)
		return log_errno(-ENOMEM, "sandbox: out of memory");
	sb->listener = sb->stopfd = -1;
	sb->active = active;
	int r;
	if ((r = build_env(c, sb)) < 0)
		goto fail;
	if (!active) {
		*ret = sb;
		return 0;
	}
	if ((r = caps_plan(c, &sb->caps)) < 0)
		goto fail;
	/* Rebuilt after caps_plan: --user adds HOME & co. */
	for (char **e = sb->extra_env; *e; e++)
		free(*e);
	free(sb->extra_env);
	if ((r = build_env(c, sb)) < 0)
		goto fail;
	caps_describe(&sb->caps, sb->caps_text, sizeof(sb->caps_text));
	/* Any sandbox option turns it on: a setuid binary must not undo them. */
	sb->no_new_privs = true;
	sb->action = c->syscall_action;
	sb->errno_value = c->syscall_errno ? c->syscall_errno : EPERM;
	if (sb->action == SANDBOX_ACTION_ERRNO)
		snprintf(sb->action_text, sizeof(sb->action_text), "errno %s",
			 strerrorname_np(sb->errno_value) ? strerrorname_np(sb->errno_value) : "?");
	else
		snprintf(sb->action_text, sizeof(sb->action_text), "%s", sandbox_action_name(sb->action));

	if (filter) {
		char err[1024];
		struct syscall_set set;
		if ((r = syscall_filter_parse(c->syscall_filter, c->sandbox, &set, err, sizeof(err))) < 0) {
			log_error("sandbox: --syscall-filter: %s", err);
			goto fail;
		}
		/* User notification (Linux 5.0, CONTINUE 5.5) is how denied calls get
		 * counted; without it the kernel acts alone and nothing is reported. */
		sb->notify = seccomp_api_get() >= 5;
		uint32_t deny = sb->notify                           ? SCMP_ACT_NOTIFY
				: sb->action == SANDBOX_ACTION_KILL ? SCMP_ACT_KILL_PROCESS
				: sb->action == SANDBOX_ACTION_LOG  ? SCMP_ACT_LOG
								    : SCMP_ACT_ERRNO(sb->errno_value);
		if (!sb->notify)
			log_warn("sandbox: this kernel or libseccomp has no seccomp user notification; denied "
				 "calls are %s but not reported", sb->action_text);
		r = sandbox_filter_build(&set, c->sandbox, deny, &sb->prog);
		syscall_set_free(&set);
		if (r < 0)
			goto fail;
		sb->has_filter = true;
		describe_filter(c, &sb->filter_text);
		log_info("sandbox: seccomp filter of %u instructions (%s), denied calls: %s", sb->prog.len,
			 sb->filter_text ? sb->filter_text : "", sb->action_text);
	}
	if (sb->notify) {
		sb->ho = mmap(NULL, sizeof(*sb->ho), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (sb->ho == MAP_FAILED) {
			sb->ho = NULL;
			r = log_errno(-errno, "sandbox: mmap failed: %m");
			goto fail;
		}
		atomic_store(&sb->ho->fd, -1);
	}
	*ret = sb;
	return 0;
fail:
	sandbox_free(sb);
	return r;
}

char *const *sandbox_env(struct sandbox *sb, char *const *envp)
{
	extern char **environ;
	if (!sb || !sb->extra_env || !sb->extra_env[0])
		return envp;
	if (!envp)
		envp = environ;
	size_t n = 0, x = 0;
	for (char *const *e = envp; *e; e++)
		n++;
	for (char **e = sb->extra_env; *e; e++)
		x++;
	free(sb->envp);
	sb->envp = calloc(n + x + 1, sizeof(char *));
	if (!sb->envp)
		return envp;
	size_t o = 0;
	for (char *const *e = envp; *e; e++) {
		size_t k = strcspn(*e, "=");
		bool replaced = false;
		for (char **s = sb->extra_env; *s && !replaced; s++)
			replaced = strncmp(*s, *e, k) == 0 && (*s)[k] == '=';
		if (!replaced)
			sb->envp[o++] = *e;
	}
	for (char **s = sb->extra_env; *s; s++)
		sb->envp[o++] = *s;
	return sb->envp;
}

/* ---- the child ---------------------------------------------------------------- */

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

static void child_fail(const struct sandbox *sb, const char *step, int err)
{
	char msg[160], num[16];
	int n = 0, e = err < 0 ? -err : err;
	do
		num[n++] = (char)('0' + e % 10);
	while ((e /= 10) && n < (int)sizeof(num));
	size_t o = 0;
	const char *parts[] = { "supervise: sandbox: ", step, " failed in the workload's process (errno ", NULL };
	for (size_t i = 0; parts[i]; i++)
		for (const char *p = parts[i]; *p && o < sizeof(msg) - 20; p++)
			msg[o++] = *p;
	while (n)
		msg[o++] = num[--n];
	msg[o++] = ')';
	msg[o++] = '\n';
	ssize_t w = write(STDERR_FILENO, msg, o);
	(void)w;
	if (sb->ho) {
		atomic_store(&sb->ho->fd, -2);
		futex((_Atomic uint32_t *)&sb->ho->fd, FUTEX_WAKE, 1, NULL);
	}
}

int sandbox_enter(const struct sandbox *sb)
{
	const char *step = NULL;
	if (!sb || !sb->active)
		return 0;
	int r = caps_enter(&sb->caps, &step);
	if (r < 0) {
		child_fail(sb, step, r);
		return -1;
	}
	if (sb->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		child_fail(sb, "setting no_new_privs", errno);
		return -1;
	}
	if (!sb->has_filter)
		return 0;
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, sb->notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0,
			  &sb->prog);
	if (fd < 0) {
		child_fail(sb, "loading the seccomp filter", errno);
		return -1;
	}
	if (!sb->notify)
		return 0;
	/* From here on: memory writes and futex only (struct handover). The
	 * listener fd is CLOEXEC: exec closes our copy. */
	atomic_store(&sb->ho->fd, (int32_t)fd);
	futex((_Atomic uint32_t *)&sb->ho->fd, FUTEX_WAKE, 1, NULL);
	while (!atomic_load(&sb->ho->go))
		futex(&sb->ho->go, FUTEX_WAIT, 0, NULL);
	return 0;
}

/* ---- the supervisor's side: the listener ---------------------------------------- */

static const char *arch_name(uint32_t arch)
{
	return arch == SCMP_ARCH_X86_64 ? "x86_64" : arch == SCMP_ARCH_X86 ? "i386" : arch == SCMP_ARCH_X32 ? "x32" : "other";
}

/* The caller's thread group and its comm, from /proc (the caller is blocked
 * in the call until we answer, so the pid is still its own; the id check
 * after reading confirms it). */
static void caller_of(pid_t tid, int *ret_tgid, char *comm, size_t size)
{
	char path[64], buf[1024];
	*ret_tgid = tid;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) > 0) {
		const char *t = strstr(buf, "\nTgid:");
		if (t)
			*ret_tgid = atoi(t + 6);
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", *ret_tgid);
	if (read_file_at(AT_FDCWD, path, comm, size) <= 0)
		snprintf(comm, size, "?");
	comm[strcspn(comm, "\n")] = '\0';
}

static void record(struct sandbox *sb, const struct seccomp_notif *req, int tgid, const char *comm)
{
	_cleanup_free_ char *name = seccomp_syscall_resolve_num_arch(req->data.arch, req->data.nr);
	char fallback[24];
	if (!name)
		snprintf(fallback, sizeof(fallback), "#%d", req->data.nr);
	const char *sys = name ? name : fallback, *arch = arch_name(req->data.arch);
	for (size_t i = 0; i < sb->nr_denied; i++) {
		struct sandbox_denied *d = &sb->denied[i];
		if (d->pid == tgid && streq(d->syscall, sys) && streq(d->arch, arch)) {
			d->count++;
			return;
		}
	}
	if (sb->nr_denied == SANDBOX_MAX_DENIED) {
		sb->denied_other++;
		return;
	}
	struct sandbox_denied *d = &sb->denied[sb->nr_denied++];
	snprintf(d->syscall, sizeof(d->syscall), "%s", sys);
	snprintf(d->arch, sizeof(d->arch), "%s", arch);
	snprintf(d->comm, sizeof(d->comm), "%s", comm);
	d->pid = tgid;
	d->count = 1;
	/* At -v: say it as it happens, for a workload that hangs or loops. */
	log_info("sandbox: denied %s%s%s%s by %s (pid %d)", sys, streq(arch, "x86_64") ? "" : " (", streq(arch, "x86_64") ? "" : arch,
		 streq(arch, "x86_64") ? "" : ")", comm, tgid);
}

/* Is the notification still pending (its caller alive and waiting)? */
static bool id_valid(int listener, uint64_t id)
{
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static void answer(struct sandbox *sb, struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	int tgid;
	char comm[32];
	caller_of((pid_t)req->pid, &tgid, comm, sizeof(comm));
	if (!id_valid(sb->listener, req->id))
		return; /* the caller died meanwhile: what we read may be another's */
	record(sb, req, tgid, comm);

	memset(resp, 0, sizeof(*resp));
	resp->id = req->id;
	switch (sb->action) {
	case SANDBOX_ACTION_LOG:
		/* Counted; the call runs as if there were no filter. */
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		break;
	case SANDBOX_ACTION_KILL: {
		int pfd = (int)syscall(SYS_pidfd_open, tgid, 0);
		if (pfd >= 0 && id_valid(sb->listener, req->id))
			syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		if (pfd >= 0)
			close(pfd);
		resp->error = -EPERM;
		break;
	}
	case SANDBOX_ACTION_ERRNO:
		resp->error = -sb->errno_value;
		break;
	}
	/* ENOENT: the caller was killed while we looked; nothing to answer. */
	if (ioctl(sb->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
		log_debug("sandbox: answering a denied call failed: %m");
}

static void *listener_main(void *userdata)
{
	struct sandbox *sb = userdata;
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	if (seccomp_notify_alloc(&req, &resp) < 0)
		return NULL;
	for (;;) {
		struct pollfd p[2] = { { .fd = sb->listener, .events = POLLIN }, { .fd = sb->stopfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			/* The ioctls themselves, not libseccomp 2.5's wrappers: those
			 * report every error as ECANCELED, and a caller killed between
			 * poll and receive (ENOENT) must not end the listener. The
			 * kernel wants req zeroed (EINVAL otherwise). */
			memset(req, 0, sizeof(*req));
			if (ioctl(sb->listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
				answer(sb, req, resp);
			else if (errno != ENOENT && errno != EINTR) {
				log_warn("sandbox: receiving a denied call failed (%m); denied calls from here on fail "
					 "with ENOSYS and are not counted");
				break;
			}
			continue;
		}
		/* POLLHUP: every process under the filter has exited. */
		if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			break;
	}
	seccomp_notify_free(req, resp);
	/* With the listener closed, any later denied call fails with ENOSYS
	 * instead of waiting for an answer that will not come. */
	closep(&sb->listener);
	sb->listener = -1;
	return NULL;
}

int sandbox_attach(struct sandbox *sb, int pidfd)
{
	if (!sb || !sb->notify)
		return 0;
	/* Wait for the child to load its filter (or to fail and say why). */
	int32_t fd;
	while ((fd = atomic_load(&sb->ho->fd)) == -1) {
		struct timespec ts = { 0, 50 * 1000000L };
		futex((_Atomic uint32_t *)&sb->ho->fd, FUTEX_WAIT, (uint32_t)-1, &ts);
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		if (atomic_load(&sb->ho->fd) == -1 && poll(&p, 1, 0) == 1)
			return 0; /* it exited before: its status says why */
	}
	if (fd == -2)
		return 0;
	sb->listener = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	int r = sb->listener < 0 ? -errno : 0;
	if (r == 0) {
		sb->stopfd = eventfd(0, EFD_CLOEXEC);
		if (sb->stopfd < 0)
			r = -errno;
		else if ((r = -pthread_create(&sb->thread, NULL, listener_main, sb)) == 0)
			sb->thread_running = sb->thread_ran = true;
	}
	if (r < 0) {
		/* Without a listener every denied call would hang: stop here. */
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		log_errno(r, "sandbox: taking over the filter's listener failed: %m");
	}
	atomic_store(&sb->ho->go, 1);
	futex(&sb->ho->go, FUTEX_WAKE, 1, NULL);
	return r;
}

void sandbox_report(struct sandbox *sb, struct sandbox_report *ret)
{
	*ret = (struct sandbox_report){};
	if (!sb || !sb->active)
		return;
	if (sb->thread_running) {
		uint64_t one = 1;
		ssize_t n = write(sb->stopfd, &one, sizeof(one));
		(void)n;
		pthread_join(sb->thread, NULL);
		sb->thread_running = false;
	}
	ret->active = true;
	ret->filter = sb->has_filter ? sb->filter_text : NULL;
	ret->action = sb->has_filter ? sb->action_text : NULL;
	ret->caps = sb->caps_text;
	ret->user = sb->caps.set_user ? sb->caps.user : NULL;
	ret->denied = sb->denied;
	ret->nr_denied = sb->nr_denied;
	ret->denied_other = sb->denied_other;
	ret->reported = sb->notify;
}

void sandbox_free(struct sandbox *sb)
{
	if (!sb)
		return;
	struct sandbox_report unused;
	sandbox_report(sb, &unused);
	if (!sb->thread_ran)
		closep(&sb->listener);
	closep(&sb->stopfd);
	if (sb->ho)
		munmap(sb->ho, sizeof(*sb->ho));
	free(sb->prog.filter);
	for (char **e = sb->extra_env; e && *e; e++)
		free(*e);
	free(sb->extra_env);
	free(sb->envp);
	free(sb->filter_text);
	free(sb);
}
