/*
 * The sandbox, seen from the workload and from the summary: capability sets
 * read from /proc/self/status inside, calls that fail with the errno the
 * action names, and each denied call listed under sandbox.denied with its
 * count, process and ABI. Then real workloads: a build of this project as an
 * unprivileged user and a cargo workspace under --sandbox, and an HTTP server
 * under a server profile, answering on loopback.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>

TestSuite(sandbox, .init = h_setup, .fini = h_teardown, .timeout = 120);

#define PROCFS "--backend", "procfs"

/* The line of /proc/self/status the workload printed, e.g. "CapEff:\t0000...". */
static unsigned long long status_field(const struct h_proc *p, const char *field)
{
	const char *l = strstr(p->out.data, field);
	H_ASSERT(p, l, "no %s line in the workload's output", field);
	return strtoull(l + strlen(field) + 1, NULL, 16);
}

static void expect_caps(const struct h_proc *p, unsigned long long want)
{
	static const char *const fields[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		H_ASSERT(p, status_field(p, fields[i]) == want, "%s should be %#llx", fields[i], want);
	const char *nnp = strstr(p->out.data, "NoNewPrivs:");
	H_ASSERT(p, nnp && atoi(nnp + 11) == 1, "NoNewPrivs should be 1");
}

static struct json_object *summary(const struct h_proc *p, const char *path)
{
	struct json_object *o = json_object_from_file(path);
	H_ASSERT(p, o, "no summary at %s", path);
	struct json_object *sb;
	H_ASSERT(p, json_object_object_get_ex(o, "sandbox", &sb) && sb, "the summary has no sandbox object: %s",
		 json_object_to_json_string(o));
	return o;
}

/* sandbox.denied's entry for syscall (and arch), or NULL. */
static struct json_object *denied(struct json_object *o, const char *syscall, const char *arch)
{
	struct json_object *sb, *list;
	if (!json_object_object_get_ex(o, "sandbox", &sb) || !json_object_object_get_ex(sb, "denied", &list))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *e = json_object_array_get_idx(list, i), *v;
		if (json_object_object_get_ex(e, "syscall", &v) && !strcmp(json_object_get_string(v), syscall) &&
		    (!arch || (json_object_object_get_ex(e, "arch", &v) && !strcmp(json_object_get_string(v), arch))))
			return e;
	}
	return NULL;
}

static int64_t jint(struct json_object *e, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(e, key, &v) ? json_object_get_int64(v) : -1;
}

static const char *jstr(struct json_object *e, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(e, key, &v) && v ? json_object_get_string(v) : "";
}

Test(sandbox, cap_drop_all_empties_every_set)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--cap-drop", "all", "--", "cat", "/proc/self/status");
	H_ASSERT_EXIT(&p, 0);
	expect_caps(&p, 0);
	h_proc_free(&p);
}

Test(sandbox, cap_add_keeps_exactly_that_one)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--cap-drop", "all", "--cap-add", "cap_net_bind_service", "--",
	      "cat", "/proc/self/status");
	H_ASSERT_EXIT(&p, 0);
	expect_caps(&p, 1ull << 10);
	h_proc_free(&p);
}

