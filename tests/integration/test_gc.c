/*
 * gc and liveness: a run is collected only by whoever can prove its owner dead
 * (issue 15 item 1: a supervise in a pid namespace, or one whose mount namespace
 * hides the runtime directory, must not kill the host's runs); gc against runs
 * that are starting (issue 9 item 10); run directories that are broken, a FIFO
 * or a /dev/zero symlink (item 15); a runtime directory too long for a path
 * (item 19); --cgroup-base that leads out of the v2 mount (item 9); the bpffs
 * unmounted under a starter (item 13). The attacks by another user (items 1,
 * 9, 12) are in test_multiuser.c.
 */
#include <sys/xattr.h>

#include "harness.h"

TestSuite(gc, .init = h_setup, .fini = h_teardown, .timeout = 120);

#define UNSHARE "/usr/bin/unshare"

static void need_unshare(void)
{
	if (access(UNSHARE, X_OK) < 0)
		cr_skip_test("needs %s (util-linux) to make pid and mount namespaces", UNSHARE);
}

/* Start `supervise --name victim` running sh -c script; wait until its run
 * directory and its workload are up. */
static void start_victim(struct h_proc *v, const char *script)
{
	h_start(v, "--name", "victim", "--cgroup-base", H.base, "--", "sh", "-c", script);
	char *up = h_wait_line(v, "up", H_TIMEOUT_S);
	H_ASSERT(v, up, "the victim's workload never said it was up");
	char *json = h_strf("%s/victim/run.json", H.runtime_dir);
	H_ASSERT(v, h_exists(json), "%s missing while the victim runs", json);
	free(json);
	free(up);
}

/* The victim ends by itself with exit 0, its leaf and run directory removed,
 * and nothing else touched its monitor's registration. */
static void expect_victim_unharmed(struct h_proc *v)
{
	h_finish(v, H_TIMEOUT_S);
	H_ASSERT_EXIT(v, 0);
	H_ASSERT(v, !strstr(v->err.data, "pinned maps failed"),
		 "the victim lost its probe registration to the other supervise");
	H_ASSERT_CLEAN(v);
}

/* issue 15 item 1, exactly: `supervise --name victim -- sleep …` then
 * `unshare --pid --fork --mount-proc supervise -- true`. */
Test(gc, pid_namespace_does_not_kill_other_runs)
{
	need_unshare();
	struct h_proc v, s;
	start_victim(&v, "echo up; sleep 3");
	const struct h_opts raw = { .raw = true };
	h_startv(&s, &raw,
		 (const char *const[]){ UNSHARE, "--pid", "--fork", "--mount-proc", H.bin, "--cgroup-base", H.base,
					"--", "true", NULL });
	h_finish(&s, H_TIMEOUT_S);
	H_ASSERT_EXIT(&s, 0);
	H_ASSERT(&s, !strstr(s.err.data, "removed"), "the supervise in a pid namespace removed a run");
	H_ASSERT(&v, !h_poll_exit(&v), "the victim ended when a supervise started in a pid namespace");
	expect_victim_unharmed(&v);
	h_proc_free(&s);
	h_proc_free(&v);
}

/* The same with `supervise gc`, which also looks at leaves without a run dir. */
Test(gc, pid_namespace_gc_spares_other_runs)
{
	need_unshare();
	struct h_proc v, s;
	start_victim(&v, "echo up; sleep 3");
	const struct h_opts raw = { .raw = true };
	h_startv(&s, &raw,
		 (const char *const[]){ UNSHARE, "--pid", "--fork", "--mount-proc", H.bin, "gc", "--cgroup-base",
					H.base, NULL });
	h_finish(&s, H_TIMEOUT_S);
	H_ASSERT_EXIT(&s, 0);
	H_ASSERT(&s, strstr(s.out.data, "removed 0 stale runs"), "gc in a pid namespace removed a live run");
	h_proc_free(&s);
	/* And sees it as running: liveness does not depend on the pid namespace. */
	h_startv(&s, &raw, (const char *const[]){ UNSHARE, "--pid", "--fork", "--mount-proc", H.bin, "ls", NULL });
	h_finish(&s, H_TIMEOUT_S);
	H_ASSERT_EXIT(&s, 0);
	H_ASSERT(&s, strstr(s.out.data, "victim"), "ls in a pid namespace does not list the running victim");
	expect_victim_unharmed(&v);
	h_proc_free(&s);
	h_proc_free(&v);
}

