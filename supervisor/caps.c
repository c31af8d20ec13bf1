#include <ctype.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "caps.h"
#include "cli.h"
#include "log.h"
#include "util.h"

static void cap_freep(void *p)
{
	if (*(void **)p)
		cap_free(*(void **)p);
}

static unsigned last_cap(void)
{
	char buf[32];
	uint64_t v;
	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		if (parse_u64(buf, &v) == 0 && v < 64)
			return (unsigned)v;
	}
	return CAP_LAST_CAP;
}

static uint64_t all_caps(unsigned last)
{
	return last >= 63 ? ~0ull : (1ull << (last + 1)) - 1;
}

int caps_parse_list(const char *s, uint64_t *ret, char *err, size_t errsize)
{
	uint64_t bits = 0;
	char word[64];
	const char *p = s;
	bool any = false;
	while (*p) {
		size_t n = strcspn(p, ", \t");
		if (n == 0) {
			p++;
			continue;
		}
		if (n >= sizeof(word)) {
			snprintf(err, errsize, "'%.*s...' is not a capability", 20, p);
			return -EINVAL;
		}
		/* libcap wants "cap_chown"; people write CAP_CHOWN and chown too. */
		size_t o = 0;
		if (strncasecmp(p, "cap_", 4) != 0)
			o = snprintf(word, sizeof(word), "cap_");
		for (size_t i = 0; i < n && o + 1 < sizeof(word); i++)
			word[o++] = (char)tolower((unsigned char)p[i]);
		word[o] = '\0';
		cap_value_t v;
		if (streq(word, "cap_all"))
			bits = ~0ull;
		else if (cap_from_name(word, &v) == 0 && v >= 0 && v < 64)
			bits |= 1ull << v;
		else {
			snprintf(err, errsize, "'%.*s' is not a capability (capabilities(7) lists them: cap_chown, "
				 "cap_net_bind_service...; or 'all')", (int)n, p);
			return -EINVAL;
		}
		any = true;
		p += n;
	}
	if (!any) {
		snprintf(err, errsize, "the list is empty; give 'all' or capability names");
		return -EINVAL;
	}
	*ret = bits;
	return 0;
}