Test(sandbox, user_gets_ids_groups_environment_and_ambient_caps)
{
	struct passwd *pw = getpwnam("nobody");
	if (!pw)
		cr_skip_test("no user 'nobody' in the user database");
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--user", "nobody", "--cap-add", "cap_net_bind_service", "--", "sh",
	      "-c", "echo uid=$(id -u) gid=$(id -g) groups=$(id -G); echo HOME=$HOME USER=$USER LOGNAME=$LOGNAME; "
		    "cat /proc/self/status");
	H_ASSERT_EXIT(&p, 0);
	char *want = h_strf("uid=%u gid=%u", (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	H_ASSERT(&p, strstr(p.out.data, want), "expected %s", want);
	char *env = h_strf("HOME=%s USER=nobody LOGNAME=nobody", pw->pw_dir);
	H_ASSERT(&p, strstr(p.out.data, env), "expected %s", env);
	/* A non-root user keeps a capability across exec only through the ambient set. */
	expect_caps(&p, 1ull << 10);
	h_proc_free(&p);
	free(want);
	free(env);

	/* USER:GROUP: the group is the primary one. */
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--user", "nobody:users", "--", "id", "-g");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, atoi(p.out.data) == 100, "gid of 'users' (100) expected");
	h_proc_free(&p);
}

/* The five sets and no_new_privs, option by option, as the workload reads them. */
Test(sandbox, each_option_sets_the_capability_sets_it_says)
{
	/* What supervise (root) holds: the baseline of an option that keeps all. */
	char buf[4096];
	cr_assert(h_read_file("/proc/self/status", buf, sizeof(buf)) > 0);
	unsigned long long full = strtoull(strstr(buf, "CapBnd:") + 8, NULL, 16);
	static const struct {
		const char *const args[6];
		bool use_full;
		unsigned long long caps;
		int nnp;
	} cases[] = {
		{ { "--no-new-privs" }, true, 0, 1 },
		{ { "--sandbox" }, false, 0, 1 },
		{ { "--sandbox", "--cap-add", "cap_net_raw" }, false, 1ull << 13, 1 },
		{ { "--cap-drop", "cap_sys_admin,cap_net_raw" }, true, (1ull << 21) | (1ull << 13), 1 },
		{ { "--user", "nobody" }, false, 0, 1 },
		{ { "--syscall-filter", "~@mount" }, true, 0, 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[16] = { "--cgroup-base", H.base, "--backend", "procfs" };
		size_t n = 4;
		for (size_t j = 0; cases[i].args[j]; j++)
			argv[n++] = cases[i].args[j];
		argv[n++] = "--";
		argv[n++] = "cat";
		argv[n++] = "/proc/self/status";
		struct h_proc p;
		h_startv(&p, NULL, argv);
		h_finish(&p, H_TIMEOUT_S);
		H_ASSERT_EXIT(&p, 0);
		/* --cap-drop LIST: the full set without LIST. */
		unsigned long long want = cases[i].use_full ? full & ~cases[i].caps : cases[i].caps;
		/* Untouched (--no-new-privs, --syscall-filter): root's full sets; the
		 * ambient set is only ours to fill when we set the capabilities. */
		H_ASSERT(&p, status_field(&p, "CapEff:") == want && status_field(&p, "CapPrm:") == want &&
				     status_field(&p, "CapBnd:") == want,
			 "case %zu (%s): CapEff/CapPrm/CapBnd should be %#llx", i, cases[i].args[0], want);
		if (!cases[i].use_full || !strcmp(cases[i].args[0], "--cap-drop"))
			H_ASSERT(&p, status_field(&p, "CapAmb:") == want, "case %zu: CapAmb should be %#llx", i, want);
		const char *nnp = strstr(p.out.data, "NoNewPrivs:");
		H_ASSERT(&p, nnp && atoi(nnp + 11) == cases[i].nnp, "case %zu: NoNewPrivs should be %d", i, cases[i].nnp);
		h_proc_free(&p);
	}
}

/* A file owned by someone else: a root workload without CAP_CHOWN cannot take it. */
Test(sandbox, root_without_caps_cannot_chown)
{
	char *file = h_strf("%s/theirs", H.scratch);
	cr_assert(h_write_file(file, "") == -ENOENT || true);
	int fd = open(file, O_CREAT | O_WRONLY, 0644);
	cr_assert(fd >= 0);
	close(fd);
	cr_assert(chown(file, 4242, 4242) == 0);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--cap-drop", "all", "--", h_helper("sandbox-calls"), "chown-file",
	      file);
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.out.data, "chown-file errno=EPERM"), "chown must fail with EPERM");
	h_proc_free(&p);
	/* The same without --cap-drop works: the test can fail. */
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--", h_helper("sandbox-calls"), "chown-file", file);
	H_ASSERT(&p, strstr(p.out.data, "chown-file ok"), "root with its capabilities chowns");
	h_proc_free(&p);
	free(file);
}