/* A mount namespace that hides the runtime directory (as a container with its
 * own /run does): the second supervise cannot see the victim's run directory,
 * only its leaf, and must leave it alone. */
Test(gc, mount_namespace_hiding_run_dirs)
{
	need_unshare();
	struct h_proc v, s, g;
	start_victim(&v, "echo up; sleep 4");
	const struct h_opts raw = { .raw = true };
	const char *hide = "mount -t tmpfs -o mode=0700 none \"$SUPERVISE_RUNTIME_DIR\" && exec \"$@\"";
	h_startv(&s, &raw,
		 (const char *const[]){ UNSHARE, "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c", hide,
					"sh", H.bin, "--cgroup-base", H.base, "--", "true", NULL });
	h_finish(&s, H_TIMEOUT_S);
	H_ASSERT_EXIT(&s, 0);
	h_startv(&g, &raw,
		 (const char *const[]){ UNSHARE, "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c", hide,
					"sh", H.bin, "gc", "--cgroup-base", H.base, NULL });
	h_finish(&g, H_TIMEOUT_S);
	H_ASSERT_EXIT(&g, 0);
	H_ASSERT(&g, strstr(g.out.data, "removed 0 stale runs") && !strstr(g.err.data, "removed"),
		 "gc behind a mount namespace removed the victim's leaf");
	expect_victim_unharmed(&v);
	h_proc_free(&g);
	h_proc_free(&s);
	h_proc_free(&v);
}

/* Plant a run directory named name whose owner is dead: a run.json naming a
 * pid that exited (and a start time no process has). */
static void plant_dead_run(const char *name)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	char *dir = h_strf("%s/%s", H.runtime_dir, name);
	char *json = h_strf("%s/run.json", dir);
	char *text = h_strf("{ \"version\": 1, \"name\": \"%s\", \"pid\": %d, \"pid_starttime\": 1, "
			    "\"cgroup\": \"%s/supervise/%s-deadbeef\", \"started_unix\": 1 }\n",
			    name, (int)pid, H.base, name);
	cr_assert(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
	FILE *f = fopen(json, "w");
	cr_assert(f && fputs(text, f) >= 0 && fclose(f) == 0, "writing %s", json);
	free(text);
	free(json);
	free(dir);
}

/* Every live run keeps its own run directory while gc runs in every starter:
 * N runs start at once over the dead run directory of their name (each start
 * collects it); then each supervise's pid is in exactly one run.json. */
Test(gc, starting_runs_keep_their_run_dirs)
{
	enum { N = 6, ROUNDS = 3 };
	for (int round = 0; round < ROUNDS; round++) {
		plant_dead_run("sh");
		struct h_proc p[N];
		for (int i = 0; i < N; i++)
			h_start(&p[i], "--cgroup-base", H.base, "--", "sh", "-c", "echo up; sleep 2");
		for (int i = 0; i < N; i++)
			H_ASSERT(&p[i], h_wait_line(&p[i], "up", H_TIMEOUT_S), "run %d never came up", i);

		/* Which supervise does each run directory name? */
		int owners[N] = { 0 }, dirs = 0;
		DIR *d = opendir(H.runtime_dir);
		cr_assert(d);
		for (struct dirent *de; (de = readdir(d));) {
			if (de->d_name[0] == '.')
				continue;
			dirs++;
			char *json = h_strf("%s/%s/run.json", H.runtime_dir, de->d_name);
			char buf[4096];
			int pid = 0;
			const char *at;
			if (h_read_file(json, buf, sizeof(buf)) > 0 && (at = strstr(buf, "\"pid\":")))
				pid = atoi(at + 6);
			for (int i = 0; i < N; i++)
				if (p[i].pid == pid)
					owners[i]++;
			free(json);
		}
		closedir(d);
		for (int i = 0; i < N; i++)
			H_ASSERT(&p[i], owners[i] == 1,
				 "round %d: supervise %d is named by %d run directories (of %d: %s), expected 1", round,
				 (int)p[i].pid, owners[i], dirs, h_list_dir(H.runtime_dir));
		for (int i = 0; i < N; i++) {
			h_finish(&p[i], H_TIMEOUT_S);
			H_ASSERT_EXIT(&p[i], 0);
			H_ASSERT(&p[i], !strstr(p[i].err.data, "ENOENT") && !strstr(p[i].err.data, "No such file"),
				 "round %d: run %d lost a file of its run directory", round, i);
		}
		for (int i = 0; i < N; i++) {
			H_ASSERT_CLEAN(&p[i]);
			h_proc_free(&p[i]);
		}
	}
}

