/*
 * Reproductions of issue 9's faults, each as an attacker or an unlucky user
 * would meet it, asserting that it now does no harm: a workload filling the
 * jobserver pipe with junk, another user at the control socket, a stopped
 * supervisor, over-long values, a nearly full runtime filesystem, terminal
 * escapes in a process name, and bad command lines.
 */
#include <pwd.h>
#include <sys/mount.h>
#include <sys/statfs.h>

#include "harness.h"

/* An unprivileged user of this test's own (useradd in the test, userdel in
 * .fini): "svh<pid>". */
static char other_user[32];
static uid_t other_uid;

/* A small tmpfs of the test's own (item 6), unmounted in .fini. */
static char small_fs[PATH_MAX];

static void hostile_teardown(void)
{
	if (*small_fs) {
		umount2(small_fs, MNT_DETACH);
		*small_fs = '\0';
	}
	h_teardown();
	h_remove_pin_dir();
	if (*other_user) {
		char *cmd = h_strf("userdel %s 2>/dev/null", other_user);
		if (system(cmd) != 0)
			fprintf(stderr, "hostile: userdel %s failed\n", other_user);
		free(cmd);
		*other_user = '\0';
	}
}

static void hostile_setup(void)
{
	h_setup();
	h_private_pin_dir();
}

TestSuite(hostile, .init = hostile_setup, .fini = hostile_teardown, .timeout = 120);

static void make_other_user(void)
{
	snprintf(other_user, sizeof(other_user), "svh%d", (int)getpid());
	char *cmd = h_strf("userdel %s 2>/dev/null; useradd -M -N -s /usr/sbin/nologin %s", other_user, other_user);
	int r = system(cmd);
	free(cmd);
	if (r != 0) {
		*other_user = '\0';
		cr_skip_test("needs useradd to make an unprivileged user (exit %d)", r);
	}
	struct passwd *pw = getpwnam(other_user);
	cr_assert(pw, "getpwnam %s after useradd", other_user);
	other_uid = pw->pw_uid;
	/* The other user must reach the run directories to try anything. */
	cr_assert(chmod(H.runtime_dir, 0755) == 0, "chmod %s: %s", H.runtime_dir, strerror(errno));
}

/* supervise ARGS as the other user, with extra capabilities caps ("" or
 * "+dac_override": past every file mode, as a mode mistake would let them). */
#define as_other(p, caps, ...)                                                                                 \
	do {                                                                                                   \
		char *uid_ = h_strf("--reuid=%u", (unsigned)other_uid), *gid_ = h_strf("--regid=%u", (unsigned)other_uid); \
		char *inh_ = h_strf("--inh-caps=-all%s%s", *(caps) ? "," : "", caps);                         \
		char *amb_ = h_strf("--ambient-caps=-all%s%s", *(caps) ? "," : "", caps);                     \
		h_startv((p), &(struct h_opts){ .raw = true },                                                 \
			 (const char *const[]){ "/usr/bin/setpriv", uid_, gid_, "--clear-groups", inh_, amb_,  \
						H.bin, __VA_ARGS__, NULL });                                  \
		h_finish((p), H_TIMEOUT_S);                                                                    \
		free(uid_), free(gid_), free(inh_), free(amb_);                                                \
	} while (0)

/* The run's supervisor pid from its run.json ("pid": N). */
static pid_t run_pid(const char *name)
{
	char *path = h_strf("%s/%s/run.json", H.runtime_dir, name);
	struct json_object *o = json_object_from_file(path);
	free(path);
	struct json_object *v;
	pid_t pid = o && json_object_object_get_ex(o, "pid", &v) ? json_object_get_int(v) : 0;
	json_object_put(o);
	return pid;
}

/* Wait for the run NAME to have written its run.json. */
static void wait_run(struct h_proc *p, const char *name)
{
	char *path = h_strf("%s/%s/control", H.runtime_dir, name);
	H_ASSERT(p, h_wait_exists(path, 10), "the run '%s' never made %s", name, path);
	free(path);
}