/* Neither a setuid-root binary nor file capabilities give anything back. */
Test(sandbox, no_regaining_through_setuid_or_file_caps)
{
	char *suid = h_strf("%s/cat-suid", H.scratch), *fcap = h_strf("%s/cat-fcap", H.scratch);
	char *cmd = h_strf("cp /bin/cat %s && chmod 4755 %s && cp /bin/cat %s && setcap cap_chown,cap_sys_admin+ep %s",
			   suid, suid, fcap, fcap);
	/* nobody must reach the binaries (mkdtemp made the directory 0700). */
	cr_assert(chmod(H.scratch, 0755) == 0);
	if (system(cmd) != 0)
		cr_skip_test("cannot make a setuid or file-capability binary in %s (setcap from libcap2-bin?)", H.scratch);
	struct h_proc p;
	/* Control: nobody without our sandbox (setpriv keeps the bounding set)
	 * does get the file capabilities: the checks below can fail. */
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
	      fcap, "/proc/self/status");
	H_ASSERT(&p, status_field(&p, "CapEff:") != 0, "control: file capabilities should apply without the sandbox");
	h_proc_free(&p);

	h_run(&p, "--cgroup-base", H.base, PROCFS, "--cap-drop", "all", "--", suid, "/proc/self/status");
	H_ASSERT_EXIT(&p, 0);
	expect_caps(&p, 0);
	h_proc_free(&p);
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--user", "nobody", "--cap-drop", "all", "--", suid,
	      "/proc/self/status");
	H_ASSERT_EXIT(&p, 0);
	expect_caps(&p, 0);
	H_ASSERT(&p, strstr(p.out.data, "Uid:\t65534\t65534\t65534"), "a setuid-root binary must not become root");
	h_proc_free(&p);
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--user", "nobody", "--cap-drop", "all", "--", fcap,
	      "/proc/self/status");
	/* The kernel refuses to exec a binary whose file capabilities (with the
	 * effective bit) the bounding set cannot grant: no capabilities either way. */
	if (!h_exited_with(&p, 0))
		H_ASSERT(&p, h_exited_with(&p, 126) && strstr(p.err.data, "Operation not permitted"),
			 "expected the exec to be refused (EPERM) or to run without capabilities");
	else
		expect_caps(&p, 0);
	h_proc_free(&p);
	free(suid);
	free(fcap);
	free(cmd);
}

Test(sandbox, privileged_calls_fail_with_eperm_and_are_listed)
{
	char *json = h_strf("%s/s.json", H.scratch);
	static const char *const calls[] = { "kexec_load", "init_module", "clock_settime", "unshare", "mount", "bpf" };
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--sandbox", "--summary-json", json, "--", h_helper("sandbox-calls"),
	      "pid", "kexec_load", "init_module", "clock_settime", "unshare", "mount", "bpf", "mount", "mount");
	H_ASSERT_EXIT(&p, 0);
	const char *l = strstr(p.out.data, "pid ");
	H_ASSERT(&p, l, "the helper did not say its pid");
	int pid = atoi(l + 4);
	struct json_object *o = summary(&p, json);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		char *line = h_strf("%s errno=EPERM", calls[i]);
		H_ASSERT(&p, strstr(p.out.data, line), "expected '%s'", line);
		struct json_object *e = denied(o, calls[i], "x86_64");
		H_ASSERT(&p, e, "%s not in sandbox.denied: %s", calls[i], json_object_to_json_string(o));
		H_ASSERT(&p, jint(e, "count") == (strcmp(calls[i], "mount") ? 1 : 3), "%s: count %lld", calls[i],
			 (long long)jint(e, "count"));
		H_ASSERT(&p, jint(e, "pid") == pid, "%s: pid %lld, the helper was %d", calls[i], (long long)jint(e, "pid"),
			 pid);
		H_ASSERT(&p, !strcmp(jstr(e, "comm"), "sandbox-calls"), "%s: comm '%s'", calls[i], jstr(e, "comm"));
		free(line);
	}
	/* The end summary names them too. */
	H_ASSERT(&p, strstr(p.err.data, "denied:") && strstr(p.err.data, "mount \u00d73 by sandbox-calls"),
		 "the end summary should name the denied calls");
	json_object_put(o);
	h_proc_free(&p);
	free(json);
}

