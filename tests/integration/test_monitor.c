/* monitor: accuracy of both backends against the kernel's own /proc figures,
 * with real processes in real cgroups, through the monitor API (linked with
 * the supervisor's objects).
 *
 * On harness.h: each test gets its own v2 subtree (H.base, removed by
 * h_teardown; h_setup skips only without root or a writable v2 mount). Each
 * test also has its own pin directory /sys/fs/bpf/sv-test-probes-<pid>,
 * removed afterwards (and what an earlier run that died left). The tests hold
 * one lock for their whole run, so that criterion's parallel workers do not
 * load probe sets under each other's program count. */
#include "harness.h"
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "monitor.h"
#include "monitor-internal.h"
#include "track.h"

#define TEST_PREFIX "sv-test-probes-"
#define BPFFS "/sys/fs/bpf"

static char pins[PATH_MAX];     /* our pin directory */
static int lock_fd = -1;
#define v2 H.v2                 /* the cgroup v2 mount */
#define base H.base             /* our subtree (harness.h) */
#define helpers H.helpers       /* $(OUTPUT)/tests/helpers */

struct child {
	pid_t pid;
	int in;                     /* its stdin */
	FILE *out;                  /* its stdout */
};

/* --- host -------------------------------------------------------------------- */

static void remove_pin_dir(const char *dir)
{
	char path[PATH_MAX];
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(dir);
}

/* What an earlier run of these tests left behind, if its process is gone. */
static void remove_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *de;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, TEST_PREFIX, strlen(TEST_PREFIX)) != 0)
			continue;
		pid_t pid = atoi(de->d_name + strlen(TEST_PREFIX));
		if (pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		remove_pin_dir(path);
	}
	closedir(d);
}

static void setup(void)
{
	h_setup();
	lock_fd = open("/tmp/sv-test-probes.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd >= 0)
		flock(lock_fd, LOCK_EX);
	remove_stale(BPFFS);
	snprintf(pins, sizeof(pins), BPFFS "/" TEST_PREFIX "%d", (int)getpid());
	setenv("SUPERVISE_BPF_PIN_DIR", pins, 1);
}

static void teardown(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	remove_pin_dir(pins);
	h_teardown();
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;
}

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: creates cgroups and loads BPF");
	if (!v2[0])
		cr_skip_test("no cgroup v2 mount in /proc/self/mountinfo");
	cr_assert(access(base, F_OK) == 0, "could not create %s", base);
}

static void need_bpf(void)
{
	const char *why;

	need_root();
	why = monitor_bpf_unavailable();
	if (why)
		cr_skip_test("%s", why);
}

static const char *mkleaf(const char *rel, char *ret, size_t size)
{
	char path[PATH_MAX];
	const char *p = rel;

	/* mkdir -p below base */
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - rel) : strlen(rel);

		snprintf(path, sizeof(path), "%s/%.*s", base, (int)len, rel);
		mkdir(path, 0755);
		if (!slash)
			break;
		p = slash + 1;
	}
	snprintf(ret, size, "%s/%s", base, rel);
	cr_assert(access(ret, F_OK) == 0, "mkdir %s failed", ret);
	return ret;
}

/* --- children ---------------------------------------------------------------- */

/* Start argv in cgroup cg (clone3 CLONE_INTO_CGROUP: it never runs outside),
 * with pipes on stdin and stdout. */
static struct child spawn(const char *cg, char *const argv[])
{
	struct child c = { .pid = -1, .in = -1 };
	int in[2], out[2], cgfd;
	struct clone_args args = { .exit_signal = SIGCHLD, .flags = CLONE_INTO_CGROUP };

	cgfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert(cgfd >= 0, "open %s: %s", cg, strerror(errno));
	cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
	args.cgroup = cgfd;
	c.pid = syscall(SYS_clone3, &args, sizeof(args));
	if (c.pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	cr_assert(c.pid > 0, "clone3: %s", strerror(errno));
	close(cgfd);
	close(in[0]);
	close(out[1]);
	c.in = in[1];
	c.out = fdopen(out[0], "r");
	return c;
}

/* Wait for "step K PID" from the child; returns PID (the helper's own, which
 * may be a grandchild of ours). */
static pid_t wait_step(struct child *c, int k)
{
	struct pollfd pfd = { .fd = fileno(c->out), .events = POLLIN };
	char line[256];
	int step, pid;

	cr_assert(poll(&pfd, 1, 120 * 1000) == 1, "no step %d from the helper within 120 s", k);
	cr_assert(fgets(line, sizeof(line), c->out), "helper ended before step %d", k);
	cr_assert(sscanf(line, "step %d %d", &step, &pid) == 2 && step == k, "unexpected line: %s", line);
	return pid;
}

static void advance(struct child *c)
{
	cr_assert(write(c->in, "x", 1) == 1);
}

static int finish(struct child *c)
{
	int status = 0;

	close(c->in);
	cr_assert(waitpid(c->pid, &status, 0) == c->pid);
	fclose(c->out);
	return status;
}

static const char *helper(const char *name)
{
	static char path[4][PATH_MAX];
	static int i;
	char *p = path[i++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", helpers, name);
	cr_assert(access(p, X_OK) == 0, "helper %s not built (make test-bins)", p);
	return p;
}

/* --- the kernel's own figures ---------------------------------------------- */

/* mm->map_count from /proc/PID/maps: its lines, less the gate VMA that the
 * kernel lists there but does not count ([vsyscall] on x86_64). */
static uint32_t maps_lines(pid_t pid)
{
	char path[64], buf[65536];
	uint32_t lines = 0;
	ssize_t n;
	int fd;
	FILE *f;
	char line[512];

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	f = fopen(path, "re");
	cr_assert(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " [vsyscall]"))
			lines--;
	fclose(f);
	return lines;
}

static uint64_t status_bytes(pid_t pid, const char *key)
{
	char path[64], line[256];
	uint64_t kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	cr_assert(f, "open %s", path);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			kb = strtoull(line + strlen(key), NULL, 10);
	fclose(f);
	return kb * 1024;
}

static const struct proc_reading *find_proc(const struct reading *r, pid_t pid, bool exited)
{
	for (size_t i = 0; i < r->nr_proc_readings; i++)
		if (r->procs[i].pid == (uint32_t)pid && r->procs[i].exited == exited)
			return &r->procs[i];
	return NULL;
}

static size_t count_pid(const struct reading *r, pid_t pid)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nr_proc_readings; i++)
		n += r->procs[i].pid == (uint32_t)pid;
	return n;
}

static struct monitor *open_monitor(enum monitor_backend b, const char *cg, int sweep_ms)
{
	struct monitor_options o = { .backend = b, .cgroup_path = cg, .period_ms = 100, .sweep_ms = sweep_ms };
	struct monitor *m = NULL;
	int r = monitor_open_with(&o, &m);

	cr_assert(r == 0, "monitor_open(%s) failed: %s", cg, strerror(-r));
	return m;
}

static unsigned count_progs(void)
{
	uint32_t id = 0;
	unsigned n = 0;

	while (bpf_prog_get_next_id(id, &id) == 0)
		n++;
	return n;
}

/* The ids of the programs behind our pinned links, as one string ("" when
 * the set is not pinned). The same string after another monitor opened means
 * it reused the set rather than loading its own. (A host-wide program count
 * is only meaningful where nobody else loads programs meanwhile: the vm lane.) */
static void pinned_prog_ids(char *ret, size_t size)
{
	static const char *const links[] = { "link_newtask", "link_exec", "link_rss_stat",
					     "link_mmap_unlock", "link_exit", "link_exit_mmap", "link_sweep" };
	size_t off = 0;

	ret[0] = '\0';
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		struct bpf_link_info info = {};
		uint32_t len = sizeof(info);
		char path[PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/%s", pins, links[i]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			off += snprintf(ret + off, size - off, "%s%u", off ? "," : "", info.prog_id);
		close(fd);
	}
}

/* Host-wide program counts are exact only where nothing else loads programs
 * meanwhile (the vm lane sets SV_TEST_QUIET_HOST=1). */
static bool quiet_host(void)
{
	const char *e = getenv("SV_TEST_QUIET_HOST");

	return e && *e == '1';
}

/* --- map_count --------------------------------------------------------------- */

static void check_map_count(enum monitor_backend b, int sweep_ms)
{
	char leaf[PATH_MAX];
	struct monitor *m = open_monitor(b, mkleaf("maps", leaf, sizeof(leaf)), sweep_ms);
	char *argv[] = { (char *)helper("maps-test"), "50000", "--wait", NULL };
	struct child c = spawn(leaf, argv);
	const struct proc_reading *p;
	struct reading r;
	uint32_t want[2];

	for (int k = 1; k <= 2; k++) {
		pid_t pid = wait_step(&c, k);

		cr_assert_eq(pid, c.pid);
		want[k - 1] = maps_lines(pid);
		cr_assert_eq(monitor_turn(m, &r), 0);
		p = find_proc(&r, pid, false);
		cr_assert(p, "step %d: pid %d is not in the reading", k, pid);
		cr_log_info("%s map_count step %d: reading %u, /proc/%d/maps %u lines",
			    monitor_backend_name(m), k, p->map_count, pid, want[k - 1]);
		cr_expect_eq(p->map_count, want[k - 1], "step %d: map_count %u != %u lines of /proc/%d/maps",
			     k, p->map_count, want[k - 1], pid);
		cr_expect_eq(r.map_count_max, p->map_count);
		advance(&c);
	}
	cr_assert(want[0] >= 50000 && want[1] < want[0] - 24000, "the helper did not make/unmap its mappings");
	cr_assert_eq(finish(&c), 0);
	cr_assert_eq(monitor_read_final(m, &r), 0);
	cr_expect_eq(r.peak_map_count, want[0], "peak %u != %u", r.peak_map_count, want[0]);
	cr_expect_eq(r.peak_map_pid, (uint32_t)c.pid);
	cr_expect_str_eq(r.peak_map_comm, "maps-test");
	p = find_proc(&r, c.pid, true);
	cr_assert(p, "no exit record for pid %d", c.pid);
	cr_expect_eq(p->peak_map_count, want[0]);
	cr_expect_eq(r.nr_procs, 0);
	monitor_close(m);
}