/* End a run with SIGTERM (by pid): it must exit within 20 s, whatever it met. */
static void end_run(struct h_proc *p)
{
	kill(p->pid, SIGTERM);
	H_ASSERT(p, h_finish(p, 20), "supervise should end on SIGTERM (not hang)");
}

/* Wait (up to timeout_s) for supervise's stderr to say what. */
static bool wait_err(struct h_proc *p, const char *what, double timeout_s)
{
	for (double end = h_now() + timeout_s; !strstr(p->err.data, what); h_pump(p, 20))
		if (h_now() > end || (p->err_fd < 0 && h_poll_exit(p)))
			return false;
	return true;
}

/* stat NAME --json: budget_bytes (0 when null). */
static uint64_t stat_budget(const char *name)
{
	struct h_proc s;
	h_run(&s, "stat", name, "--json");
	H_ASSERT_EXIT(&s, 0);
	struct json_object *o = json_tokener_parse(s.out.data), *v;
	H_ASSERT(&s, o, "stat --json should print JSON");
	uint64_t b = json_object_object_get_ex(o, "budget_bytes", &v) && v ? json_object_get_uint64(v) : 0;
	json_object_put(o);
	h_proc_free(&s);
	return b;
}

/* Issue 9, item 2: a workload fills the jobserver pipe (or fifo), then
 * `set --jobs 8-8` makes supervise mint 7 tokens. A blocking write hung it
 * for good, deaf to SIGTERM. */
static void full_token_pipe(const char *style, const char *fill)
{
	struct h_proc p, s;
	char *sh = h_strf("%s echo started; sleep 60", fill);
	h_start(&p, "--cgroup-base", H.base, "--name", "jsfull", "--jobs", "1", "--jobserver-style", style, "--",
		"sh", "-c", sh);
	char *l = h_wait_line(&p, "started", 10);
	H_ASSERT(&p, l, "the workload should start");
	free(l);
	wait_run(&p, "jsfull");
	h_sleep_ms(300);   /* head fills the 64 KiB pipe and blocks */
	h_run(&s, "set", "jsfull", "--jobs", "8-8");
	H_ASSERT_EXIT(&s, 0);
	H_ASSERT(&s, strstr(s.out.data, "jobs 8-8"), "set should say what it applied");
	/* The loop's next turns move the target: minting happens there. */
	H_ASSERT(&p, wait_err(&p, "token pipe is full", 10), "supervise should say why no tokens were minted");
	/* Still alive and answering: a SIGTERM ends the run. */
	end_run(&p);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&s);
	h_proc_free(&p);
	free(sh);
}

Test(hostile, a_full_token_pipe_does_not_hang_supervise)
{
	full_token_pipe("pipe", "W=${MAKEFLAGS##*,}; head -c 70000 /dev/zero >/proc/self/fd/$W &");
}

Test(hostile, a_full_token_fifo_does_not_hang_supervise)
{
	full_token_pipe("fifo", "F=${MAKEFLAGS##*fifo:}; head -c 70000 /dev/zero >$F &");
}

/* Issue 9, item 3: under umask 000 the socket existed 0777 until a chmod, and
 * no peer check stood behind the mode. Another user must not change the run,
 * neither through the mode nor past it (CAP_DAC_OVERRIDE stands for any mode
 * mistake); the owner (root here) still can. */
