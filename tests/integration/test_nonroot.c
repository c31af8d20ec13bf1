/*
 * Full service without root: as an unprivileged user made for the test (and
 * removed after), on this host, where that user can write no cgroup and load
 * no BPF. supervise runs without a leaf: the procfs backend watches its
 * process tree, the exit status is the workload's, the jobserver works with
 * real make, and --mem is enforced by supervise itself (exit 137, the budget
 * named). Nothing is left behind: no process of that user, no run directory.
 */
#include <pwd.h>
#include <sched.h>

#include "harness.h"

/* Criterion runs no .fini after a skip: remove the test's subtree first. */
#define skip_test(...) do { h_teardown(); cr_skip_test(__VA_ARGS__); } while (0)

/* Each test sets up and tears down through nonroot_init/nonroot_fini (they call
 * h_setup/h_teardown): a suite init as well made a second runtime directory
 * that no teardown removed. */
TestSuite(nonroot, .timeout = 180);

/* Overshoot of a 1 GiB/s allocator past a supervise-enforced budget with the
 * procfs backend: p99 measured by bench/overshoot.sh, with room (docs/performance.md). */
#define PROCFS_OVERSHOOT_BOUND_MIB 160

static char user[32];
static uid_t uid;
static gid_t gid;
static char dir[PATH_MAX];      /* the user's own directory: binaries, files */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void drop_user(void)
{
	if (!user[0])
		return;
	/* The tests assert that no process of this user is left; userdel
	 * refuses a user that still has processes, and says so. */
	if (sh("userdel %s", user) != 0)
		fprintf(stderr, "test_nonroot: userdel %s failed; remove it by hand\n", user);
	h_rm_rf(dir);
	char rt[64];
	snprintf(rt, sizeof(rt), "/tmp/supervise-%u", (unsigned)uid);
	h_rm_rf(rt);
	user[0] = '\0';
}

static void nonroot_fini(void)
{
	drop_user();
	h_teardown();
}

