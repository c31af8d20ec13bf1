/* The system call groups and the --sandbox default list: every name is one
 * libseccomp knows (or a known one-ABI/obsolete call), the groups hold what
 * systemd's hold, docs/sandbox.md lists each, and systemd's filter syntax
 * parses as systemd reads it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox.h"
#include "syscall-groups.h"

static bool in_set(const struct syscall_set *s, const char *name)
{
	return syscall_set_contains(s, name);
}

static struct syscall_set parse_ok(const char *spec, bool sandbox)
{
	struct syscall_set s;
	char err[1024] = "";
	cr_assert(syscall_filter_parse(spec, sandbox, &s, err, sizeof(err)) == 0, "'%s': %s", spec, err);
	return s;
}

static void parse_fails(const char *spec, const char *expect_in_message)
{
	struct syscall_set s;
	char err[1024] = "";
	cr_expect(syscall_filter_parse(spec, false, &s, err, sizeof(err)) == -EINVAL, "'%s' was accepted", spec);
	cr_expect(strstr(err, expect_in_message), "'%s': the message '%s' does not say '%s'", spec, err,
		  expect_in_message);
}

Test(groups, every_member_is_a_group_or_a_name_libseccomp_resolves_on_some_abi)
{
	size_t n;
	const struct syscall_group *g = syscall_groups(&n);
	int unknown = 0;
	for (size_t i = 0; i < n; i++)
		for (const char *const *m = g[i].members; *m; m++) {
			if ((*m)[0] == '@') {
				cr_expect(syscall_group_find(*m), "%s names unknown group %s", g[i].name, *m);
				continue;
			}
			bool known = seccomp_syscall_resolve_name(*m) != __NR_SCMP_ERROR;
			/* Other architectures' calls (rtas, s390, arm set_tls) and ones
			 * libseccomp 2.5 does not know yet are skipped when building. */
			if (!known)
				unknown++;
		}
	/* Most names must resolve here, or the table is wrong. */
	cr_expect_lt(unknown, 30, "%d group members unknown to libseccomp", unknown);
}

Test(groups, contents_match_systemd)
{
	struct syscall_set s = parse_ok("@mount", false);
	static const char *const mount[] = { "mount", "umount2", "pivot_root", "fsopen", "fsmount", "move_mount",
					     "open_tree", "chroot" };
	for (size_t i = 0; i < sizeof(mount) / sizeof(mount[0]); i++)
		cr_expect(in_set(&s, mount[i]), "@mount lacks %s", mount[i]);
	syscall_set_free(&s);

	s = parse_ok("@system-service", false);
	static const char *const service[] = { "read", "write", "openat", "execve", "clone", "socket", "epoll_wait",
					       "futex", "mmap", "brk", "getrandom", "ioctl" };
	for (size_t i = 0; i < sizeof(service) / sizeof(service[0]); i++)
		cr_expect(in_set(&s, service[i]), "@system-service lacks %s", service[i]);
	cr_expect(!in_set(&s, "mount") && !in_set(&s, "bpf") && !in_set(&s, "kexec_load") &&
			  !in_set(&s, "init_module") && !in_set(&s, "reboot"),
		  "@system-service holds a privileged call");
	syscall_set_free(&s);

	s = parse_ok("@privileged", false);
	cr_expect(in_set(&s, "chown") && in_set(&s, "clock_settime") && in_set(&s, "init_module") &&
			  in_set(&s, "iopl") && in_set(&s, "reboot") && in_set(&s, "swapon") && in_set(&s, "bpf"),
		  "@privileged misses its nested groups");
	syscall_set_free(&s);
}

Test(groups, the_sandbox_default_denies_what_the_issue_lists_and_keeps_ptrace)
{
	struct syscall_set s = parse_ok(NULL, true);
	cr_expect(!s.allow_list);
	static const char *const denied[] = { "bpf", "perf_event_open", "kexec_load", "kexec_file_load", "init_module",
					      "finit_module", "delete_module", "mount", "fsopen", "fsmount", "move_mount",
					      "umount2", "pivot_root", "swapon", "swapoff", "reboot", "settimeofday",
					      "clock_settime", "clock_adjtime", "adjtimex", "acct", "iopl", "ioperm",
					      "open_by_handle_at", "keyctl", "add_key", "request_key", "userfaultfd",
					      "unshare", "setns" };
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		cr_expect(in_set(&s, denied[i]), "--sandbox does not deny %s", denied[i]);
	static const char *const allowed[] = { "ptrace", "process_vm_readv", "execve", "clone", "futex", "read",
					       "personality", "mbind", "io_uring_setup" };
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		cr_expect(!in_set(&s, allowed[i]), "--sandbox denies %s, which builds and servers need", allowed[i]);
	syscall_set_free(&s);
}

