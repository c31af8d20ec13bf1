/* Profiles: each key lands in the configuration as its option would; the
 * command line wins; unknown keys, bad values, duplicate sections and keys,
 * overlong lines are errors that name file:line and the key. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profile.h"

static struct config base(void)
{
	return (struct config){ .jobserver_style = JS_AUTO };
}

/* Parse and apply text onto c; the profile stays alive (c points into it). */
static struct profile *load(const char *text, struct config *c)
{
	struct profile *p = NULL;
	char err[1024] = "";
	cr_assert(profile_parse(text, strlen(text), "t.conf", &p, err, sizeof(err)) == 0, "%s", err);
	cr_assert(profile_apply_to(p, c, err, sizeof(err)) == 0, "%s", err);
	return p;
}

/* The message for text, which must be rejected (parse or apply). */
static void rejects(const char *text, const char *expect)
{
	struct profile *p = NULL;
	struct config c = base();
	char err[1024] = "";
	int r = profile_parse(text, strlen(text), "t.conf", &p, err, sizeof(err));
	if (r == 0) {
		r = profile_apply_to(p, &c, err, sizeof(err));
		profile_free(p);
	}
	cr_expect(r == -EINVAL, "accepted:\n%s", text);
	cr_expect(strstr(err, expect), "message '%s' lacks '%s'", err, expect);
}

Test(profile, every_key)
{
	struct config c = base();
	struct profile *p = load("[Run]\nName=svc\n"
				 "[Resources]\nMemoryMax=2GiB\nMemoryHigh=1536MiB\nCPUQuota=150%\nTasksMax=512\n"
				 "[Sandbox]\nSandbox=yes\nSystemCallFilter=~@mount\nSystemCallFilter=~bpf\n"
				 "SystemCallErrorNumber=EACCES\nCapabilityBoundingSet=~cap_sys_admin cap_net_raw\n"
				 "AmbientCapabilities=cap_net_bind_service\nNoNewPrivileges=yes\nUser=nobody\n"
				 "Group=nogroup\n"
				 "[Jobs]\nJobs=2-6\nJobMemory=700MiB\nJobserverStyle=fifo\n"
				 "[Advice]\nMode=env\nRaiseMapCount=yes\n"
				 "[Environment]\nFOO=bar baz\nGOGC=50\n",
				 &c);
	cr_expect_str_eq(c.name, "svc");
	cr_expect(c.has_mem && c.mem.bytes == 2ull << 30);
	cr_expect(c.has_mem_high && c.mem_high.bytes == 1536ull << 20);
	cr_expect(c.cpus > 1.49 && c.cpus < 1.51, "CPUQuota=150%% is 1.5 CPUs, got %g", c.cpus);
	cr_expect_eq(c.pids, 512);
	cr_expect(c.sandbox);
	cr_expect_str_eq(c.syscall_filter, "~@mount\n~bpf");
	cr_expect(c.has_syscall_action && c.syscall_action == SANDBOX_ACTION_ERRNO && c.syscall_errno == EACCES);
	cr_expect_str_eq(c.cap_drop, "cap_sys_admin cap_net_raw");
	cr_expect_str_eq(c.cap_add, "cap_net_bind_service");
	cr_expect(c.no_new_privs);
	cr_expect_str_eq(c.user, "nobody:nogroup");
	cr_expect(c.has_jobs && c.jobs_min == 2 && c.jobs_max == 6 && !c.jobs_auto);
	cr_expect(c.has_job_mem && c.job_mem.bytes == 700ull << 20);
	cr_expect_eq(c.jobserver_style, JS_FIFO);
	cr_expect(c.has_advice && c.advice == ADVICE_ENV);
	cr_expect(c.raise_map_count);
	cr_assert(c.env_set);
	cr_expect_str_eq(c.env_set[0], "FOO=bar baz");
	cr_expect_str_eq(c.env_set[1], "GOGC=50");
	cr_expect_null(c.env_set[2]);
	profile_free(p);
}

Test(profile, bounding_set_forms)
{
	struct config c = base();
	struct profile *p = load("[Sandbox]\nCapabilityBoundingSet=\n", &c);
	cr_expect_str_eq(c.cap_drop, "all", "an empty bounding set keeps nothing");
	profile_free(p);
	c = base();
	p = load("[Sandbox]\nCapabilityBoundingSet=cap_chown\nAmbientCapabilities=cap_net_raw\n", &c);
	cr_expect_str_eq(c.cap_drop, "all", "a list keeps only the list");
	cr_expect(strstr(c.cap_add, "cap_chown") && strstr(c.cap_add, "cap_net_raw"), "kept: %s", c.cap_add);
	profile_free(p);
	c = base();
	p = load("[Sandbox]\nSystemCallAction=log\n", &c);
	cr_expect(c.syscall_action == SANDBOX_ACTION_LOG);
	profile_free(p);
}