static void nonroot_init(void)
{
	h_setup();
	if (geteuid() != 0)
		return;
	if (sh("command -v useradd >/dev/null && test -x /usr/bin/setpriv") != 0)
		return;
	snprintf(user, sizeof(user), "svnr%d", (int)getpid());
	if (sh("useradd --system --no-create-home --shell /usr/sbin/nologin %s", user) != 0) {
		user[0] = '\0';
		return;
	}
	struct passwd *pw = getpwnam(user);
	cr_assert(pw, "getpwnam %s", user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	/* The binaries where that user can reach them (the build tree may not be). */
	snprintf(dir, sizeof(dir), "/tmp/sv-nonroot-%d", (int)getpid());
	cr_assert(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
	cr_assert(sh("cp '%s' '%s' '%s/' && chown -R %u:%u '%s'", H.bin, h_helper("memhog"), dir, (unsigned)uid,
		     (unsigned)gid, dir) == 0);
}

static void need_user(void)
{
	if (geteuid() != 0)
		skip_test("needs root to create an unprivileged user");
	if (!user[0])
		skip_test("useradd or setpriv is missing");
}

/* supervise as the user, from its directory, with no XDG_RUNTIME_DIR and no
 * SUPERVISE_RUNTIME_DIR: the runtime root a plain user gets by default. */
#define run_as(p, ...)                                                                                         \
	do {                                                                                                   \
		char _u[32], _g[32], _bin[PATH_MAX];                                                           \
		snprintf(_u, sizeof(_u), "--reuid=%u", (unsigned)uid);                                        \
		snprintf(_g, sizeof(_g), "--regid=%u", (unsigned)gid);                                        \
		snprintf(_bin, sizeof(_bin), "%s/supervise", dir);                                             \
		h_startv((p), &(struct h_opts){ .raw = true },                                                 \
			 (const char *const[]){ "/usr/bin/setpriv", _u, _g, "--clear-groups", "env", "-u", "XDG_RUNTIME_DIR", \
						"-u", "SUPERVISE_RUNTIME_DIR", "-C", dir, _bin, __VA_ARGS__, NULL }); \
		h_finish((p), 60);                                                                             \
	} while (0)

static struct json_object *summary(const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct json_object *o = json_object_from_file(path);
	cr_assert(o, "cannot parse %s", path);
	return o;
}

static const char *jstr(struct json_object *o, const char *a, const char *b)
{
	struct json_object *x = o, *y = NULL;
	if (b && !json_object_object_get_ex(o, a, &x))
		return NULL;
	return json_object_object_get_ex(x, b ? b : a, &y) && y ? json_object_get_string(y) : NULL;
}

static void assert_nothing_left(struct h_proc *p)
{
	char cmd[128], rt[64];
	snprintf(cmd, sizeof(cmd), "pgrep -U %u >/dev/null", (unsigned)uid);
	H_ASSERT(p, sh("%s", cmd) != 0, "no process of uid %u is left", (unsigned)uid);
	snprintf(rt, sizeof(rt), "/tmp/supervise-%u", (unsigned)uid);
	H_ASSERT(p, !h_exists(rt) || h_count_entries(rt) == 0, "the runtime root %s is empty: %s", rt, h_list_dir(rt));
}

Test(nonroot, exit_status_and_one_line_saying_why, .init = nonroot_init, .fini = nonroot_fini)
{
	need_user();
	struct h_proc p;
	run_as(&p, "--summary-json", "s.json", "--", "sh", "-c", "exit 7");
	H_ASSERT_EXIT(&p, 7);
	H_ASSERT(&p, h_count(p.err.data, "cgroup: no leaf (") == 1, "one line says there is no leaf and why");
	H_ASSERT(&p, strstr(p.err.data, "not writable by uid"), "and why");
	struct json_object *o = summary("s.json");
	H_ASSERT(&p, jstr(o, "backend", NULL) && !strcmp(jstr(o, "backend", NULL), "procfs"), "backend procfs");
	struct json_object *cg = NULL;
	H_ASSERT(&p, json_object_object_get_ex(o, "cgroup", &cg) && cg == NULL, "cgroup null: there is no leaf");
	json_object_put(o);
	assert_nothing_left(&p);
	h_proc_free(&p);
}

Test(nonroot, mem_kills_a_1gib_allocator_at_the_budget, .init = nonroot_init, .fini = nonroot_fini)
{
	need_user();
	struct h_proc p;
	char hog[PATH_MAX];
	snprintf(hog, sizeof(hog), "%s/memhog", dir);
	/* Paced at 1 GiB/s, the allocator the overshoot bound was measured for
	 * (bench/overshoot.py); unpaced, memhog faults at whatever this host
	 * allows and one 100 ms procfs sample is a different figure. */
	run_as(&p, "--mem", "256MiB", "--summary-json", "s.json", "--", hog, "1024", "1", "8", "1024");
	H_ASSERT_EXIT(&p, 137);
	H_ASSERT(&p, strstr(p.err.data, "reached the budget 256MiB") && strstr(p.err.data, "largest process: memhog"),
		 "the message names the budget and the largest process");
	struct json_object *o = summary("s.json");
	H_ASSERT(&p, !strcmp(jstr(o, "memory", "enforced_by"), "supervise"), "enforced_by supervise");
	H_ASSERT(&p, !strcmp(jstr(o, "backend", NULL), "procfs"), "backend procfs");
	struct json_object *m = NULL, *pk = NULL;
	json_object_object_get_ex(o, "memory", &m);
	json_object_object_get_ex(m, "peak_rss_bytes", &pk);
	int64_t peak = json_object_get_int64(pk);
	H_ASSERT(&p, peak >= (256ll << 20) && peak < (256ll + PROCFS_OVERSHOOT_BOUND_MIB) << 20,
		 "peak %lld MiB: at the budget, within the measured overshoot (+%d MiB)", (long long)(peak >> 20),
		 PROCFS_OVERSHOOT_BOUND_MIB);
	json_object_put(o);
	assert_nothing_left(&p);
	h_proc_free(&p);
}

/* Real make takes supervise's jobserver: 2 jobs at once out of 6 targets. */
Test(nonroot, jobserver_with_real_make, .init = nonroot_init, .fini = nonroot_fini)
{
	need_user();
	if (sh("command -v make >/dev/null") != 0)
		skip_test("make is not installed");
	char mk[PATH_MAX];
	snprintf(mk, sizeof(mk), "%s/Makefile", dir);
	FILE *f = fopen(mk, "w");
	cr_assert(f);
	/* Each job records when it runs; the most at once must be 2. */
	fputs("all: t1 t2 t3 t4 t5 t6\n"
	      "t%:\n"
	      "\t@echo \"$(MAKEFLAGS)\" > flags; mkdir -p run; touch run/$@; ls run | wc -l >> seen; sleep 0.3; rm run/$@\n",
	      f);
	fclose(f);
	sh("chown %u:%u '%s'", (unsigned)uid, (unsigned)gid, mk);
	struct h_proc p;
	run_as(&p, "--jobs", "2", "--summary-json", "s.json", "--", "make");
	H_ASSERT_EXIT(&p, 0);
	char flags[512] = "", seen[256] = "";
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/flags", dir);
	h_read_file(path, flags, sizeof(flags));
	H_ASSERT(&p, strstr(flags, "--jobserver-auth="), "make saw the jobserver: %s", flags);
	snprintf(path, sizeof(path), "%s/seen", dir);
	h_read_file(path, seen, sizeof(seen));
	int most = 0, n;
	for (char *s = seen; sscanf(s, "%d", &n) == 1; s = strchr(s, '\n') + 1) {
		most = n > most ? n : most;
		if (!strchr(s, '\n'))
			break;
	}
	H_ASSERT(&p, most == 2, "at most 2 jobs at once, and 2 were reached (seen: %s)", seen);
	struct json_object *o = summary("s.json");
	H_ASSERT(&p, !strcmp(jstr(o, "jobs", "style"), "pipe"), "the pipe jobserver (make 4.3)");
	json_object_put(o);
	assert_nothing_left(&p);
	h_proc_free(&p);
}

Test(nonroot, check_names_the_fix, .init = nonroot_init, .fini = nonroot_fini)
{
	need_user();
	struct h_proc p;
	run_as(&p, "check");
	H_ASSERT_EXIT(&p, 1);
	H_ASSERT(&p, strstr(p.out.data, "no   create leaves"), "leaves are refused to this user");
	H_ASSERT(&p, strstr(p.out.data, "systemd-run --user --scope -p Delegate=yes"), "the fix: a delegated subtree");
	H_ASSERT(&p, strstr(p.out.data, "--cgroup-base"), "or --cgroup-base");
	H_ASSERT(&p, strstr(p.out.data, "CAP_BPF"), "and CAP_BPF for the bpf backend");
	h_proc_free(&p);
}

/* Without a leaf there is no cpu.pressure: --jobs auto moves its CPU cap on
 * the jobs' runnable tasks instead (cpucap.h). Jobs that sleep leave the CPUs
 * idle: more than CPUs jobs run at once, and -v says what moved the cap. */
Test(nonroot, jobs_auto_goes_beyond_the_cpus_without_psi, .init = nonroot_init, .fini = nonroot_fini)
{
	need_user();
	if (sh("command -v make >/dev/null") != 0)
		skip_test("make is not installed");
	cpu_set_t set;
	long cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
	char mk[PATH_MAX];
	snprintf(mk, sizeof(mk), "%s/Makefile", dir);
	FILE *f = fopen(mk, "w");
	cr_assert(f);
	fputs("all:", f);
	for (long i = 0; i < 4 * cpus + 4; i++)
		fprintf(f, " t%ld", i);
	fputs("\nt%:\n\t@sleep 1.5\n", f);
	fclose(f);
	sh("chown %u:%u '%s'", (unsigned)uid, (unsigned)gid, mk);
	struct h_proc p;
	run_as(&p, "-v", "--jobs", "auto", "--summary-json", "s.json", "--", "make");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.err.data, "no CPU pressure (PSI) here"), "-v says the cap follows runnable tasks");
	struct json_object *o = summary("s.json"), *j, *v;
	cr_assert(json_object_object_get_ex(o, "jobs", &j) && json_object_object_get_ex(j, "peak_concurrent", &v));
	int64_t most = json_object_get_int64(v);
	H_ASSERT(&p, most > cpus && most <= 4 * cpus,
		 "%lld jobs at most at once: sleeping jobs should take more than the %ld CPUs, up to 4x", (long long)most,
		 cpus);
	json_object_put(o);
	assert_nothing_left(&p);
	h_proc_free(&p);
}

