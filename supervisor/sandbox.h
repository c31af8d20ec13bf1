/* sandbox: what the workload may not do, and what it tried.
 *
 *   sandbox_prepare   (supervisor, before launch) parse the filter, build it
 *                     with libseccomp for every ABI of the host (x86_64, i386,
 *                     x32), export the BPF program; plan caps and --user
 *   sandbox_enter     (child, after clone3 into the leaf, before exec)
 *                     caps → no_new_privs → seccomp; async-signal-safe
 *   sandbox_attach    (supervisor, right after clone3) take the filter's
 *                     listener fd from the child and answer denied calls on
 *                     a thread
 *   sandbox_report    (supervisor, after the workload ended) what was denied
 *
 * Denied calls are reported through seccomp's user notification: the filter
 * returns SECCOMP_RET_USER_NOTIF for them, a supervisor thread counts the
 * call (syscall, process, comm) and answers with the errno (errno action),
 * kills the process (kill) or lets the call run (log). The allowed path is
 * the plain BPF filter either way (docs/performance.md measures it). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps.h"

struct config;
struct sandbox;

enum sandbox_action { SANDBOX_ACTION_ERRNO, SANDBOX_ACTION_KILL, SANDBOX_ACTION_LOG };

/* A parsed SystemCallFilter= / --syscall-filter: allowed or denied names. */
struct syscall_set {
	bool allow_list;
	char **names;
	size_t n, cap;
};

/* Pure (libseccomp resolves names, no kernel involved): parse systemd's
 * syntax. spec holds one assignment per line; the first decides allow or
 * deny ('~' prefix), later ones add to it or, with the other sign, take
 * away. sandbox_defaults: start from --sandbox's deny list. 0 or -EINVAL
 * with err naming the bad item. */
int syscall_filter_parse(const char *spec, bool sandbox_defaults, struct syscall_set *ret, char *err,
			 size_t errsize);
bool syscall_set_contains(const struct syscall_set *s, const char *name);
void syscall_set_free(struct syscall_set *s);

struct sock_fprog;
/* Build the filter for every ABI of the host (x86_64: also i386 and x32):
 * the set's calls allowed (allow list, the rest get deny) or denied with
 * deny (a libseccomp action: SCMP_ACT_NOTIFY, SCMP_ACT_ERRNO(e)...);
 * namespaces: clone with namespace flags denied too, clone3 ENOSYS. The BPF
 * program in ret->filter is malloc'ed. 0 or -errno (logged). */
int sandbox_filter_build(const struct syscall_set *s, bool namespaces, uint32_t deny, struct sock_fprog *ret);

/* Parse --syscall-action: errno, kill, log, or an errno name/number
 * (EPERM, EACCES, 1) meaning errno with that value. 0 or -EINVAL. */
int sandbox_action_parse(const char *s, enum sandbox_action *ret_action, int *ret_errno);
const char *sandbox_action_name(enum sandbox_action a);

/* NULL in *ret when nothing of the sandbox is asked for (and no profile
 * environment): the workload runs as before. 0 or -errno (logged). */
int sandbox_prepare(const struct config *c, struct sandbox **ret);
/* The workload's environment: envp (NULL: ours) with HOME, USER, LOGNAME,
 * SHELL for --user and the profile's [Environment]. Owned by sb. */
char *const *sandbox_env(struct sandbox *sb, char *const *envp);
/* Child side. On failure writes the reason to stderr and returns -1. */
int sandbox_enter(const struct sandbox *sb);
/* In the supervisor right after clone3, before waiting for the exec: take
 * the filter's listener from the child (pidfd_getfd) and start answering.
 * 0, or -errno (logged; the child has been killed). */
int sandbox_attach(struct sandbox *sb, int pidfd);

struct sandbox_denied {
	char syscall[48];
	char arch[8];        /* "x86_64", "i386", "x32" */
	uint64_t count;
	int pid;             /* the process (thread group) that called */
	char comm[16];
};

/* What the summary shows; strings point into sb. */
struct sandbox_report {
	bool active;
	const char *filter;  /* NULL: no syscall filter */
	const char *action;  /* "errno EPERM", "kill", "log" */
	const char *caps;
	const char *user;    /* NULL: not changed */
	const struct sandbox_denied *denied;
	size_t nr_denied;
	uint64_t denied_other;   /* calls past the table's size */
	bool reported;       /* false: the kernel lacks user notification */
};

/* Stop answering (the workload is gone), fill ret. */
void sandbox_report(struct sandbox *sb, struct sandbox_report *ret);
void sandbox_free(struct sandbox *sb);