TestSuite(monitor, .init = setup, .fini = teardown, .timeout = 300);

Test(monitor, bpf_map_count_exact_from_tracepoints)
{
	need_bpf();
	check_map_count(MONITOR_BPF, -1);
}

Test(monitor, bpf_map_count_exact_with_sweeps)
{
	need_bpf();
	check_map_count(MONITOR_BPF, 1);
}

Test(monitor, procfs_map_count_exact)
{
	need_root();
	check_map_count(MONITOR_PROCFS, 0);
}

/* --- RSS --------------------------------------------------------------------- */

/* How far the reading may be from VmRSS. /proc/PID/status sums the per-CPU
 * parts of the kernel's counters; the rss_stat tracepoint path reads each
 * counter's global part, which lags by less than nr_cpus * batch pages per
 * counter (batch = max(32, 2 * nr_cpus), mm/percpu_counter.c), and RSS adds
 * three counters. The sweep and procfs are held to 2 %, and to 2 % at least. */
static uint64_t tolerance(uint64_t vmrss, bool batch_bound)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	uint64_t pct = vmrss / 50;
	uint64_t batch = cpus * 2 > 32 ? cpus * 2 : 32;
	uint64_t bound = 3 * cpus * batch * sysconf(_SC_PAGESIZE);

	return batch_bound && bound > pct ? bound : pct;
}

static void check_rss(enum monitor_backend b, int sweep_ms)
{
	char leaf[PATH_MAX];
	struct monitor *m = open_monitor(b, mkleaf("rss", leaf, sizeof(leaf)), sweep_ms);
	char *argv[] = { (char *)helper("rss-test"), "512", "256", "--wait", NULL };
	struct child c = spawn(leaf, argv);
	const struct proc_reading *p;
	struct reading r;
	uint64_t vmrss[2];

	for (int k = 1; k <= 2; k++) {
		pid_t pid = wait_step(&c, k);
		uint64_t tol, err;

		cr_assert_eq(monitor_turn(m, &r), 0);
		vmrss[k - 1] = status_bytes(pid, "VmRSS:");
		p = find_proc(&r, pid, false);
		cr_assert(p, "step %d: pid %d is not in the reading", k, pid);
		tol = tolerance(vmrss[k - 1], sweep_ms < 0);
		err = p->rss_bytes > vmrss[k - 1] ? p->rss_bytes - vmrss[k - 1] : vmrss[k - 1] - p->rss_bytes;
		cr_log_info("%s%s RSS step %d: reading %" PRIu64 " KiB, VmRSS %" PRIu64 " KiB, error %.3f %% (tolerance %" PRIu64 " KiB)",
			    monitor_backend_name(m), sweep_ms < 0 ? " (tracepoints only)" : "", k,
			    p->rss_bytes >> 10, vmrss[k - 1] >> 10, 100.0 * err / vmrss[k - 1], tol >> 10);
		cr_expect(err <= tol, "step %d: RSS %" PRIu64 " vs VmRSS %" PRIu64 ": off by %" PRIu64 " > %" PRIu64,
			  k, p->rss_bytes, vmrss[k - 1], err, tol);
		/* One process: the workload's sum is that process. */
		err = r.rss_bytes > vmrss[k - 1] ? r.rss_bytes - vmrss[k - 1] : vmrss[k - 1] - r.rss_bytes;
		cr_expect(err <= tol, "step %d: workload RSS %" PRIu64 " vs VmRSS %" PRIu64, k, r.rss_bytes, vmrss[k - 1]);
		/* The sum moves by 256 KiB quanta of a process's RSS (RSS_QUANTUM in
		 * bpf/track.bpf.c): between sweeps it is within one quantum of
		 * this one process's own figure, and exact after a sweep. */
		err = r.rss_bytes > p->rss_bytes ? r.rss_bytes - p->rss_bytes : p->rss_bytes - r.rss_bytes;
		if (b == MONITOR_BPF)
			cr_expect(err < (sweep_ms < 0 ? 256u << 10 : 1), "step %d: workload sum %" PRIu64 " vs its one process %" PRIu64
				  ": off by %" PRIu64 " (bound: %s)", k, r.rss_bytes, p->rss_bytes, err,
				  sweep_ms < 0 ? "one 256 KiB quantum" : "exact after a sweep");
		cr_expect_eq(p->rss_anon_bytes + p->rss_file_bytes + p->rss_shmem_bytes, p->rss_bytes);
		advance(&c);
	}
	cr_assert(vmrss[0] >= 512ull << 20 && vmrss[1] + (250ull << 20) < vmrss[0], "the helper did not touch/free its memory");
	cr_assert_eq(finish(&c), 0);
	cr_assert_eq(monitor_read_final(m, &r), 0);
	cr_expect(r.peak_rss_bytes + tolerance(vmrss[0], true) >= vmrss[0], "peak %" PRIu64 " < %" PRIu64,
		  r.peak_rss_bytes, vmrss[0]);
	p = find_proc(&r, c.pid, true);
	cr_assert(p, "no exit record for pid %d", c.pid);
	cr_expect(p->peak_rss_bytes + tolerance(vmrss[0], true) >= vmrss[0]);
	monitor_close(m);
}