/* The progress rule without a leaf: the workload's CPU time comes from its
 * process tree in /proc, not cpu.stat. b is paused beside a (pause point
 * 344 MiB of 600: the procfs backend's margin is 256 MiB), and stays paused
 * after a's allocation ends (nothing learned: b is sized 512 MiB); a then
 * waits for b on a fifo and every unpaused process waits: b must be
 * resumed, not left paused forever. */
Test(nonroot, progress_rule_without_a_leaf, .init = nonroot_init, .fini = nonroot_fini)
{
	need_user();
	if (sh("command -v make >/dev/null") != 0)
		skip_test("make is not installed");
	cr_assert(sh("cd '%s' && ln -s memhog cc1 && mkfifo fifo && chown -h %u:%u cc1 fifo", dir, (unsigned)uid,
		     (unsigned)gid) == 0);
	char mk[PATH_MAX];
	snprintf(mk, sizeof(mk), "%s/Makefile", dir);
	FILE *f = fopen(mk, "w");
	cr_assert(f);
	fprintf(f, "all: a b\na:\n\t./cc1 200 2 8; read x < fifo\nb:\n\tsleep 0.3; ./cc1 200 1 8; echo done > fifo\n");
	fclose(f);
	sh("chown %u:%u '%s'", (unsigned)uid, (unsigned)gid, mk);
	struct h_proc p;
	run_as(&p, "-v", "--mem", "600MiB", "--jobs", "2", "--summary-json", "s.json", "--", "make");
	H_ASSERT(&p, !p.timed_out, "the build hung with a job paused");
	H_ASSERT_EXIT(&p, 0);
	struct json_object *o = summary("s.json"), *j, *v;
	cr_assert(json_object_object_get_ex(o, "jobs", &j));
	H_ASSERT(&p, json_object_object_get_ex(j, "paused", &v) && json_object_get_int64(v) >= 1,
		 "b was never paused: the case did not happen");
	H_ASSERT(&p, json_object_object_get_ex(j, "progress_resumes", &v) && json_object_get_int64(v) >= 1,
		 "the progress rule did not resume b");
	H_ASSERT(&p, strstr(p.err.data, "the progress rule"), "the log says the progress rule fired");
	json_object_put(o);
	assert_nothing_left(&p);
	h_proc_free(&p);
}