Test(hostile, another_user_cannot_set_the_budget)
{
	make_other_user();
	struct h_proc p, s, o;
	mode_t old = umask(0);
	h_start(&p, "--cgroup-base", H.base, "--name", "ctl", "--mem", "1GiB", "--", "sleep", "60");
	umask(old);
	wait_run(&p, "ctl");
	struct stat st;
	char *sock = h_strf("%s/ctl/control", H.runtime_dir);
	cr_assert(lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode), "%s should be a socket", sock);
	H_ASSERT(&p, (st.st_mode & 077) == 0, "the socket should be closed to group and others under umask 000: %o",
		 (unsigned)(st.st_mode & 0777));
	char *run = h_strf("%s/ctl", H.runtime_dir);
	DIR *d = opendir(run);
	for (struct dirent *de; d && (de = readdir(d));)
		H_ASSERT(&p, strncmp(de->d_name, ".control-", 9), "the private bind directory %s should be gone",
			 de->d_name);
	if (d)
		closedir(d);

	as_other(&o, "", "set", "ctl", "--mem", "1");
	H_ASSERT(&o, !h_exited_with(&o, 0), "another user's set should fail");
	H_ASSERT(&o, strstr(o.err.data, "run as the user who started it, or root"), "and say who may");
	h_proc_free(&o);
	as_other(&o, "+dac_override", "set", "ctl", "--mem", "1");
	H_ASSERT(&o, h_exited_with(&o, 1), "past the mode, the peer check should refuse (set exits 1)");
	H_ASSERT(&o, strstr(o.err.data, "permission denied"), "and say so");
	H_ASSERT(&p, stat_budget("ctl") == 1ull << 30, "the budget should still be 1GiB");

	h_run(&s, "set", "ctl", "--mem", "2GiB");
	H_ASSERT_EXIT(&s, 0);
	H_ASSERT(&p, stat_budget("ctl") == 2ull << 30, "root's set should apply");
	end_run(&p);
	H_ASSERT(&p, strstr(p.err.data, "control: refused a request from uid"), "the supervisor should log the refusal");
	H_ASSERT_CLEAN(&p);
	h_proc_free(&o);
	h_proc_free(&s);
	h_proc_free(&p);
	free(sock);
	free(run);
}

/* Issue 9, item 16: `set` against a stopped supervisor timed out (125) and
 * was then applied after SIGCONT. A request whose client gave up is dropped. */
Test(hostile, set_against_a_stopped_supervisor_is_not_applied_later)
{
	struct h_proc p, s;
	h_start(&p, "--cgroup-base", H.base, "--name", "stopped", "--mem", "1GiB", "--", "sleep", "60");
	wait_run(&p, "stopped");
	pid_t sup = run_pid("stopped");
	H_ASSERT(&p, sup == p.pid, "run.json should name the supervisor (%d), says %d", (int)p.pid, (int)sup);
	kill(sup, SIGSTOP);
	h_run(&s, "set", "stopped", "--mem", "100MiB");
	kill(sup, SIGCONT);
	H_ASSERT_EXIT(&s, 125);
	/* The supervisor goes on and reads the queued request: it must drop it. */
	H_ASSERT(&p, wait_err(&p, "dropped a request whose client had already gone", 10), "the supervisor says so");
	H_ASSERT(&p, stat_budget("stopped") == 1ull << 30, "the budget should still be 1GiB after SIGCONT");
	H_ASSERT(&s, strstr(s.err.data, "nothing was applied"), "set should say the request is not applied");
	end_run(&p);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&s);
	h_proc_free(&p);
}

/* Issue 9, item 17: a 64-character --mem was cut to 63 and applied:
 * 61 zeros + "10M" became "00…010", 10 bytes. Refused whole now. */
Test(hostile, set_mem_too_long_is_refused_not_cut)
{
	struct h_proc p, s;
	h_start(&p, "--cgroup-base", H.base, "--name", "longmem", "--mem", "1GiB", "--", "sleep", "60");
	wait_run(&p, "longmem");
	char v[65];
	memset(v, '0', 61);
	memcpy(v + 61, "10M", 4);
	h_run(&s, "set", "longmem", "--mem", v);
	H_ASSERT(&s, !h_exited_with(&s, 0), "a value that does not fit the request should be refused");
	H_ASSERT(&s, strstr(s.err.data, "write it shorter"), "and say what to do");
	H_ASSERT(&p, stat_budget("longmem") == 1ull << 30, "the budget should still be 1GiB");
	end_run(&p);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&s);
	h_proc_free(&p);
}