Test(monitor, bpf_rss_from_tracepoints)
{
	need_bpf();
	check_rss(MONITOR_BPF, -1);
}

Test(monitor, bpf_rss_with_sweeps)
{
	need_bpf();
	check_rss(MONITOR_BPF, 1);
}

Test(monitor, procfs_rss)
{
	need_root();
	check_rss(MONITOR_PROCFS, 0);
}

/* --- processes ------------------------------------------------------------- */

static size_t map_entries_of(uint64_t cgroup_id, size_t *ret_dead)
{
	char path[PATH_MAX];
	uint64_t key, next;
	void *prev = NULL;
	struct track_proc p;
	size_t n = 0, dead = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/procs", pins);
	fd = bpf_obj_get(path);
	cr_assert(fd >= 0, "no pinned procs map at %s", path);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &p) < 0 || p.workload != cgroup_id)
			continue;
		n++;
		if (kill(p.pid, 0) < 0 && errno == ESRCH)
			dead++;
	}
	close(fd);
	*ret_dead = dead;
	return n;
}

static void check_fork(enum monitor_backend b)
{
	char leaf[PATH_MAX];
	struct monitor *m = open_monitor(b, mkleaf("fork", leaf, sizeof(leaf)), -1);
	char *argv[] = { (char *)helper("procs-test"), "fork", "1000", "--wait", NULL };
	struct child c = spawn(leaf, argv);
	struct stat st;
	struct reading r;
	size_t dead;

	wait_step(&c, 1);
	cr_assert_eq(monitor_turn(m, &r), 0);
	cr_expect_eq(r.nr_procs, 1, "%u live processes after 1,000 children were reaped", r.nr_procs);
	cr_expect_eq(r.nr_proc_readings, 1);
	cr_expect(find_proc(&r, c.pid, false));
	if (b == MONITOR_BPF) {
		cr_expect_eq(r.procs_started, 1001, "%u processes started, 1,001 made", r.procs_started);
		stat(leaf, &st);
		cr_expect_eq(map_entries_of(st.st_ino, &dead), 1);
		cr_expect_eq(dead, 0);
	}
	advance(&c);
	cr_assert_eq(finish(&c), 0);
	cr_assert_eq(monitor_read_final(m, &r), 0);
	cr_expect_eq(r.nr_procs, 0);
	cr_expect(find_proc(&r, c.pid, true), "no exit record for the parent");
	if (b == MONITOR_BPF)
		cr_expect_eq(map_entries_of(st.st_ino, &dead), 0, "stale entries left in the procs map");
	monitor_close(m);
}

Test(monitor, bpf_fork_1000_leaves_no_stale_entries)
{
	need_bpf();
	check_fork(MONITOR_BPF);
}

Test(monitor, procfs_fork_1000_leaves_no_stale_entries)
{
	need_root();
	check_fork(MONITOR_PROCFS);
}

static void check_threads(enum monitor_backend b)
{
	char leaf[PATH_MAX];
	struct monitor *m = open_monitor(b, mkleaf("threads", leaf, sizeof(leaf)), -1);
	char *argv[] = { (char *)helper("procs-test"), "threads", "64", "--wait", NULL };
	struct child c = spawn(leaf, argv);
	struct reading r;

	wait_step(&c, 1);
	cr_assert_eq(monitor_turn(m, &r), 0);
	cr_expect_eq(r.nr_procs, 1, "64 threads counted as %u processes", r.nr_procs);
	cr_expect_eq(count_pid(&r, c.pid), 1);
	cr_expect_eq(r.procs_started, 1);
	advance(&c);
	cr_assert_eq(finish(&c), 0);
	cr_assert_eq(monitor_read_final(m, &r), 0);
	cr_expect_eq(r.nr_procs, 0);
	cr_expect_eq(count_pid(&r, c.pid), 1, "want one exit record for the process");
	cr_expect(find_proc(&r, c.pid, true));
	monitor_close(m);
}

Test(monitor, bpf_64_threads_are_one_process)
{
	need_bpf();
	check_threads(MONITOR_BPF);
}