static bool have_cap(int cap)
{
	_cleanup_(cap_freep) cap_t cur = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;
	return cur && cap_get_flag(cur, cap, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET;
}

static int resolve_user(const char *spec, struct caps_plan *p)
{
	char name[256], group[256] = "";
	const char *colon = strchr(spec, ':');
	snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	if (colon)
		snprintf(group, sizeof(group), "%s", colon + 1);
	if (!name[0] || (colon && !group[0]))
		return log_errno(-EINVAL, "sandbox: --user '%s': give USER or USER:GROUP", spec);

	errno = 0;
	struct passwd *pw = getpwnam(name);
	uint64_t num;
	if (!pw && parse_u64(name, &num) == 0 && num < UINT32_MAX)
		pw = getpwuid((uid_t)num);
	if (!pw)
		return log_errno(errno ? -errno : -ESRCH, "sandbox: --user: no user '%s' in the user database "
				 "(getent passwd %s); create it or give an existing one", name, name);
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	if (group[0]) {
		struct group *gr = getgrnam(group);
		if (!gr && parse_u64(group, &num) == 0 && num < UINT32_MAX)
			gr = getgrgid((gid_t)num);
		if (!gr)
			return log_errno(-ESRCH, "sandbox: --user %s: no group '%s' in the group database "
					 "(getent group %s)", spec, group, group);
		p->gid = gr->gr_gid;
	}
	/* Supplementary groups as login(1) and runuser(1) give them. */
	int n = CAPS_MAX_GROUPS;
	if (getgrouplist(pw->pw_name, p->gid, p->groups, &n) < 0)
		return log_errno(-E2BIG, "sandbox: --user %s: more than %d supplementary groups", spec,
				 CAPS_MAX_GROUPS);
	p->ngroups = n;
	p->set_user = true;
	snprintf(p->name, sizeof(p->name), "%s", pw->pw_name);
	snprintf(p->home, sizeof(p->home), "%s", pw->pw_dir && pw->pw_dir[0] ? pw->pw_dir : "/");
	snprintf(p->shell, sizeof(p->shell), "%s", pw->pw_shell && pw->pw_shell[0] ? pw->pw_shell : "/bin/sh");
	struct group *gr = getgrgid(p->gid);
	if (gr)
		snprintf(p->user, sizeof(p->user), "%s:%s", pw->pw_name, gr->gr_name);
	else
		snprintf(p->user, sizeof(p->user), "%s:%u", pw->pw_name, (unsigned)p->gid);
	return 0;
}

int caps_plan(const struct config *c, struct caps_plan *ret)
{
	struct caps_plan p = { .last_cap = last_cap() };
	char err[256];
	int r;

	p.apply = c->sandbox || c->cap_drop || c->cap_add || c->user;
	if (!p.apply) {
		*ret = p;
		return 0;
	}
	if (c->user && (r = resolve_user(c->user, &p)) < 0)
		return r;
	if (c->user && !have_cap(CAP_SETUID))
		return log_errno(-EPERM, "sandbox: --user needs root (CAP_SETUID and CAP_SETGID); run supervise as root");

	uint64_t all = all_caps(p.last_cap), drop = 0, add = 0;
	if (c->cap_drop && caps_parse_list(c->cap_drop, &drop, err, sizeof(err)) < 0)
		return log_errno(-EINVAL, "sandbox: --cap-drop: %s", err);
	if (c->cap_add && caps_parse_list(c->cap_add, &add, err, sizeof(err)) < 0)
		return log_errno(-EINVAL, "sandbox: --cap-add: %s", err);
	/* The baseline is what the kernel would give: everything to root, nothing
	 * to another user. --sandbox starts from nothing. */
	uint64_t keep = c->sandbox || (p.set_user && p.uid != 0) ? 0 : all;
	keep = ((keep & ~drop) | add) & all;

	_cleanup_(cap_freep) cap_t cur = cap_get_proc();
	if (!cur)
		return log_errno(-errno, "sandbox: reading our own capabilities failed: %m");
	for (unsigned i = 0; i <= p.last_cap; i++) {
		cap_flag_value_t v = CAP_CLEAR;
		if ((add >> i) & 1 && (cap_get_flag(cur, (cap_value_t)i, CAP_PERMITTED, &v) < 0 || v != CAP_SET)) {
			_cleanup_(cap_freep) char *n = cap_to_name((cap_value_t)i);
			return log_errno(-EPERM, "sandbox: --cap-add %s: supervise does not hold it, so it cannot "
					 "give it; run supervise with it (as root)", n ? n : "?");
		}
		/* What we do not hold ourselves cannot be kept. */
		if (cap_get_flag(cur, (cap_value_t)i, CAP_PERMITTED, &v) == 0 && v != CAP_SET)
			keep &= ~(1ull << i);
	}
	p.keep = keep;
	p.can_setpcap = have_cap(CAP_SETPCAP);
	*ret = p;
	return 0;
}

/* The child. No allocation, no stdio: raw syscalls. */
int caps_enter(const struct caps_plan *p, const char **ret_step)
{
#define STEP(cond, what)                      \
	do {                                  \
		if (cond) {                   \
			*ret_step = what;     \
			return -errno;        \
		}                             \
	} while (0)
	if (!p->apply)
		return 0;
	if (p->can_setpcap) {
		for (unsigned i = 0; i <= p->last_cap; i++)
			if (!((p->keep >> i) & 1))
				STEP(prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL, "dropping from the bounding set");
		/* NOROOT: uid 0 gains nothing by exec; NO_SETUID_FIXUP: changing
		 * uid below keeps the sets we set (no KEEP_CAPS dance). Locked: the
		 * workload cannot undo them. */
		unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
				     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;
		STEP(prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0, "setting securebits");
	}
	if (p->set_user) {
		pid_t parent = getppid();
		STEP(syscall(SYS_setgroups, (size_t)p->ngroups, p->groups) < 0, "setgroups");
		STEP(syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0, "setresgid");
		STEP(syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0, "setresuid");
		/* The kernel clears the parent-death signal when the euid changes
		 * (commit_creds): set it again, and make sure the supervisor did
		 * not die in between. */
		errno = ESRCH;
		STEP(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent, "keeping the parent-death signal");
	}
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = {};
	for (int i = 0; i < 2; i++) {
		uint32_t w = (uint32_t)(p->keep >> (32 * i));
		data[i].effective = data[i].permitted = data[i].inheritable = w;
	}
	STEP(syscall(SYS_capset, &hdr, data) < 0, "capset");
	STEP(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0, "clearing the ambient set");
	for (unsigned i = 0; i <= p->last_cap; i++)
		if ((p->keep >> i) & 1)
			STEP(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0, "raising an ambient capability");
	return 0;
#undef STEP
}

const char *caps_describe(const struct caps_plan *p, char *buf, size_t size)
{
	if (!p->apply || !p->keep) {
		snprintf(buf, size, p->apply ? "none" : "inherited");
		return buf;
	}
	_cleanup_(cap_freep) cap_t c = cap_init();
	for (unsigned i = 0; c && i <= p->last_cap; i++)
		if ((p->keep >> i) & 1) {
			cap_value_t v = (cap_value_t)i;
			cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET);
			cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET);
			cap_set_flag(c, CAP_INHERITABLE, 1, &v, CAP_SET);
		}
	_cleanup_(cap_freep) char *t = c ? cap_to_text(c, NULL) : NULL;
	snprintf(buf, size, "%s", t ? t : "?");
	return buf;
}
