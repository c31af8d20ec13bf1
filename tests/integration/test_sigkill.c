/*
 * supervise SIGKILLed: the workload (the whole leaf, grandchildren included) is
 * gone within 1 s, and `supervise gc` (or the next run) removes the leaf and the
 * run directory of the dead owner. gc leaves live runs alone.
 */
#include "harness.h"

TestSuite(sigkill, .init = h_setup, .fini = h_teardown, .timeout = 120);

/* The functional deadline of the contract, from the moment supervise's death is reaped. */
#define GONE_WITHIN_S 1.0

struct victim {
	struct h_proc p;
	int main_pid, grandchild_pid;
	char *leaf_rel, *leaf;
};

/* Start a workload with a background grandchild, wait until it is fully up. */
static void start_victim(struct victim *v, const char *script)
{
	memset(v, 0, sizeof(*v));
	/* Orphans come to us: we reap them, they do not linger as zombies of PID 1. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	h_start(&v->p, "--cgroup-base", H.base, "--", "sh", "-c", script);
	char *pids = h_wait_line(&v->p, "pids ", H_TIMEOUT_S);
	H_ASSERT(&v->p, pids, "the workload never reported its pids");
	H_ASSERT(&v->p, sscanf(pids, "pids %d %d", &v->main_pid, &v->grandchild_pid) == 2, "bad line %s", pids);
	char *cg = h_wait_line(&v->p, "0::", H_TIMEOUT_S);
	H_ASSERT(&v->p, cg, "the workload never printed its cgroup");
	v->leaf_rel = strdup(cg + 3);
	v->leaf = h_strf("%s%s", H.v2, v->leaf_rel);
	char *json = h_strf("%s/sh/run.json", H.runtime_dir);
	H_ASSERT(&v->p, h_wait_exists(json, 5), "%s missing while the run lives; runtime dir holds: %s", json,
		 h_list_dir(H.runtime_dir));
	H_ASSERT(&v->p, !h_pid_gone(v->grandchild_pid), "the grandchild %d is not running", v->grandchild_pid);
	free(json);
	free(cg);
	free(pids);
}

static const char *proc_state(int pid)
{
	static char buf[512];
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (h_read_file(path, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "(no /proc/%d)", pid);
	return buf;
}

/* SIGKILL supervise, then everything in the leaf must be gone within the deadline. */
static void kill_supervise_and_expect_gone(struct victim *v)
{
	H_ASSERT(&v->p, kill(v->p.pid, SIGKILL) == 0, "kill: %s", strerror(errno));
	for (double end = h_now() + 5; !h_poll_exit(&v->p) && h_now() < end;)
		h_sleep_ms(1);
	H_ASSERT(&v->p, v->p.reaped, "supervise %d did not die of SIGKILL", (int)v->p.pid);

	double deadline = v->p.reaped_at + GONE_WITHIN_S;
	bool main_gone, gc_gone, leaf_empty;
	for (;;) {
		h_reap_any();
		main_gone = h_pid_gone(v->main_pid);
		gc_gone = h_pid_gone(v->grandchild_pid);
		leaf_empty = h_cg_populated(v->leaf) != 1;
		if ((main_gone && gc_gone && leaf_empty) || h_now() > deadline)
			break;
		h_pump(&v->p, 5);
	}
	double took = h_now() - v->p.reaped_at;
	H_ASSERT(&v->p, main_gone, "workload main process still alive %.2f s after supervise was SIGKILLed: %s",
		 took, proc_state(v->main_pid));
	H_ASSERT(&v->p, gc_gone, "background grandchild still alive %.2f s after supervise was SIGKILLed: %s",
		 took, proc_state(v->grandchild_pid));
	H_ASSERT(&v->p, leaf_empty, "leaf %s still populated %.2f s after supervise was SIGKILLed: procs %s", v->leaf,
		 took, h_list_dir(v->leaf));
}

static void victim_free(struct victim *v)
{
	free(v->leaf_rel);
	free(v->leaf);
	h_proc_free(&v->p);
}

static const char *plain = "sleep 300 & echo \"pids $$ $!\"; cat /proc/self/cgroup; wait";

Test(sigkill, workload_gone_then_gc_cleans)
{
	struct victim v;
	start_victim(&v, plain);
	kill_supervise_and_expect_gone(&v);

	struct h_proc g;
	h_run(&g, "gc", "--cgroup-base", H.base);
	H_ASSERT_EXIT(&g, 0);
	H_ASSERT(&g, !h_exists(v.leaf), "gc left the dead owner's leaf %s", v.leaf);
	H_ASSERT_CLEAN(&g);
	h_proc_free(&g);
	victim_free(&v);
}

/* A workload that ignores every catchable signal still goes: the leaf is killed. */
Test(sigkill, signal_ignoring_workload_gone)
{
	struct victim v;
	start_victim(&v, "trap '' INT TERM HUP QUIT USR1 USR2 PIPE ALRM; "
			 "sleep 300 & echo \"pids $$ $!\"; cat /proc/self/cgroup; "
			 "while :; do wait; done");
	kill_supervise_and_expect_gone(&v);

	struct h_proc g;
	h_run(&g, "gc", "--cgroup-base", H.base);
	H_ASSERT_EXIT(&g, 0);
	H_ASSERT_CLEAN(&g);
	h_proc_free(&g);
	victim_free(&v);
}

/* The next run removes what the dead supervisor left. */
Test(sigkill, next_run_cleans)
{
	struct victim v;
	start_victim(&v, plain);
	kill_supervise_and_expect_gone(&v);

	struct h_proc n;
	h_run(&n, "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&n, 0);
	H_ASSERT(&n, !h_exists(v.leaf), "the next run left the dead owner's leaf %s", v.leaf);
	H_ASSERT_CLEAN(&n);
	h_proc_free(&n);
	victim_free(&v);
}

/*
 * The guard: the children of supervise that are not in the leaf. Returns how many
 * pids were found (at most max).
 */
static int find_guards(pid_t sv, const char *leaf_rel, int *ret, int max)
{
	int n = 0;
	DIR *d = opendir("/proc");
	cr_assert(d);
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		int pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		char path[64], buf[1024];
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (h_read_file(path, buf, sizeof(buf)) < 0)
			continue;
		char *rp = strrchr(buf, ')');
		int ppid = 0;
		if (!rp || sscanf(rp + 2, "%*c %d", &ppid) != 1 || ppid != sv)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
		if (h_read_file(path, buf, sizeof(buf)) < 0)
			continue;
		char *cg = h_v2_path_in(buf);
		if (cg && strcmp(cg, leaf_rel))
			ret[n++] = pid;
		free(cg);
	}
	closedir(d);
	return n;
}

/*
 * supervise and its guard both die (the guard stopped first, so it cannot clean
 * up): the leaf, its orphaned grandchild and the run directory stay behind with a
 * dead owner, and gc — or the next run — must kill and remove them.
 */
static void leave_stale_run(struct victim *v)
{
	int guards[8];
	start_victim(v, plain);
	int n = find_guards(v->p.pid, v->leaf_rel, guards, 8);
	/* The guard is ours: without it a SIGKILLed supervisor leaves its workload. */
	H_ASSERT(&v->p, n > 0, "no guard process found (a child of supervise %d outside %s)", (int)v->p.pid,
		 v->leaf_rel);
	for (int i = 0; i < n; i++)
		kill(guards[i], SIGSTOP);
	kill(v->p.pid, SIGKILL);
	for (double end = h_now() + 5; !h_poll_exit(&v->p) && h_now() < end;)
		h_sleep_ms(1);
	H_ASSERT(&v->p, v->p.reaped, "supervise %d did not die of SIGKILL", (int)v->p.pid);
	for (int i = 0; i < n; i++)
		kill(guards[i], SIGKILL);
	/* Orphaned guards and the main process (PDEATHSIG) come to us: reap them. */
	for (double end = h_now() + 1; h_now() < end; h_sleep_ms(10))
		h_reap_any();
}

Test(sigkill, gc_cleans_after_supervise_and_guard_died)
{
	struct victim v;
	leave_stale_run(&v);
	char *rundir = h_strf("%s/sh", H.runtime_dir);
	H_ASSERT(&v.p, h_exists(v.leaf) && h_exists(rundir) && !h_pid_gone(v.grandchild_pid),
		 "expected a stale run (leaf %s: %s, run dir: %s, grandchild %d: %s)", v.leaf,
		 h_exists(v.leaf) ? "present" : "absent", h_exists(rundir) ? "present" : "absent",
		 v.grandchild_pid, proc_state(v.grandchild_pid));

	struct h_proc g;
	h_run(&g, "gc", "--cgroup-base", H.base);
	H_ASSERT_EXIT(&g, 0);
	for (double end = h_now() + 1; !h_pid_gone(v.grandchild_pid) && h_now() < end; h_sleep_ms(10))
		h_reap_any();
	H_ASSERT(&g, h_pid_gone(v.grandchild_pid), "gc left the stale leaf's process %d alive: %s",
		 v.grandchild_pid, proc_state(v.grandchild_pid));
	H_ASSERT(&g, !h_exists(v.leaf), "gc left the stale leaf %s", v.leaf);
	H_ASSERT_CLEAN(&g);
	free(rundir);
	h_proc_free(&g);
	victim_free(&v);
}

Test(sigkill, next_run_cleans_after_supervise_and_guard_died)
{
	struct victim v;
	leave_stale_run(&v);
	H_ASSERT(&v.p, h_exists(v.leaf), "expected the stale leaf %s to be there", v.leaf);

	struct h_proc n;
	h_run(&n, "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&n, 0);
	for (double end = h_now() + 1; !h_pid_gone(v.grandchild_pid) && h_now() < end; h_sleep_ms(10))
		h_reap_any();
	H_ASSERT(&n, h_pid_gone(v.grandchild_pid), "the next run left the stale leaf's process %d alive: %s",
		 v.grandchild_pid, proc_state(v.grandchild_pid));
	H_ASSERT(&n, !h_exists(v.leaf), "the next run left the stale leaf %s", v.leaf);
	H_ASSERT_CLEAN(&n);
	h_proc_free(&n);
	victim_free(&v);
}

/* gc must not touch a live run: its workload, leaf and run directory stay. */
Test(sigkill, gc_spares_live_runs)
{
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--", h_helper("sigecho"));
	char *ready = h_wait_line(&p, "ready ", H_TIMEOUT_S);
	H_ASSERT(&p, ready, "the workload never printed its ready line");
	int wpid = 0;
	char leaf_rel[PATH_MAX] = "";
	sscanf(ready, "ready %d %4095s", &wpid, leaf_rel);
	char *leaf = h_strf("%s%s", H.v2, leaf_rel);
	char *json = h_strf("%s/sigecho/run.json", H.runtime_dir);
	H_ASSERT(&p, h_wait_exists(json, 5), "%s missing while the run lives", json);

	struct h_proc g;
	h_run(&g, "gc", "--cgroup-base", H.base);
	H_ASSERT_EXIT(&g, 0);
	H_ASSERT(&g, !h_pid_gone(wpid), "gc killed the live workload %d", wpid);
	H_ASSERT(&g, h_exists(leaf), "gc removed the live leaf %s", leaf);
	H_ASSERT(&g, h_exists(json), "gc removed the live run's %s", json);
	H_ASSERT(&p, !h_poll_exit(&p), "the live supervise ended after gc");

	kill(p.pid, SIGTERM);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 100 + SIGTERM);
	H_ASSERT_CLEAN(&p);
	free(json);
	free(leaf);
	free(ready);
	h_proc_free(&g);
	h_proc_free(&p);
}

/* A supervisor with another runtime directory (another user, a concurrent
 * test run) sees no run directory for our leaf: its gc must still recognise
 * the leaf's live owner and leave the workload alone. */
Test(sigkill, gc_from_another_runtime_dir_spares_live_runs)
{
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--", h_helper("sigecho"));
	char *ready = h_wait_line(&p, "ready ", H_TIMEOUT_S);
	H_ASSERT(&p, ready, "the workload never printed its ready line");
	int wpid = 0;
	char leaf_rel[PATH_MAX] = "";
	sscanf(ready, "ready %d %4095s", &wpid, leaf_rel);
	char *leaf = h_strf("%s%s", H.v2, leaf_rel);

	char other[] = "/tmp/sv-test-other-rt-XXXXXX";
	H_ASSERT(&p, mkdtemp(other), "mkdtemp: %s", strerror(errno));
	/* Another installation too: a copy of the binary, as a second build
	 * or a packaged supervise would be. */
	char *copy = h_strf("%s/supervise", other);
	char *cp = h_strf("cp '%s' '%s'", H.bin, copy);
	H_ASSERT(&p, system(cp) == 0, "%s failed", cp);
	char saved[PATH_MAX];
	snprintf(saved, sizeof(saved), "%s", H.bin);
	snprintf(H.bin, sizeof(H.bin), "%s", copy);
	setenv("SUPERVISE_RUNTIME_DIR", other, 1);
	struct h_proc g;
	h_run(&g, "gc", "--cgroup-base", H.base);
	setenv("SUPERVISE_RUNTIME_DIR", H.runtime_dir, 1);
	snprintf(H.bin, sizeof(H.bin), "%s", saved);
	unlink(copy);
	rmdir(other);
	free(cp);
	free(copy);
	H_ASSERT_EXIT(&g, 0);
	H_ASSERT(&g, !h_pid_gone(wpid), "gc from another runtime dir killed the live workload %d", wpid);
	H_ASSERT(&g, h_exists(leaf), "gc from another runtime dir removed the live leaf %s", leaf);

	kill(p.pid, SIGTERM);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 100 + SIGTERM);
	H_ASSERT_CLEAN(&p);
	free(leaf);
	free(ready);
	h_proc_free(&g);
	h_proc_free(&p);
}