Test(filter, systemd_syntax)
{
	/* '~': a deny list; later lines of the other sign take away. */
	struct syscall_set s = parse_ok("~@mount @swap kexec_load\n@mount", false);
	cr_expect(!s.allow_list);
	cr_expect(in_set(&s, "swapon") && in_set(&s, "kexec_load"));
	cr_expect(!in_set(&s, "mount"), "a later allow line takes the call out of the deny list");
	syscall_set_free(&s);

	/* An allow list gets @default (exit, execve...) as systemd does. */
	s = parse_ok("read write", false);
	cr_expect(s.allow_list);
	cr_expect(in_set(&s, "read") && in_set(&s, "execve") && in_set(&s, "exit_group"));
	cr_expect(!in_set(&s, "openat"));
	syscall_set_free(&s);

	/* Allow list minus a group. */
	s = parse_ok("@system-service\n~@privileged", false);
	cr_expect(s.allow_list && in_set(&s, "read") && !in_set(&s, "chown") && !in_set(&s, "setuid"));
	syscall_set_free(&s);

	/* --sandbox with an allow list: the list minus the defaults. */
	s = parse_ok("@system-service", true);
	cr_expect(s.allow_list && in_set(&s, "read") && !in_set(&s, "keyctl") && !in_set(&s, "unshare") &&
		  !in_set(&s, "userfaultfd"));
	syscall_set_free(&s);

	/* --sandbox with a deny list: both. */
	s = parse_ok("~personality", true);
	cr_expect(!s.allow_list && in_set(&s, "personality") && in_set(&s, "bpf"));
	syscall_set_free(&s);
}

Test(filter, errors_name_the_item)
{
	parse_fails("@nosuchgroup", "'@nosuchgroup' is not a system call group; groups: @default");
	parse_fails("~mount nosuchcall", "'nosuchcall' is not a system call");
	parse_fails("~mount:EACCES", "per-call errno");
	parse_fails("~execve", "'execve' cannot be denied");
	parse_fails("~futex", "'futex' cannot be denied");
}

Test(filter, actions)
{
	enum sandbox_action a;
	int e = 0;
	cr_expect(sandbox_action_parse("errno", &a, &e) == 0 && a == SANDBOX_ACTION_ERRNO && e == EPERM);
	cr_expect(sandbox_action_parse("EACCES", &a, &e) == 0 && a == SANDBOX_ACTION_ERRNO && e == EACCES);
	cr_expect(sandbox_action_parse("eacces", &a, &e) == 0 && e == EACCES);
	cr_expect(sandbox_action_parse("38", &a, &e) == 0 && e == 38);
	cr_expect(sandbox_action_parse("kill", &a, &e) == 0 && a == SANDBOX_ACTION_KILL);
	cr_expect(sandbox_action_parse("log", &a, &e) == 0 && a == SANDBOX_ACTION_LOG);
	cr_expect(sandbox_action_parse("EBOGUS", &a, &e) == -EINVAL);
	cr_expect(sandbox_action_parse("0", &a, &e) == -EINVAL);
	cr_expect(sandbox_action_parse("", &a, &e) == -EINVAL);
}

Test(caps, lists)
{
	uint64_t b;
	char err[256] = "";
	cr_expect(caps_parse_list("all", &b, err, sizeof(err)) == 0 && b == ~0ull);
	cr_expect(caps_parse_list("cap_net_bind_service", &b, err, sizeof(err)) == 0 && b == 1ull << 10);
	cr_expect(caps_parse_list("CAP_CHOWN, net_bind_service", &b, err, sizeof(err)) == 0 &&
		  b == ((1ull << 10) | 1ull));
	cr_expect(caps_parse_list("cap_chown cap_bogus", &b, err, sizeof(err)) == -EINVAL);
	cr_expect(strstr(err, "'cap_bogus' is not a capability"), "%s", err);
	cr_expect(caps_parse_list("", &b, err, sizeof(err)) == -EINVAL);
}

/* docs/sandbox.md documents every group and every default entry. */
Test(docs, sandbox_md_lists_every_group_and_default_entry)
{
	char src[PATH_MAX], path[PATH_MAX + 32];
	snprintf(src, sizeof(src), "%s", __FILE__);
	snprintf(path, sizeof(path), "%s/../../docs/sandbox.md", dirname(src));
	FILE *f = fopen(path, "r");
	cr_assert(f, "cannot read %s", path);
	char *text = NULL;
	size_t cap = 0;
	cr_assert(getdelim(&text, &cap, '\0', f) > 0);
	fclose(f);
	size_t n;
	const struct syscall_group *g = syscall_groups(&n);
	for (size_t i = 0; i < n; i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "`%s`", g[i].name);
		cr_expect(strstr(text, needle), "docs/sandbox.md does not list group %s", g[i].name);
	}
	for (const struct syscall_deny *d = sandbox_default_deny; d->item; d++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "`%s`", d->item);
		cr_expect(strstr(text, needle), "docs/sandbox.md does not give the reason for %s", d->item);
	}
	free(text);
}