/* Issue 9, item 4 (summary.c): the summary was written through a predictable
 * "PATH.tmp.PID" opened O_CREAT|O_TRUNC, following a symlink planted there by
 * whoever can write the directory: root overwrote a 0600 file of its own. */
Test(hostile, summary_json_is_not_written_through_a_planted_symlink)
{
	char *dir = h_strf("%s/shared", H.scratch);
	cr_assert(mkdir(dir, 01777) == 0 && chmod(dir, 01777) == 0, "mkdir %s: %s", dir, strerror(errno));
	char *victim = h_strf("%s/victim", H.scratch);
	int fd = open(victim, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0 && write(fd, "precious\n", 9) == 9, "cannot make %s", victim);
	close(fd);
	char *sum = h_strf("%s/s.json", dir);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--summary-json", sum, "--", "sleep", "1");
	char *bait = h_strf("%s.tmp.%d", sum, (int)p.pid);
	cr_assert(symlink(victim, bait) == 0, "symlink %s: %s", bait, strerror(errno));
	h_finish(&p, 20);
	H_ASSERT_EXIT(&p, 0);
	char buf[64];
	H_ASSERT(&p, h_read_file(victim, buf, sizeof(buf)) == 9 && !strcmp(buf, "precious\n"),
		 "the file behind the planted symlink should be untouched, holds: %s", buf);
	struct stat st;
	H_ASSERT(&p, lstat(sum, &st) == 0 && S_ISREG(st.st_mode), "%s should be a regular file", sum);
	struct json_object *o = json_object_from_file(sum);
	H_ASSERT(&p, o, "%s should hold the summary JSON", sum);
	json_object_put(o);
	unlink(bait);
	free(bait), free(sum), free(victim), free(dir);
	h_proc_free(&p);
}

/* Also: a --summary-json error was printed twice (at start and at the end). */
Test(hostile, summary_json_error_is_said_once)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--summary-json", "/nonexistent-dir/s.json", "--", "true");
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, h_count(p.err.data, "/nonexistent-dir/s.json") == 1, "the error should be said once");
	h_proc_free(&p);
	h_run(&p, "--cgroup-base", H.base, "--summary-json", H.scratch, "--", "true");
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, "is a directory; give the path of a file"), "a directory is refused at start");
	h_proc_free(&p);
}

/* Issue 9, item 18: a process named with terminal escapes had them printed
 * raw by `stat` and the end summary. */
Test(hostile, terminal_escapes_in_comm_are_escaped)
{
	struct h_proc p, s;
	/* comm is the basename of what was executed: a copy of sleep named so. */
	char *evil = h_strf("%s/\033[31mEVIL\007", H.scratch);
	char *cp = h_strf("cp /bin/sleep '%s'", evil);
	cr_assert(system(cp) == 0, "%s failed", cp);
	h_start(&p, "--cgroup-base", H.base, "--name", "esc", "--", "sh", "-c", "echo ready; exec \"$0\" 2", evil);
	char *l = h_wait_line(&p, "ready", 10);
	H_ASSERT(&p, l, "the workload should start");
	free(l);
	/* The exec right after "ready" names the process: ask until stat sees it. */
	for (double end = h_now() + 10;; h_sleep_ms(100)) {
		h_run(&s, "stat", "esc");
		if (strstr(s.out.data, "EVIL") || h_now() > end)
			break;
		h_proc_free(&s);
	}
	H_ASSERT_EXIT(&s, 0);
	H_ASSERT(&s, !strchr(s.out.data, '\033') && !strchr(s.out.data, '\007'), "stat should print no raw escape");
	H_ASSERT(&s, strstr(s.out.data, "\\e[31mEVIL\\x07"), "stat should show the name escaped");
	h_proc_free(&s);
	h_finish(&p, 20);
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, !strchr(p.err.data, '\033') && !strchr(p.err.data, '\007'), "the summary should print no raw escape");
	H_ASSERT(&p, strstr(p.err.data, "\\e[31mEVIL\\x07"), "the summary should show the name escaped");
	h_proc_free(&p);
	/* Log lines too: every message goes through the one escape. */
	char *missing = h_strf("%s/\033]0;pwned\007nope", H.scratch);
	h_run(&p, "--cgroup-base", H.base, "--", missing);
	H_ASSERT_EXIT(&p, 127);
	H_ASSERT(&p, !strchr(p.err.data, '\033') && strstr(p.err.data, "\\e]0;pwned\\x07nope"),
		 "the 'not found' message should show the name escaped");
	h_proc_free(&p);
	free(missing);
	free(evil), free(cp);
}