/* gc with nothing to collect succeeds and creates nothing. */
Test(sigkill, gc_with_nothing_to_do)
{
	struct h_proc g;
	h_run(&g, "gc", "--cgroup-base", H.base);
	H_ASSERT_EXIT(&g, 0);
	H_ASSERT_CLEAN(&g);
	h_proc_free(&g);
}

/* Processes anywhere in this test's v2 subtree (read from /proc). */
static int procs_in_subtree(int *ret, int max)
{
	int n = 0;
	DIR *d = opendir("/proc");
	size_t blen = strlen(H.base_rel);
	for (struct dirent *de; d && (de = readdir(d)) && n < max;) {
		int pid = atoi(de->d_name);
		char path[64], buf[1024];
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
		if (h_read_file(path, buf, sizeof(buf)) < 0)
			continue;
		char *cg = h_v2_path_in(buf);
		if (cg && strncmp(cg, H.base_rel, blen) == 0 && (cg[blen] == '/' || !cg[blen]) &&
		    !h_pid_gone(pid))
			ret[n++] = pid;
		free(cg);
	}
	if (d)
		closedir(d);
	return n;
}

/* issue 9 item 11: timeout(1) SIGKILLs its whole process group, supervise and
 * (before setsid) its guard with it. The guard must survive and clean up: no
 * leaf, no run directory, no workload left (the sleep is in a session of its
 * own, so only the leaf's kill reaches it). */