/* Without a leaf there is no cgroup.kill: a supervisor SIGKILLed alone left
 * the workload's grandchildren running, and its paused jobs stopped, for
 * good (PDEATHSIG reaches make only). Run as a job of its own (setsid, as a
 * shell's job control does), its guard kills what is left of its process
 * group. */
Test(nonroot, sigkilled_supervisor_leaves_nothing_without_a_leaf, .init = nonroot_init, .fini = nonroot_fini)
{
	need_user();
	if (sh("command -v make >/dev/null && command -v setsid >/dev/null") != 0)
		skip_test("make or setsid is not installed");
	char mk[PATH_MAX];
	snprintf(mk, sizeof(mk), "%s/Makefile", dir);
	FILE *f = fopen(mk, "w");
	cr_assert(f);
	/* A job that stays paused (600 + 600 MiB do not fit 1 GiB) and one
	 * that sleeps: both are make's grandchildren through sh. */
	fputs("all: a b c\na:\n\t./memhog 500 30 8; true\nb:\n\tsleep 0.3; ./memhog 500 30 8; true\nc:\n\tsleep 30; true\n",
	      f);
	fclose(f);
	sh("chown %u:%u '%s'", (unsigned)uid, (unsigned)gid, mk);
	char u[32], g[32], bin[PATH_MAX];
	snprintf(u, sizeof(u), "--reuid=%u", (unsigned)uid);
	snprintf(g, sizeof(g), "--regid=%u", (unsigned)gid);
	snprintf(bin, sizeof(bin), "%s/supervise", dir);
	struct h_proc p;
	h_startv(&p, &(struct h_opts){ .raw = true },
		 (const char *const[]){ "/usr/bin/setpriv", u, g, "--clear-groups", "env", "-u", "XDG_RUNTIME_DIR", "-u",
					"SUPERVISE_RUNTIME_DIR", "-C", dir, "setsid", bin, "-v", "--mem", "1GiB", "--jobs",
					"3", "--", "make", NULL });
	/* Until the jobs run: a memhog and c's sleep (b may be paused before
	 * its own memhog starts), then a second more. */
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "pgrep -U %u -x memhog >/dev/null && pgrep -U %u -x sleep >/dev/null", (unsigned)uid,
		 (unsigned)uid);
	bool up = false;
	for (double end = h_now() + 20; !up && h_now() < end; h_sleep_ms(100))
		up = sh("%s", cmd) == 0;
	h_sleep_ms(1000);
	if (!up || h_poll_exit(&p)) {
		sh("ps -o pid,pgid,stat,args -U %u >&2", (unsigned)uid);
		kill(p.pid, SIGTERM);   /* it cleans up: nothing left for the user's removal */
		h_finish(&p, 15);
		H_ASSERT(&p, false, "the jobs did not start, or supervise ended early (processes listed above)");
	}
	/* setsid execs in place when it is not a group leader: p.pid is supervise. */
	kill(p.pid, SIGKILL);
	h_finish(&p, 10);
	snprintf(cmd, sizeof(cmd), "pgrep -U %u >/dev/null", (unsigned)uid);
	bool gone = false;
	for (double end = h_now() + 10; !gone && h_now() < end; h_sleep_ms(100))
		gone = sh("%s", cmd) != 0;
	if (!gone)
		sh("ps -o pid,stat,args -U %u >&2; ps -o pid= -U %u | xargs -r kill -KILL", (unsigned)uid, (unsigned)uid);
	H_ASSERT(&p, gone, "processes of uid %u outlived their SIGKILLed supervisor (listed above)", (unsigned)uid);
	char rt[64];
	snprintf(rt, sizeof(rt), "/tmp/supervise-%u", (unsigned)uid);
	bool empty = false;
	for (double end = h_now() + 5; !empty && h_now() < end; h_sleep_ms(100))
		empty = !h_exists(rt) || h_count_entries(rt) == 0;
	H_ASSERT(&p, empty, "the run directory is left in %s: %s", rt, h_list_dir(rt));
	h_proc_free(&p);
}