/* Issue 9, item 6: with the runtime directory's filesystem nearly full (a
 * small /run), ftruncate left the advice page sparse and the first store
 * into it raised SIGBUS: exit 135 before the workload started. Now the run
 * goes on without the page and says so. */
Test(hostile, a_full_runtime_filesystem_runs_without_the_advice_page)
{
	snprintf(small_fs, sizeof(small_fs), "%s/fs", H.scratch);
	cr_assert(mkdir(small_fs, 0755) == 0, "mkdir %s: %s", small_fs, strerror(errno));
	if (mount("none", small_fs, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755") < 0) {
		*small_fs = '\0';
		cr_skip_test("needs to mount a small tmpfs: %s", strerror(errno));
	}
	/* Leave one page: run.json takes it, the advice page finds none. */
	struct statfs sf;
	cr_assert(statfs(small_fs, &sf) == 0 && sf.f_bavail > 2, "statfs %s", small_fs);
	char *fill = h_strf("%s/fill", small_fs);
	int fd = open(fill, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0 && posix_fallocate(fd, 0, (off_t)(sf.f_bavail - 1) * sf.f_bsize) == 0, "filling %s", fill);
	close(fd);
	char *rt = h_strf("%s/rt", small_fs);
	setenv("SUPERVISE_RUNTIME_DIR", rt, 1);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--mem", "1GiB", "--", "sh", "-c",
	      "echo advice=${SUPERVISE_ADVICE-unset} gomemlimit=${GOMEMLIMIT-unset}");
	setenv("SUPERVISE_RUNTIME_DIR", H.runtime_dir, 1);
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.out.data, "advice=unset"), "the workload should run without the page");
	H_ASSERT(&p, !strstr(p.out.data, "gomemlimit=unset"), "the launch variables should still be set");
	H_ASSERT(&p, strstr(p.err.data, "No space left on device") && strstr(p.err.data, "no live page for this run"),
		 "supervise should say the page is missing and why");
	h_proc_free(&p);

	/* Also: with no page at all, run.json cannot be written: the message said
	 * "Input/output error" for ENOSPC. */
	fd = open(fill, O_WRONLY | O_APPEND);
	static const char page[4096];
	cr_assert(fd >= 0, "open %s", fill);
	while (write(fd, page, sizeof(page)) > 0)
		;
	close(fd);
	cr_assert(statfs(small_fs, &sf) == 0 && sf.f_bavail == 0, "%s should be full", small_fs);
	setenv("SUPERVISE_RUNTIME_DIR", rt, 1);
	h_run(&p, "--cgroup-base", H.base, "--", "true");
	setenv("SUPERVISE_RUNTIME_DIR", H.runtime_dir, 1);
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, "No space left on device") && !strstr(p.err.data, "Input/output error"),
		 "a full disk should be called so");
	umount2(small_fs, MNT_DETACH);
	*small_fs = '\0';
	free(rt), free(fill);
	h_proc_free(&p);
}

/* Issue 9, item 7: the workload gets a long JAVA_TOOL_OPTIONS whole, never
 * cut into a broken flag, and supervise says what it did not add. */