/* issue 9 item 10's end: a run whose directory was taken away and whose name
 * now holds another run's directory must not delete that one at teardown. */
Test(gc, teardown_spares_a_directory_that_replaced_its_own)
{
	struct h_proc p;
	h_start(&p, "--name", "job", "--cgroup-base", H.base, "--", "sh", "-c", "echo up; sleep 1");
	H_ASSERT(&p, h_wait_line(&p, "up", H_TIMEOUT_S), "the run never came up");
	char *dir = h_strf("%s/job", H.runtime_dir), *moved = h_strf("%s/job-moved", H.runtime_dir);
	char *other = h_strf("%s/run.json", dir);
	cr_assert(rename(dir, moved) == 0 && mkdir(dir, 0755) == 0, "swap: %s", strerror(errno));
	FILE *f = fopen(other, "w");
	cr_assert(f && fputs("{}\n", f) >= 0 && fclose(f) == 0);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, h_exists(other), "the run's teardown deleted %s, which is not its own", other);
	h_rm_rf(dir);
	h_rm_rf(moved);
	h_proc_free(&p);
	free(other), free(moved), free(dir);
}

/* A run directory left between its mkdir and its run.json (a starter that
 * died) does not block its name: nothing holds its lock. */
Test(gc, broken_run_dir_does_not_block_its_name)
{
	char *dir = h_strf("%s/broken", H.runtime_dir);
	cr_assert(mkdir(dir, 0755) == 0);
	struct h_proc p;
	h_run(&p, "--name", "broken", "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
	free(dir);
}

/* A FIFO run.json (nobody ever writes it) and a /dev/zero one (endless): ls,
 * gc and a start end, in bounded time, and the names are usable. */
Test(gc, fifo_and_dev_zero_run_json)
{
	char *fifo_dir = h_strf("%s/fifo", H.runtime_dir), *zero_dir = h_strf("%s/zero", H.runtime_dir);
	char *fifo = h_strf("%s/run.json", fifo_dir), *zero = h_strf("%s/run.json", zero_dir);
	cr_assert(mkdir(fifo_dir, 0755) == 0 && mkfifo(fifo, 0644) == 0);
	cr_assert(mkdir(zero_dir, 0755) == 0 && symlink("/dev/zero", zero) == 0);

	struct h_proc p;
	h_run(&p, "ls");
	H_ASSERT_EXIT(&p, 0);
	h_proc_free(&p);
	h_run(&p, "--name", "fifo", "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&p, 0);
	h_proc_free(&p);
	h_run(&p, "--name", "zero", "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
	free(fifo_dir), free(zero_dir), free(fifo), free(zero);
}

/* A 4232-character SUPERVISE_RUNTIME_DIR: a clear error, exit 125, and no
 * directory made at a truncated path. */
Test(gc, runtime_dir_too_long)
{
	char *first = h_strf("%s/%0100d", H.scratch, 0);
	char path[4300];
	int n = snprintf(path, sizeof(path), "%s", first);
	while (n < 4232)
		n += snprintf(path + n, sizeof(path) - n, "/%099d", 0);
	path[4232] = '\0';
	setenv("SUPERVISE_RUNTIME_DIR", path, 1);
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", "true");
	setenv("SUPERVISE_RUNTIME_DIR", H.runtime_dir, 1);
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, "SUPERVISE_RUNTIME_DIR") && strstr(p.err.data, "shorter"),
		 "expected an error naming SUPERVISE_RUNTIME_DIR and asking for a shorter path");
	H_ASSERT(&p, !h_exists(first), "a truncated runtime directory %s was made", first);
	h_proc_free(&p);
	free(first);
}

/* --cgroup-base that climbs out of the v2 mount into a v1 hierarchy: refused
 * before anything looks there (test_multiuser has the attack through /tmp). */
Test(gc, cgroup_base_traversal_refused)
{
	struct h_proc p;
	h_run(&p, "gc", "--cgroup-base", "/../memory");
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, "not inside the cgroup v2 mount"), "expected the reason on stderr");
	h_proc_free(&p);
	h_run(&p, "check", "--cgroup-base", "/../memory");
	H_ASSERT_EXIT(&p, 125);
	h_proc_free(&p);
}

