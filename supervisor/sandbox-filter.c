/* sandbox-filter: systemd's SystemCallFilter= syntax into a set of names,
 * and the set into a BPF program with libseccomp, for every ABI of the host.
 * No kernel involved: unit tests and the benchmark use it as it is. */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "log.h"
#include "sandbox.h"
#include "syscall-groups.h"
#include "util.h"

/* ---- the filter's text ------------------------------------------------------- */

static int set_add(struct syscall_set *s, const char *name)
{
	if (syscall_set_contains(s, name))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 128;
		char **n = realloc(s->names, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->names = n;
		s->cap = cap;
	}
	if (!(s->names[s->n] = strdup(name)))
		return -ENOMEM;
	s->n++;
	return 0;
}

static void set_remove(struct syscall_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->names[i], name)) {
			free(s->names[i]);
			s->names[i] = s->names[--s->n];
			return;
		}
}

bool syscall_set_contains(const struct syscall_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->names[i], name))
			return true;
	return false;
}

void syscall_set_free(struct syscall_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	*s = (struct syscall_set){};
}

struct edit {
	struct syscall_set *set;
	bool add;
	int r;
};

static void edit_one(const char *name, void *userdata)
{
	struct edit *e = userdata;
	if (e->add) {
		if (set_add(e->set, name) < 0)
			e->r = -ENOMEM;
	} else
		set_remove(e->set, name);
}

static int edit_item(struct syscall_set *s, const char *item, bool add)
{
	struct edit e = { .set = s, .add = add };
	int r = syscall_group_expand(item, edit_one, &e);
	return r < 0 ? r : e.r;
}

static void group_names(char *buf, size_t size)
{
	size_t n, o = 0;
	const struct syscall_group *g = syscall_groups(&n);
	buf[0] = '\0';
	for (size_t i = 0; i < n && o < size; i++)
		o += snprintf(buf + o, size - o, "%s%s", i ? " " : "", g[i].name);
}

/* One assignment: "~@mount @swap kexec_load" or "@system-service". */
static int parse_assignment(struct syscall_set *s, bool *mode_set, char *line, char *err, size_t errsize)
{
	char *p = line + strspn(line, " \t");
	bool invert = *p == '~';
	if (invert)
		p++;
	if (!*mode_set) {
		s->allow_list = !invert;
		*mode_set = true;
	}
	bool add = s->allow_list != invert;
	for (char *save, *w = strtok_r(p, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (strchr(w, ':')) {
			snprintf(err, errsize, "'%s': a per-call errno (NAME:ERRNO) is not supported; use "
				 "--syscall-action for all denied calls", w);
			return -EINVAL;
		}
		if (w[0] == '@' && !syscall_group_find(w)) {
			char groups[1024];
			group_names(groups, sizeof(groups));
			snprintf(err, errsize, "'%s' is not a system call group; groups: %s", w, groups);
			return -EINVAL;
		}
		if (w[0] != '@' && seccomp_syscall_resolve_name(w) == __NR_SCMP_ERROR) {
			snprintf(err, errsize, "'%s' is not a system call libseccomp knows (man 2 syscalls)", w);
			return -EINVAL;
		}
		if (edit_item(s, w, add) < 0) {
			snprintf(err, errsize, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

int syscall_filter_parse(const char *spec, bool sandbox_defaults, struct syscall_set *ret, char *err,
			 size_t errsize)
{
	struct syscall_set s = {};
	bool mode_set = false;
	int r = 0;
	_cleanup_free_ char *copy = strdup(spec ? spec : "");
	if (!copy)
		return -ENOMEM;
	for (char *save, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!line[strspn(line, " \t~")])
			continue;
		if ((r = parse_assignment(&s, &mode_set, line, err, errsize)) < 0)
			goto fail;
	}
	if (!mode_set)
		s.allow_list = false;
	/* --sandbox with an allow list: the list minus the defaults; with a
	 * deny list (or none): both denied. */
	for (const struct syscall_deny *d = sandbox_defaults ? sandbox_default_deny : NULL; d && d->item; d++)
		if ((r = edit_item(&s, d->item, !s.allow_list)) < 0)
			goto fail;
	/* An allow list always holds what every process needs (systemd does
	 * the same): exit, execve, futex... */
	if (s.allow_list && (r = edit_item(&s, "@default", true)) < 0)
		goto fail;
	/* The supervisor hands the workload over with execve and a futex wait
	 * after the filter is loaded (struct handover). */
	static const char *const needed[] = { "execve", "futex" };
	for (size_t i = 0; !s.allow_list && i < ELEMENTSOF(needed); i++)
		if (syscall_set_contains(&s, needed[i])) {
			snprintf(err, errsize, "'%s' cannot be denied: supervise needs it to start the workload "
				 "(and so does every program)", needed[i]);
			r = -EINVAL;
			goto fail;
		}
	*ret = s;
	return 0;
fail:
	syscall_set_free(&s);
	if (r == -ENOMEM)
		snprintf(err, errsize, "out of memory");
	return r;
}

int sandbox_action_parse(const char *s, enum sandbox_action *ret_action, int *ret_errno)
{
	uint64_t n;
	if (streq(s, "errno")) {
		*ret_action = SANDBOX_ACTION_ERRNO;
		*ret_errno = EPERM;
		return 0;
	}
	if (streq(s, "kill")) {
		*ret_action = SANDBOX_ACTION_KILL;
		return 0;
	}
	if (streq(s, "log")) {
		*ret_action = SANDBOX_ACTION_LOG;
		return 0;
	}
	if (parse_u64(s, &n) == 0 && n >= 1 && n <= 4095) {
		*ret_action = SANDBOX_ACTION_ERRNO;
		*ret_errno = (int)n;
		return 0;
	}
	for (int e = 1; e < 4096; e++) {
		const char *name = strerrorname_np(e);
		if (name && strcasecmp(name, s) == 0) {
			*ret_action = SANDBOX_ACTION_ERRNO;
			*ret_errno = e;
			return 0;
		}
	}
	return -EINVAL;
}

const char *sandbox_action_name(enum sandbox_action a)
{
	return a == SANDBOX_ACTION_KILL ? "kill" : a == SANDBOX_ACTION_LOG ? "log" : "errno";
}

/* ---- building the filter with libseccomp -------------------------------------- */

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

#define NS_FLAGS                                                                                                 \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* in a group, unknown to libseccomp: nothing to filter */
	int r = seccomp_rule_add(ctx, action, nr, 0);
	/* -EDOM/-EINVAL: no such call on one of the ABIs (socketcall on x86_64). */
	if (r < 0 && r != -EDOM && r != -EINVAL && r != -EEXIST)
		return log_errno(r, "sandbox: adding a seccomp rule for %s failed: %m", name);
	return 0;
}

/* clone(2) with namespace flags is what unshare(2) is; clone3 passes its
 * flags in memory a filter cannot read, so it gets ENOSYS and glibc falls
 * back to clone (Docker's default profile does the same). */
static int add_namespace_rules(scmp_filter_ctx ctx, const struct syscall_set *s, uint32_t deny)
{
	static const unsigned long flags[] = { CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
					       CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET };
	int nr_clone = seccomp_syscall_resolve_name("clone"), nr_clone3 = seccomp_syscall_resolve_name("clone3");
	int r;
	if (s->allow_list) {
		if (syscall_set_contains(s, "clone") &&
		    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr_clone, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0))) < 0)
			return log_errno(r, "sandbox: adding the clone rule failed: %m");
	} else if (!syscall_set_contains(s, "clone")) {
		for (size_t i = 0; i < ELEMENTSOF(flags); i++)
			if ((r = seccomp_rule_add(ctx, deny, nr_clone, 1,
						  SCMP_A0(SCMP_CMP_MASKED_EQ, flags[i], flags[i]))) < 0)
				return log_errno(r, "sandbox: adding the clone rule failed: %m");
	}
	if (nr_clone3 != __NR_SCMP_ERROR && (s->allow_list || !syscall_set_contains(s, "clone3")) &&
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr_clone3, 0)) < 0 && r != -EDOM)
		return log_errno(r, "sandbox: adding the clone3 rule failed: %m");
	return 0;
}