Test(sandbox, real_tools_mount_and_bpftool)
{
	char *json = h_strf("%s/s.json", H.scratch), *dir = h_strf("%s/mnt", H.scratch);
	cr_assert(mkdir(dir, 0755) == 0);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--sandbox", "--summary-json", json, "--", "mount", "-t", "tmpfs",
	      "none", dir);
	H_ASSERT(&p, !h_exited_with(&p, 0), "mount -t tmpfs must fail under --sandbox");
	struct json_object *o = summary(&p, json);
	struct json_object *e = denied(o, "mount", NULL);
	H_ASSERT(&p, e && !strcmp(jstr(e, "comm"), "mount") && jint(e, "count") >= 1, "mount by mount not listed: %s",
		 json_object_to_json_string(o));
	json_object_put(o);
	h_proc_free(&p);

	if (system("command -v bpftool >/dev/null") != 0)
		cr_skip_test("bpftool is not installed");
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--sandbox", "--summary-json", json, "--", "bpftool", "prog", "list");
	H_ASSERT(&p, !h_exited_with(&p, 0), "bpftool prog list must fail under --sandbox");
	o = summary(&p, json);
	e = denied(o, "bpf", NULL);
	H_ASSERT(&p, e && !strcmp(jstr(e, "comm"), "bpftool"), "bpf by bpftool not listed: %s",
		 json_object_to_json_string(o));
	json_object_put(o);
	h_proc_free(&p);
	free(json);
	free(dir);
}

/* int 0x80 enters through the i386 table: the filter covers that ABI too. */
Test(sandbox, the_i386_abi_is_filtered)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--", h_helper("sandbox-calls"), "i386-getpid");
	if (!strstr(p.out.data, "i386-getpid ok"))
		cr_skip_test("this kernel has no i386 emulation (int 0x80 getpid: %s)", p.out.data);
	h_proc_free(&p);
	char *json = h_strf("%s/s.json", H.scratch);
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--sandbox", "--summary-json", json, "--", h_helper("sandbox-calls"),
	      "i386-getpid", "i386-unshare");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.out.data, "i386-getpid ok"), "an allowed i386 call still works");
	H_ASSERT(&p, strstr(p.out.data, "i386-unshare errno=EPERM"), "i386 unshare must fail with EPERM");
	struct json_object *o = summary(&p, json);
	H_ASSERT(&p, denied(o, "unshare", "i386"), "unshare (i386) not listed: %s", json_object_to_json_string(o));
	json_object_put(o);
	h_proc_free(&p);
	free(json);
}