Test(monitor, procfs_64_threads_are_one_process)
{
	need_root();
	check_threads(MONITOR_PROCFS);
}

/* sh forks a child that execs maps-test: tracked under the new comm. */
static void check_exec(enum monitor_backend b)
{
	char leaf[PATH_MAX], cmd[PATH_MAX + 64];
	struct monitor *m = open_monitor(b, mkleaf("exec", leaf, sizeof(leaf)), -1);
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	const struct proc_reading *p;
	struct child c;
	struct reading r;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "%s 10 --wait; exit 0", helper("maps-test"));
	c = spawn(leaf, argv);
	pid = wait_step(&c, 1);
	cr_assert_neq(pid, c.pid, "the shell exec'd in place instead of forking");
	cr_assert_eq(monitor_turn(m, &r), 0);
	p = find_proc(&r, pid, false);
	cr_assert(p, "the exec'd child %d is not tracked", pid);
	cr_expect_str_eq(p->comm, "maps-test");
	cr_expect_eq(p->ppid, (uint32_t)c.pid);
	cr_expect_eq(p->map_count, maps_lines(pid));
	cr_expect(find_proc(&r, c.pid, false), "the shell is not tracked");
	cr_expect_eq(r.nr_procs, 2);
	advance(&c);
	wait_step(&c, 2);
	advance(&c);
	cr_assert_eq(finish(&c), 0);
	monitor_close(m);
}

Test(monitor, bpf_exec_child_tracked_under_new_comm)
{
	need_bpf();
	check_exec(MONITOR_BPF);
}

Test(monitor, procfs_exec_child_tracked_under_new_comm)
{
	need_root();
	check_exec(MONITOR_PROCFS);
}

/* The workload's first process is cloned from outside it (here from this
 * test process, as supervise clones it): until it execs, its mm is a copy of
 * ours. Give ours many more mappings than the program it execs, and the
 * workload's peak must still be that program's, under its comm and pid. */