Test(profile, the_command_line_wins)
{
	char *argv[] = { "supervise", "--mem", "1GiB", "--cap-add", "cap_chown", "--advice", "none", "--", "true", NULL };
	struct config c;
	cr_assert(cli_parse(9, argv, &c) == 0);
	struct profile *p = load("[Resources]\nMemoryMax=4GiB\nCPUQuota=200%\n"
				 "[Sandbox]\nCapabilityBoundingSet=\nAmbientCapabilities=cap_net_raw\n"
				 "[Advice]\nMode=all\n",
				 &c);
	cr_expect(c.mem.bytes == 1ull << 30, "--mem 1GiB must win over MemoryMax=4GiB");
	cr_expect(c.cpus > 1.99 && c.cpus < 2.01, "CPUQuota fills in what the command line left");
	cr_expect_null(c.cap_drop, "--cap-add overrides both capability keys");
	cr_expect_str_eq(c.cap_add, "cap_chown");
	cr_expect(c.advice == ADVICE_NONE);

	/* --print-profile says where each came from. */
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	profile_print(&c, f);
	fclose(f);
	cr_expect(strstr(out, "MemoryMax=1GiB") && strstr(out, "command line (--mem), over t.conf:2"), "%s", out);
	cr_expect(strstr(out, "CPUQuota=200%") && strstr(out, "t.conf:3"), "%s", out);
	cr_expect(strstr(out, "Mode=none") && strstr(out, "command line (--advice), over t.conf:8"), "%s", out);
	free(out);
	profile_free(p);
}

Test(profile, errors_name_file_line_and_key)
{
	rejects("[Resources]\nMemoryMax=2GiB\nMemoryMaxx=3GiB\n", "t.conf:3: [Resources] MemoryMaxx=: unknown key");
	rejects("[Resources]\nMemoryMax=lots\n", "t.conf:2: [Resources] MemoryMax=: 'lots' is not a size");
	rejects("[Resources]\nCPUQuota=1.5\n", "t.conf:2: [Resources] CPUQuota=: '1.5' is not a CPU quota");
	rejects("[Resources]\nTasksMax=-1\n", "t.conf:2: [Resources] TasksMax=");
	rejects("[Sandbox]\nSandbox=maybe\n", "t.conf:2: [Sandbox] Sandbox=: 'maybe' is not a boolean");
	rejects("[Sandbox]\nSystemCallFilter=~@nope\n", "t.conf:2: [Sandbox] SystemCallFilter=: '@nope' is not a system call group");
	rejects("[Sandbox]\nSystemCallFilter=~frobnicate\n", "'frobnicate' is not a system call");
	rejects("[Sandbox]\nSystemCallErrorNumber=EWHAT\n", "t.conf:2: [Sandbox] SystemCallErrorNumber=");
	rejects("[Sandbox]\nCapabilityBoundingSet=cap_fly\n", "t.conf:2: [Sandbox] CapabilityBoundingSet=: 'cap_fly'");
	rejects("[Sandbox]\nGroup=users\n", "Group= needs User=");
	rejects("[Sandbox]\nUser=a:b\n", "t.conf:2: [Sandbox] User=");
	rejects("[Jobs]\nJobs=many\n", "t.conf:2: [Jobs] Jobs=: 'many' is not a job count");
	rejects("[Advice]\nMode=loud\n", "t.conf:2: [Advice] Mode=: 'loud' is not a mode");
	rejects("[Environment]\n1BAD=x\n", "t.conf:2: [Environment] 1BAD=: '1BAD' is not a variable name");
	rejects("[Nope]\nA=b\n", "t.conf:2: [Nope] A=: unknown section [Nope]");
	rejects("MemoryMax=1G\n", "t.conf:1: [] MemoryMax=: a key before any [section]");
	rejects("[Resources]\nMemoryMax=1G\n[Run]\nName=x\n[Resources]\nCPUQuota=100%\n",
		"t.conf:6: [Resources] CPUQuota=: section [Resources] appears twice");
	rejects("[Resources]\nMemoryMax=1G\nMemoryMax=2G\n", "t.conf:3: [Resources] MemoryMax=: given twice (first at line 2)");
	rejects("[Resources]\nthis is not ini\n", "t.conf:2: not a [section]");
	rejects("[Resources]\n  MemoryMax=1G\n    continued\n", "t.conf:3");
	rejects("[Resources]\nMemoryMax=1G ; a comment\n", "t.conf:2: [Resources] MemoryMax=: '1G ; a comment'");
}

Test(profile, a_one_mib_line_is_an_error_not_a_crash)
{
	size_t n = 1 << 20;
	char *text = malloc(n + 64);
	strcpy(text, "[Environment]\nX=");
	size_t o = strlen(text);
	memset(text + o, 'a', n);
	strcpy(text + o + n, "\n");
	struct profile *p = NULL;
	char err[1024] = "";
	cr_expect(profile_parse(text, strlen(text), "t.conf", &p, err, sizeof(err)) == -EINVAL);
	cr_expect(strstr(err, "t.conf:2: the line is longer than"), "%s", err);
	free(text);

	const char nul[] = "[Run]\nName=a\0b\n";
	cr_expect(profile_parse(nul, sizeof(nul) - 1, "t.conf", &p, err, sizeof(err)) == -EINVAL);
	cr_expect(strstr(err, "t.conf:2: a NUL byte"), "%s", err);
}

Test(profile, comments_and_blank_lines)
{
	struct config c = base();
	struct profile *p = load("# comment\n; another\n\n[Resources]\n# why\nMemoryMax = 3GiB\r\n", &c);
	cr_expect(c.has_mem && c.mem.bytes == 3ull << 30);
	profile_free(p);
}