Test(sandbox, actions_errno_kill_log)
{
	char *json = h_strf("%s/s.json", H.scratch);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--sandbox", "--syscall-action", "EACCES", "--", h_helper("sandbox-calls"),
	      "mount");
	H_ASSERT(&p, strstr(p.out.data, "mount errno=EACCES"), "--syscall-action EACCES");
	h_proc_free(&p);

	/* kill: the process dies at the call (SIGKILL: 137) and the call is listed. */
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--sandbox", "--syscall-action", "kill", "--summary-json", json, "--",
	      h_helper("sandbox-calls"), "mount", "unshare");
	H_ASSERT_EXIT(&p, 137);
	H_ASSERT(&p, !strstr(p.out.data, "unshare"), "nothing runs after the killing call");
	struct json_object *o = summary(&p, json);
	H_ASSERT(&p, denied(o, "mount", NULL), "mount not listed: %s", json_object_to_json_string(o));
	json_object_put(o);
	h_proc_free(&p);

	/* log: the call runs (uname prints the kernel's name) and is listed. */
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--syscall-filter", "~uname", "--syscall-action", "log",
	      "--summary-json", json, "--", "uname", "-s");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.out.data, "Linux"), "uname ran");
	o = summary(&p, json);
	H_ASSERT(&p, denied(o, "uname", NULL), "uname not listed under log: %s", json_object_to_json_string(o));
	json_object_put(o);
	h_proc_free(&p);
	free(json);
}

Test(sandbox, an_allow_list_runs_a_shell_and_denies_the_rest)
{
	char *json = h_strf("%s/s.json", H.scratch);
	struct h_proc p;
	char *script = h_strf("ls / >/dev/null && echo listed; %s mount", h_helper("sandbox-calls"));
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--syscall-filter", "@system-service", "--summary-json", json, "--",
	      "sh", "-c", script);
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.out.data, "listed") && strstr(p.out.data, "mount errno=EPERM"), "ls works, mount does not");
	struct json_object *o = summary(&p, json);
	H_ASSERT(&p, denied(o, "mount", NULL), "mount not listed: %s", json_object_to_json_string(o));
	json_object_put(o);
	h_proc_free(&p);
	free(script);
	free(json);
}

Test(sandbox, bad_input_exits_125_with_the_reason)
{
	static const struct {
		const char *opt, *arg, *says;
	} cases[] = {
		{ "--user", "no-such-user-sv", "no user 'no-such-user-sv'" },
		{ "--user", "nobody:no-such-group-sv", "no group 'no-such-group-sv'" },
		{ "--syscall-filter", "~frobnicate", "'frobnicate' is not a system call" },
		{ "--syscall-filter", "@nope", "'@nope' is not a system call group" },
		{ "--cap-drop", "cap_fly", "'cap_fly' is not a capability" },
		{ "--syscall-action", "sometimes", "is not an action" },
		{ "--profile", "no-such-profile-sv", "no profile 'no-such-profile-sv'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct h_proc p;
		h_run(&p, "--cgroup-base", H.base, PROCFS, cases[i].opt, cases[i].arg, "--", "true");
		H_ASSERT_EXIT(&p, 125);
		H_ASSERT(&p, strstr(p.err.data, cases[i].says), "the message should say \"%s\"", cases[i].says);
		h_proc_free(&p);
	}
}

Test(sandbox, profile_errors_and_print_profile)
{
	char *conf = h_strf("%s/p.conf", H.scratch);
	FILE *f = fopen(conf, "w");
	cr_assert(f);
	fputs("[Resources]\nMemoryMax=1GiB\nCPUQuota=50%\n[Sandbox]\nSandbox=yes\n", f);
	fclose(f);
	struct h_proc p;
	h_run(&p, "--profile", conf, "--cpus", "2", "--print-profile");
	H_ASSERT_EXIT(&p, 0);
	char *at = h_strf("%s:2", conf);
	H_ASSERT(&p, strstr(p.out.data, "MemoryMax=1GiB") && strstr(p.out.data, at), "MemoryMax from %s", at);
	H_ASSERT(&p, strstr(p.out.data, "CPUQuota=200%") && strstr(p.out.data, "command line (--cpus)"),
		 "--cpus overrides CPUQuota");
	h_proc_free(&p);

	/* The profile's sandbox applies to the run. */
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--profile", conf, "--", "cat", "/proc/self/status");
	H_ASSERT_EXIT(&p, 0);
	expect_caps(&p, 0);
	h_proc_free(&p);

	f = fopen(conf, "w");
	fputs("[Resources]\nMemoryMax=1GiB\nMemroyHigh=1GiB\n", f);
	fclose(f);
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--profile", conf, "--", "true");
	H_ASSERT_EXIT(&p, 125);
	char *msg = h_strf("%s:3: [Resources] MemroyHigh=: unknown key", conf);
	H_ASSERT(&p, strstr(p.err.data, msg), "expected '%s'", msg);
	h_proc_free(&p);

	/* Writable by others: refused with the fix. */
	chmod(conf, 0666);
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--profile", conf, "--", "true");
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, "writable by others"), "a group/world-writable profile is refused");
	h_proc_free(&p);
	free(conf);
	free(at);
	free(msg);
}