Test(monitor, bpf_exec_drops_the_pre_exec_copy_from_the_workload_peak)
{
	enum { OURS = 3000 };
	char leaf[PATH_MAX];
	char *argv[] = { (char *)helper("maps-test"), "10", "--wait", NULL };
	long page = sysconf(_SC_PAGESIZE);
	const struct proc_reading *p;
	struct monitor *m;
	struct child c;
	struct reading r;
	uint32_t want, peak_lines, ours;
	char *area;

	need_bpf();
	/* OURS separate mappings in this process (alternating protections: no
	 * merging), inherited by the clone until it execs. */
	area = mmap(NULL, OURS * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(area != MAP_FAILED);
	for (int i = 1; i < OURS; i += 2)
		mprotect(area + i * page, page, PROT_READ);
	ours = maps_lines(getpid());
	cr_assert(ours > OURS, "this process has %u mappings", ours);

	m = open_monitor(MONITOR_BPF, mkleaf("copy", leaf, sizeof(leaf)), -1);
	c = spawn(leaf, argv);
	wait_step(&c, 1);
	want = maps_lines(c.pid);
	cr_assert_eq(monitor_turn(m, &r), 0);
	p = find_proc(&r, c.pid, false);
	cr_assert(p, "the exec'd process is not tracked");
	cr_expect_str_eq(p->comm, "maps-test");
	cr_expect_eq(p->peak_map_count, want, "the process's own peak %u != %u lines of its maps after exec",
		     p->peak_map_count, want);
	cr_log_info("pre-exec copy: %u mappings; maps-test: %u; workload peak %u held by %s (pid %u)",
		    ours, want, r.peak_map_count, r.peak_map_comm, r.peak_map_pid);
	cr_expect_eq(r.peak_map_count, want, "workload peak %u (held by %s, pid %u): want maps-test's %u, not the "
		     "pre-exec copy's %u", r.peak_map_count, r.peak_map_comm, r.peak_map_pid, want, ours);
	cr_expect_str_eq(r.peak_map_comm, "maps-test");
	cr_expect_eq(r.peak_map_pid, (uint32_t)c.pid);
	cr_expect_eq(r.map_count_max, want);
	advance(&c);
	wait_step(&c, 2);
	peak_lines = want;
	advance(&c);
	cr_assert_eq(finish(&c), 0);
	cr_assert_eq(monitor_read_final(m, &r), 0);
	cr_expect_eq(r.peak_map_count, peak_lines);
	cr_expect_str_eq(r.peak_map_comm, "maps-test");
	cr_expect_eq(r.procs_started, 1, "an exec is not a new process: %u started", r.procs_started);
	p = find_proc(&r, c.pid, true);
	cr_assert(p, "no exit record for pid %d", c.pid);
	cr_expect_str_eq(p->comm, "maps-test");
	cr_expect_eq(count_pid(&r, c.pid), 1, "one exit record, not one per image");
	monitor_close(m);
	munmap(area, OURS * page);
}

/* A clone from outside that never execs (supervise's child when the command
 * is not found) leaves no exit record and no figures in the workload. */
Test(monitor, bpf_clone_that_never_execs_is_not_the_workloads)
{
	char leaf[PATH_MAX];
	char *argv[] = { "/nonexistent/sv-test-no-such-program", NULL };
	struct monitor *m;
	struct child c;
	struct reading r;

	need_bpf();
	m = open_monitor(MONITOR_BPF, mkleaf("noexec", leaf, sizeof(leaf)), -1);
	c = spawn(leaf, argv);
	cr_assert_eq(WEXITSTATUS(finish(&c)), 127);
	cr_assert_eq(monitor_read_final(m, &r), 0);
	cr_expect_eq(r.peak_map_count, 0, "peak %u held by %s", r.peak_map_count, r.peak_map_comm);
	cr_expect_eq(r.peak_rss_bytes, 0);
	cr_expect_eq(count_pid(&r, c.pid), 0, "an exit record of the copy of this process");
	cr_expect_eq(r.nr_procs, 0);
	monitor_close(m);
}

static void check_nested(enum monitor_backend b)
{
	char leaf[PATH_MAX], deep[PATH_MAX];
	struct monitor *m = open_monitor(b, mkleaf("nest", leaf, sizeof(leaf)), -1);
	char *argv[] = { (char *)helper("maps-test"), "100", "--wait", NULL };
	const struct proc_reading *p;
	struct child c;
	struct reading r;

	mkleaf("nest/a/b", deep, sizeof(deep));
	c = spawn(deep, argv);
	wait_step(&c, 1);
	cr_assert_eq(monitor_turn(m, &r), 0);
	p = find_proc(&r, c.pid, false);
	cr_assert(p, "a process two cgroups below the workload is not tracked");
	cr_expect_eq(p->map_count, maps_lines(c.pid));
	advance(&c);
	wait_step(&c, 2);
	advance(&c);
	cr_assert_eq(finish(&c), 0);
	monitor_close(m);
}

Test(monitor, bpf_nested_cgroup_tracked)
{
	need_bpf();
	check_nested(MONITOR_BPF);
}

Test(monitor, procfs_nested_cgroup_tracked)
{
	need_root();
	check_nested(MONITOR_PROCFS);
}

/* A process already running when the monitor starts: found by the sweep. */
Test(monitor, bpf_process_started_before_monitor)
{
	char leaf[PATH_MAX];
	char *argv[] = { (char *)helper("maps-test"), "1000", "--wait", NULL };
	struct child c;
	struct monitor *m;
	struct reading r;
	const struct proc_reading *p;

	need_bpf();
	c = spawn(mkleaf("before", leaf, sizeof(leaf)), argv);
	wait_step(&c, 1);
	m = open_monitor(MONITOR_BPF, leaf, -1);
	cr_assert_eq(monitor_turn(m, &r), 0);
	p = find_proc(&r, c.pid, false);
	cr_assert(p, "a process that predates the monitor is not tracked");
	cr_expect_eq(p->map_count, maps_lines(c.pid));
	advance(&c);
	wait_step(&c, 2);
	cr_assert_eq(monitor_turn(m, &r), 0);
	p = find_proc(&r, c.pid, false);
	cr_assert(p);
	cr_expect_eq(p->map_count, maps_lines(c.pid), "not followed after the sweep found it");
	advance(&c);
	cr_assert_eq(finish(&c), 0);
	monitor_close(m);
}

/* --- sharing ----------------------------------------------------------------- */

#define NR_CONCURRENT 20

Test(monitor, bpf_concurrent_monitors_see_only_their_own)
{
	struct monitor *m[NR_CONCURRENT];
	struct child c[NR_CONCURRENT];
	char leaf[NR_CONCURRENT][PATH_MAX];
	char ids_one[256] = "", ids[256];
	unsigned progs_one = 0;

	need_bpf();
	for (int i = 0; i < NR_CONCURRENT; i++) {
		char name[32], mib[16];
		char *argv[] = { (char *)helper("rss-test"), mib, "0", "--wait", NULL };

		snprintf(name, sizeof(name), "w%d", i);
		m[i] = open_monitor(MONITOR_BPF, mkleaf(name, leaf[i], sizeof(leaf[i])), -1);
		pinned_prog_ids(ids, sizeof(ids));
		if (i == 0) {
			progs_one = count_progs();
			snprintf(ids_one, sizeof(ids_one), "%s", ids);
			cr_assert(strchr(ids_one, ','), "no probe set pinned in %s: programs '%s'", pins, ids_one);
		} else {
			cr_expect_str_eq(ids, ids_one, "monitor %d: pinned programs %s, after the first %s",
					 i + 1, ids, ids_one);
			if (quiet_host())
				cr_expect_eq(count_progs(), progs_one, "monitor %d: loaded programs %u, was %u",
					     i + 1, count_progs(), progs_one);
		}
		/* Different sizes so that a figure in the wrong workload shows. */
		snprintf(mib, sizeof(mib), "%d", 8 + 4 * i);
		c[i] = spawn(leaf[i], argv);
	}
	for (int i = 0; i < NR_CONCURRENT; i++)
		wait_step(&c[i], 1);
	for (int i = 0; i < NR_CONCURRENT; i++) {
		struct reading r;
		const struct proc_reading *p;
		uint64_t vmrss = status_bytes(c[i].pid, "VmRSS:");

		cr_assert_eq(monitor_turn(m[i], &r), 0);
		cr_expect_eq(r.nr_procs, 1, "workload %d sees %u processes", i, r.nr_procs);
		p = find_proc(&r, c[i].pid, false);
		cr_assert(p, "workload %d does not see its own process", i);
		for (int j = 0; j < NR_CONCURRENT; j++)
			if (j != i)
				cr_expect(!find_proc(&r, c[j].pid, false), "workload %d sees workload %d's process", i, j);
		cr_expect(r.rss_bytes <= vmrss + tolerance(vmrss, true) && r.rss_bytes + tolerance(vmrss, true) >= vmrss,
			  "workload %d: RSS %" PRIu64 " vs its process's VmRSS %" PRIu64, i, r.rss_bytes, vmrss);
	}
	for (int i = 0; i < NR_CONCURRENT; i++) {
		advance(&c[i]);
		wait_step(&c[i], 2);
		advance(&c[i]);
		cr_assert_eq(finish(&c[i]), 0);
	}
	for (int i = 0; i < NR_CONCURRENT; i++) {
		cr_expect_eq(access(pins, F_OK), 0, "pins removed while %d workloads remain", NR_CONCURRENT - i);
		monitor_close(m[i]);
	}
	cr_expect_neq(access(pins, F_OK), 0, "the last monitor out did not unpin %s", pins);
}

/* A supervise killed with SIGKILL leaves its registration; the next one drops
 * it, and unpins when it leaves. */
Test(monitor, bpf_dead_owner_is_reaped)
{
	char leaf[PATH_MAX], leaf2[PATH_MAX], path[PATH_MAX];
	struct monitor *m;
	struct stat st;
	uint64_t id;
	int pfd[2], fd, status;
	pid_t pid;
	char ok;

	need_bpf();
	mkleaf("dead", leaf, sizeof(leaf));
	mkleaf("alive", leaf2, sizeof(leaf2));
	cr_assert(stat(leaf, &st) == 0);
	id = st.st_ino;
	cr_assert(pipe(pfd) == 0);
	pid = fork();
	if (pid == 0) {
		struct monitor *dm = NULL;

		close(pfd[0]);
		ok = monitor_open(MONITOR_BPF, leaf, &dm) == 0;
		if (write(pfd[1], &ok, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	cr_assert(read(pfd[0], &ok, 1) == 1 && ok, "the first monitor did not open");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);

	snprintf(path, sizeof(path), "%s/workloads", pins);
	fd = bpf_obj_get(path);
	cr_assert(fd >= 0, "the killed monitor left no pins");
	{
		struct track_workload w;

		cr_expect_eq(bpf_map_lookup_elem(fd, &id, &w), 0, "registration gone before anyone reaped it");
		m = open_monitor(MONITOR_BPF, leaf2, -1);
		cr_expect_neq(bpf_map_lookup_elem(fd, &id, &w), 0, "the dead supervisor's registration is still there");
	}
	close(fd);
	monitor_close(m);
	cr_expect_neq(access(pins, F_OK), 0, "pins left after the last monitor closed");
}

/* An incompatible pinned set (another version) is replaced, not misread. */
Test(monitor, bpf_incompatible_pinned_set_is_replaced)
{
	char leaf[PATH_MAX], leaf2[PATH_MAX], path[PATH_MAX];
	struct monitor *m1, *m2;
	struct track_meta meta;
	uint32_t zero = 0;
	int fd;

	need_bpf();
	m1 = open_monitor(MONITOR_BPF, mkleaf("v1", leaf, sizeof(leaf)), -1);
	snprintf(path, sizeof(path), "%s/meta", pins);
	fd = bpf_obj_get(path);
	cr_assert(fd >= 0);
	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &meta), 0);
	cr_assert_eq(meta.version, TRACK_VERSION);
	meta.version = TRACK_VERSION + 1000;
	cr_assert_eq(bpf_map_update_elem(fd, &zero, &meta, BPF_ANY), 0);
	close(fd);

	m2 = open_monitor(MONITOR_BPF, mkleaf("v2", leaf2, sizeof(leaf2)), -1);
	fd = bpf_obj_get(path);
	cr_assert(fd >= 0);
	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &meta), 0);
	close(fd);
	cr_expect_eq(meta.version, TRACK_VERSION, "the pinned set was not replaced");
	monitor_close(m2);
	monitor_close(m1);
}