Test(hostile, a_long_java_tool_options_reaches_the_workload_whole)
{
	char java[237];
	memset(java, 'x', sizeof(java) - 1);
	memcpy(java, "-Dpad=", 6);
	java[sizeof(java) - 1] = '\0';
	setenv("JAVA_TOOL_OPTIONS", java, 1);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--cpus", "1", "--mem", "1GiB", "--", "sh", "-c",
	      "echo \"java=$JAVA_TOOL_OPTIONS.\"");
	unsetenv("JAVA_TOOL_OPTIONS");
	H_ASSERT_EXIT(&p, 0);
	char *want = h_strf("java=%s.\n", java);
	H_ASSERT(&p, strstr(p.out.data, want), "the user's value should arrive whole");
	H_ASSERT(&p, strstr(p.err.data, "JAVA_TOOL_OPTIONS is left as the user set it"), "and supervise says so");
	free(want);
	h_proc_free(&p);
}

/* Issue 9, "Also": command lines that were accepted and should not be, or
 * not without a word. Each is refused with 125 before anything runs. */
static void refused(const char *what, const char *const *args)
{
	struct h_proc p;
	h_startv(&p, NULL, args);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, what), "the message should say \"%s\"", what);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
}
#define REFUSED(what, ...) refused((what), (const char *const[]){ __VA_ARGS__, NULL })

Test(hostile, cpus_takes_plain_decimals_only)
{
	REFUSED("'1e3' is not a CPU count", "--cpus", "1e3", "--cgroup-base", H.base, "--", "true");
	REFUSED("'0x10' is not a CPU count", "--cpus", "0x10", "--cgroup-base", H.base, "--", "true");
	REFUSED("' 2' is not a CPU count", "--cpus", " 2", "--cgroup-base", H.base, "--", "true");
}

Test(hostile, pids_above_the_kernel_limit_is_refused)
{
	REFUSED("above the kernel's limit of 4194304", "--pids", "4194305", "--cgroup-base", H.base, "--", "true");
}

Test(hostile, a_name_starting_with_a_dash_is_refused_and_stat_says_how)
{
	REFUSED("not starting with a dot or a dash", "--name", "-x", "--cgroup-base", H.base, "--", "true");
	REFUSED("supervise stat -- -x", "stat", "-x");
	/* After '--' the name is a name: no such run, but no option error. */
	struct h_proc p;
	h_run(&p, "stat", "--", "-x");
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, "no run named '-x'"), "stat -- -x looks the run up");
	h_proc_free(&p);
}

Test(hostile, a_budget_below_a_page_is_warned)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--mem", "1", "--", "true");
	/* Warned, then enforced (137) where the kernel or supervise can, as asked. */
	H_ASSERT(&p, h_exited_with(&p, 0) || h_exited_with(&p, 137), "accepted with a warning");
	H_ASSERT(&p, strstr(p.err.data, "--mem 1 is 1 byte, below one page"), "supervise should warn");
	h_proc_free(&p);
}

/* Issue 9, "Also": another user's `stat` of a root run on the procfs backend
 * showed 0 processes and said nothing (/proc/PID/maps is closed to them). */
Test(hostile, another_users_stat_of_a_root_procfs_run_says_why_it_sees_nothing)
{
	make_other_user();
	struct h_proc p, o;
	h_start(&p, "--cgroup-base", H.base, "--backend", "procfs", "--name", "pf", "--", "sh", "-c",
		"echo up; exec sleep 60");
	char *l = h_wait_line(&p, "up", 10);
	H_ASSERT(&p, l, "the workload should start");
	free(l);
	wait_run(&p, "pf");
	as_other(&o, "", "stat", "pf");
	H_ASSERT_EXIT(&o, 0);
	H_ASSERT(&o, strstr(o.err.data, "has processes, but /proc shows uid") &&
			     strstr(o.err.data, "run stat as root or as the user who started the run"),
		 "stat should say why it shows no process");
	h_proc_free(&o);
	as_other(&o, "", "ls");
	H_ASSERT_EXIT(&o, 0);
	H_ASSERT(&o, strstr(o.out.data, "pf ") && !strstr(o.out.data, " 0B "), "ls should show '-', not 0B");
	h_proc_free(&o);
	end_run(&p);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
}