/* A small HTTP server from Debian under a server profile answers on loopback. */
Test(sandbox, a_server_profile_runs_an_http_server)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("no /usr/bin/python3 for http.server");
	/* A free port: bind to 0, read it, close. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	cr_assert(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(s, (struct sockaddr *)&a, &al) == 0);
	int port = ntohs(a.sin_port);
	close(s);
	char *portstr = h_strf("%d", port), *json = h_strf("%s/s.json", H.scratch);
	char profile[PATH_MAX];
	snprintf(profile, sizeof(profile), "%s/../../../configs/go-service.conf", H.helpers);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, PROCFS, "--profile", profile, "--name", "web", "--user", "nobody",
		"--summary-json", json, "--", "/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1",
		"--directory", "/", portstr);
	/* Ask until it answers (python starts in well under the deadline). */
	char *curl = h_strf("curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/ 2>/dev/null | grep -q 200", port);
	bool ok = false;
	for (double t0 = h_now(); !ok && h_now() - t0 < H_TIMEOUT_S && !h_poll_exit(&p); h_sleep_ms(100))
		ok = system(curl) == 0;
	kill(p.pid, SIGTERM);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT(&p, ok, "the server under the go-service profile did not answer 200 on 127.0.0.1:%d", port);
	struct json_object *o = summary(&p, json);
	struct json_object *sb;
	json_object_object_get_ex(o, "sandbox", &sb);
	H_ASSERT(&p, strstr(jstr(sb, "filter"), "@system-service") && !strcmp(jstr(sb, "user"), "nobody:nogroup") &&
			     !strcmp(jstr(sb, "caps"), "none"),
		 "the profile's sandbox is in the summary: %s", json_object_to_json_string(sb));
	json_object_put(o);
	h_proc_free(&p);
	free(curl);
	free(portstr);
	free(json);
}

/* Nothing a build needs is denied: this project built by an unprivileged
 * user under --sandbox, and a small cargo workspace. */