/* auto falls back to procfs when the probes cannot load. */
Test(monitor, auto_falls_back_to_procfs)
{
	char leaf[PATH_MAX];
	struct monitor *m;

	need_root();
	/* Not below a bpffs mount: pinning cannot work. */
	setenv("SUPERVISE_BPF_PIN_DIR", "/tmp/sv-test-probes-not-bpffs/x", 1);
	m = open_monitor(MONITOR_AUTO, mkleaf("auto", leaf, sizeof(leaf)), -1);
	cr_expect_str_eq(monitor_backend_name(m), "procfs");
	monitor_close(m);
}

Test(monitor, auto_picks_bpf_when_it_loads)
{
	char leaf[PATH_MAX];
	struct monitor *m;

	need_bpf();
	m = open_monitor(MONITOR_AUTO, mkleaf("auto", leaf, sizeof(leaf)), -1);
	cr_expect_str_eq(monitor_backend_name(m), "bpf");
	monitor_close(m);
}

/* --- thresholds vs sums: the race ----------------------------------------- */

#define CHURNERS 16
#define THRESHOLD_MOVES 10000

/* 16 processes allocate and free while user space moves the RSS alert 10,000
 * times. The thresholds live in a map BPF only reads, so no move can lose an
 * increment of the workload's sum; and the sweep recomputes the sum from the
 * processes. At the end, with the processes holding still: the sum equals the
 * sum of its processes (within 64 KiB: a stray fault between reading the
 * workload and reading its processes), and the sum of their VmRSS within the
 * sweep's 2 %. */