/* Run script (sh -c, $0: supervise, $1: the cgroup base) in a private mount
 * namespace with a bpffs of its own at /sys/fs/bpf (nothing outside sees
 * it); it must exit 0. */
static void in_private_bpffs(const char *script)
{
	need_unshare();
	if (access("/usr/bin/flock", X_OK) < 0)
		cr_skip_test("needs /usr/bin/flock (util-linux)");
	char *full = h_strf("%s%s",
			    /* Our namespace only: no bpffs of the host's below ours. */
			    "while mountpoint -q /sys/fs/bpf; do umount -l /sys/fs/bpf || exit 119; done\n"
			    "mount -t bpf bpf /sys/fs/bpf || exit 120\n",
			    script);
	const struct h_opts raw = { .raw = true };
	struct h_proc p;
	h_startv(&p, &raw, (const char *const[]){ UNSHARE, "--mount", "sh", "-c", full, H.bin, H.base, NULL });
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 0);
	h_proc_free(&p);
	free(full);
}

/* issue 9 item 13: a starter waits for the lock on the bpffs that the last run
 * out is unmounting. In a private mount namespace (nothing outside sees it):
 * mount a bpffs marked as supervise's, hold its lock, start supervise, detach
 * the mount once supervise waits for the lock, release the lock: supervise
 * must mount again and run. */
Test(gc, bpffs_unmounted_while_waiting_for_its_lock)
{
	in_private_bpffs("mkdir /sys/fs/bpf/mounted_by_supervise || exit 120\n"
			 "exec 9</sys/fs/bpf && flock 9 || exit 121\n"
			 "SUPERVISE_BPF_PIN_DIR=/sys/fs/bpf/supervise \"$0\" --backend bpf --cgroup-base \"$1\" -- true 9<&- &\n"
			 /* Until it waits for the lock (bounded by the harness's timeout). */
			 "until grep -q lock /proc/$!/wchan; do sleep 0.05; done\n"
			 "umount -l /sys/fs/bpf || exit 122\n"
			 "exec 9<&-\n"
			 "wait $!\n");
}

/* issue 13: a start whose probe set is pinned takes no lock but its set's,
 * so it never waits for what holds the bpffs mount's root (before, every set
 * on the host shared that lock, and a start waited for other sets' loads).
 * In a private mount namespace: a run holds the set, the mount's root is
 * locked exclusively, and a second run must still start and end. */
Test(gc, a_warm_start_does_not_wait_for_the_mount_lock)
{
	in_private_bpffs("export SUPERVISE_BPF_PIN_DIR=/sys/fs/bpf/supervise\n"
			 "\"$0\" --backend bpf --cgroup-base \"$1\" -- sleep 30 &\n"
			 "holder=$!\n"
			 /* Until the holder's set is pinned (bounded by the harness's timeout). */
			 "until [ -e /sys/fs/bpf/supervise/link_sweep ]; do sleep 0.05; done\n"
			 "exec 9</sys/fs/bpf && flock 9 || exit 121\n"
			 /* Waiting for the lock would be killed here, and say 124. */
			 "timeout 10 \"$0\" --backend bpf --cgroup-base \"$1\" -- true 9<&-; r=$?\n"
			 "exec 9<&-\n"
			 "kill -TERM $holder; wait $holder\n"
			 "exit $r\n");
}

/* gc looked at only the first 64 leaves: 70 stale leaves (marked by an owner
 * that is gone, empty) are all removed by one gc. */
Test(gc, gc_walks_every_leaf)
{
	enum { LEAVES = 70 };
	char *sdir = h_strf("%s/supervise", H.base);
	cr_assert(mkdir(sdir, 0755) == 0);
	for (int i = 0; i < LEAVES; i++) {
		char *leaf = h_strf("%s/stale%d-%08x", sdir, i, i);
		cr_assert(mkdir(leaf, 0755) == 0, "mkdir %s: %s", leaf, strerror(errno));
		/* An old-style mark, "pid start": pid 1 never started at tick 1. */
		cr_assert(setxattr(leaf, "user.supervise.owner", "1 1", 3, 0) == 0, "setxattr %s: %s", leaf,
			  strerror(errno));
		free(leaf);
	}
	struct h_proc p;
	h_run(&p, "gc", "--cgroup-base", H.base);
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, !h_exists(sdir), "gc left %d of %d stale leaves: %s", h_count_subdirs(sdir), LEAVES,
		 h_list_dir(sdir));
	h_proc_free(&p);
	free(sdir);
}