Test(sandbox, real_builds_succeed_under_the_sandbox, .timeout = 900)
{
	if (!getpwnam("nobody"))
		cr_skip_test("no user 'nobody' to build as");
	char *src = h_strf("%s/src", H.scratch), *json = h_strf("%s/s.json", H.scratch);
	char *cmd = h_strf("chmod 755 %s && mkdir %s && cd %s/../../.. && cp -r Makefile VERSION supervisor bpf include "
			   "lib examples %s/ && chown -R nobody %s",
			   H.scratch, src, H.helpers, src, src);
	cr_assert(system(cmd) == 0, "copying the tree failed: %s", cmd);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, PROCFS, "--sandbox", "--user", "nobody", "--summary-json", json, "--",
		"make", "-C", src, "-j2");
	h_finish(&p, 800);
	H_ASSERT_EXIT(&p, 0);
	char *bin = h_strf("%s/build/supervise", src);
	H_ASSERT(&p, access(bin, X_OK) == 0, "%s was not built", bin);
	struct json_object *o = summary(&p, json), *sb, *list;
	json_object_object_get_ex(o, "sandbox", &sb);
	json_object_object_get_ex(sb, "denied", &list);
	H_ASSERT(&p, json_object_array_length(list) == 0, "the build was denied calls: %s", json_object_to_json_string(sb));
	json_object_put(o);
	h_proc_free(&p);

	/* A cargo workspace of two crates, offline (no registry). */
	if (system("command -v cargo >/dev/null") != 0)
		cr_skip_test("cargo is not installed");
	/* As nobody when nobody can run this host's cargo (a rustup install
	 * under /root cannot be): then as root, still under --sandbox (without
	 * CAP_DAC_OVERRIDE root writes only where root owns the files). */
	bool as_nobody = system("su nobody -s /bin/sh -c 'cargo --version' >/dev/null 2>&1") == 0;
	char *ws = h_strf("%s/ws", H.scratch);
	free(cmd);
	cmd = h_strf("mkdir -p %s/app/src %s/util/src && cd %s && "
		     "printf '[workspace]\\nmembers = [\"app\", \"util\"]\\nresolver = \"2\"\\n' > Cargo.toml && "
		     "printf '[package]\\nname = \"util\"\\nversion = \"0.1.0\"\\nedition = \"2021\"\\n' > util/Cargo.toml && "
		     "printf 'pub fn twice(x: u32) -> u32 { x * 2 }\\n' > util/src/lib.rs && "
		     "printf '[package]\\nname = \"app\"\\nversion = \"0.1.0\"\\nedition = \"2021\"\\n[dependencies]\\n"
		     "util = { path = \"../util\" }\\n' > app/Cargo.toml && "
		     "printf 'fn main() { println!(\"{}\", util::twice(21)); }\\n' > app/src/main.rs%s",
		     ws, ws, ws, as_nobody ? " && chown -R nobody ." : "");
	cr_assert(system(cmd) == 0, "making the workspace failed");
	if (!as_nobody)
		fprintf(stderr, "test_sandbox: cargo is not runnable by nobody here (%s): the workspace builds as root "
			"under --sandbox\n", "a rustup toolchain under /root");
	char *manifest = h_strf("%s/Cargo.toml", ws), *target = h_strf("%s/target", ws);
	h_start(&p, "--cgroup-base", H.base, PROCFS, "--sandbox", "--jobs", "2", "--summary-json", json, as_nobody ? "--user" : "--name",
		as_nobody ? "nobody" : "cargo-ws", "--", "cargo", "build", "--offline", "--manifest-path", manifest,
		"--target-dir", target);
	h_finish(&p, 600);
	H_ASSERT_EXIT(&p, 0);
	free(bin);
	bin = h_strf("%s/debug/app", target);
	free(cmd);
	cmd = h_strf("%s | grep -qx 42", bin);
	H_ASSERT(&p, system(cmd) == 0, "the workspace's binary does not print 42");
	o = summary(&p, json);
	json_object_object_get_ex(o, "sandbox", &sb);
	json_object_object_get_ex(sb, "denied", &list);
	H_ASSERT(&p, json_object_array_length(list) == 0, "cargo was denied calls: %s", json_object_to_json_string(sb));
	json_object_put(o);
	h_proc_free(&p);
	free(src);
	free(json);
	free(cmd);
	free(bin);
	free(ws);
	free(manifest);
	free(target);
}

/* ptrace stays allowed within the workload: a debugger or strace under
 * --sandbox traces its own children. */
Test(sandbox, ptrace_within_the_workload_works)
{
	if (system("command -v strace >/dev/null") != 0)
		cr_skip_test("strace is not installed");
	char *json = h_strf("%s/s.json", H.scratch);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, PROCFS, "--sandbox", "--summary-json", json, "--", "strace", "-f", "-e",
	      "trace=getppid", h_helper("sandbox-calls"), "getppid", "1");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.err.data, "getppid()"), "strace saw the traced child's call");
	struct json_object *o = summary(&p, json);
	H_ASSERT(&p, !denied(o, "ptrace", NULL), "ptrace was denied: %s", json_object_to_json_string(o));
	json_object_put(o);
	h_proc_free(&p);
	free(json);
}