Test(monitor, bpf_sums_survive_threshold_moves)
{
	need_bpf();
	char leaf[PATH_MAX];
	struct monitor *m = open_monitor(MONITOR_BPF, mkleaf("race", leaf, sizeof(leaf)), 1);
	struct child c[CHURNERS];
	pid_t pids[CHURNERS];
	char hold[CHURNERS][8];
	for (int i = 0; i < CHURNERS; i++) {
		snprintf(hold[i], sizeof(hold[i]), "%d", 4 + i);
		char *argv[] = { (char *)helper("churn"), "24", hold[i], NULL };
		c[i] = spawn(leaf, argv);
	}
	unsigned alerts = 0;
	struct reading r;
	for (int i = 0; i < THRESHOLD_MOVES; i++) {
		/* 1..64 MiB: many below what 16 churners hold, so alerts fire. */
		cr_assert_eq(monitor_set_alerts(m, (uint64_t)(1 + i % 64) << 20, 0), 0);
		if (i % 16 == 0) {
			cr_assert_geq(monitor_dispatch(m), 0);
			alerts += monitor_crossed(m);
			cr_assert_eq(monitor_turn(m, &r), 0);
		}
	}
	cr_expect_gt(alerts, 0, "no RSS alert fired in %d moves: BPF does not see the thresholds", THRESHOLD_MOVES);
	for (int i = 0; i < CHURNERS; i++)
		advance(&c[i]);
	for (int i = 0; i < CHURNERS; i++)
		pids[i] = wait_step(&c[i], 1);

	/* Two sweeps at least: a correction is applied when two agree. */
	for (int k = 0; k < 3; k++) {
		usleep(5000);
		cr_assert_eq(monitor_turn(m, &r), 0);
	}
	uint64_t procs = 0, vmrss = 0;
	int seen = 0;
	for (int i = 0; i < CHURNERS; i++) {
		const struct proc_reading *p = find_proc(&r, pids[i], false);
		cr_assert(p, "churner %d is not in the reading", pids[i]);
		procs += p->rss_bytes;
		vmrss += status_bytes(pids[i], "VmRSS:");
		seen++;
	}
	cr_assert_eq(seen, CHURNERS);
	uint64_t d = r.rss_bytes > procs ? r.rss_bytes - procs : procs - r.rss_bytes;
	cr_log_info("race: %u alerts, workload sum %" PRIu64 " KiB, processes %" PRIu64 " KiB, VmRSS %" PRIu64
		    " KiB, largest correction %" PRIu64 " bytes",
		    alerts, r.rss_bytes >> 10, procs >> 10, vmrss >> 10, r.sum_max_correction_bytes);
	cr_expect(d <= 64 << 10, "workload sum %" PRIu64 " vs its processes %" PRIu64 ": off by %" PRIu64, r.rss_bytes,
		  procs, d);
	d = r.rss_bytes > vmrss ? r.rss_bytes - vmrss : vmrss - r.rss_bytes;
	cr_expect(d <= tolerance(vmrss, false), "workload sum %" PRIu64 " vs summed VmRSS %" PRIu64 ": off by %" PRIu64,
		  r.rss_bytes, vmrss, d);
	for (int i = 0; i < CHURNERS; i++)
		cr_expect_eq(finish(&c[i]), 0);
	monitor_close(m);
}