int sandbox_filter_build(const struct syscall_set *s, bool namespaces, uint32_t deny, struct sock_fprog *ret)
{
	_cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(s->allow_list ? deny : SCMP_ACT_ALLOW);
	if (!ctx)
		return log_errno(-ENOMEM, "sandbox: seccomp_init failed");
	/* An x86_64 process can still enter the kernel through the i386 (int
	 * 0x80) and x32 tables: a filter for x86_64 alone would not see those. */
	static const uint32_t archs[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32 };
	if (seccomp_arch_native() == SCMP_ARCH_X86_64)
		for (size_t i = 0; i < ELEMENTSOF(archs); i++) {
			int r = seccomp_arch_add(ctx, archs[i]);
			if (r < 0 && r != -EEXIST)
				return log_errno(r, "sandbox: adding an ABI to the filter failed: %m");
		}
	/* We set no_new_privs ourselves, in the child, after the caps. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (size_t i = 0; i < s->n; i++) {
		if (namespaces && (streq(s->names[i], "clone") || streq(s->names[i], "clone3")) && s->allow_list)
			continue;
		int r = add_rule(ctx, s->allow_list ? SCMP_ACT_ALLOW : deny, s->names[i]);
		if (r < 0)
			return r;
	}
	if (namespaces) {
		int r = add_namespace_rules(ctx, s, deny);
		if (r < 0)
			return r;
	}

	_cleanup_close_ int fd = memfd_create("supervise-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return log_errno(-errno, "sandbox: memfd_create failed: %m");
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return log_errno(r, "sandbox: exporting the seccomp filter failed: %m");
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return log_errno(-E2BIG, "sandbox: the seccomp filter is empty or too large (%lld bytes)",
				 (long long)st.st_size);
	struct sock_filter *insns = malloc(st.st_size);
	if (!insns || pread(fd, insns, st.st_size, 0) != st.st_size) {
		free(insns);
		return log_errno(-EIO, "sandbox: reading back the seccomp filter failed");
	}
	ret->filter = insns;
	ret->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	return 0;
}