Test(sigkill, process_group_sigkill_leaves_nothing)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid_t t = fork();
	cr_assert(t >= 0, "fork: %s", strerror(errno));
	if (t == 0) {
		execlp("timeout", "timeout", "-s", "KILL", "1", H.bin, "--cgroup-base", H.base, "--", "sh", "-c",
		       "setsid sleep 62 & wait", (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(t, &st, 0) < 0 && errno == EINTR)
		;
	cr_assert(!(WIFEXITED(st) && WEXITSTATUS(st) == 127), "timeout(1) could not be run");
	char *sdir = h_strf("%s/supervise", H.base);
	int procs[16], n = 0, leaves = 0;
	char *runs = NULL;
	/* The guard waits up to 5 s for the leaf to empty; it empties at once. */
	for (double end = h_now() + 10; h_now() < end; h_sleep_ms(20)) {
		h_reap_any();
		n = procs_in_subtree(procs, 16);
		free(runs);
		leaves = h_count_subdirs(sdir);
		runs = h_exists(H.runtime_dir) ? h_list_dir(H.runtime_dir) : strdup("");
		if (n == 0 && !leaves && !runs[0])
			break;
	}
	cr_expect_eq(n, 0, "%d process(es) left in %s after timeout -s KILL (first: pid %d)", n, H.base,
		     n ? procs[0] : 0);
	cr_expect_eq(leaves, 0, "%d leaves left in %s", leaves, sdir);
	cr_expect(!runs[0], "run directories left in %s: %s", H.runtime_dir, runs);
	free(runs);
	free(sdir);
}
