/*
 * The probes (issue 3), seen from outside as a user sees them: the summary's
 * maps and memory figures, `supervise stat NAME --json` during a run, bpftool
 * dumps of the pinned maps, concurrent runs sharing one probe set, a
 * supervisor killed with SIGKILL, and --backend.
 *
 * Each test runs supervise with its own v2 subtree (--cgroup-base H.base),
 * runtime directory (harness) and pin directory
 * SUPERVISE_BPF_PIN_DIR=/sys/fs/bpf/sv-probes-it-<pid>, which the teardown
 * removes (after a failure too), with what an earlier run whose process is
 * dead left. Figures are checked against /proc and the helpers' own output,
 * with the tolerance stated at each check; never against wall time.
 */
#include "harness.h"

#include <bpf/bpf.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <sys/statfs.h>

#define PIN_PREFIX "sv-probes-it-"
#define BPFFS "/sys/fs/bpf"
#define MIB ((int64_t)1 << 20)

static char pins[PATH_MAX];

static void remove_pin_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];

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

/* Pin directories of earlier runs of these tests whose process is dead. */
static void remove_stale_pins(void)
{
	DIR *d = opendir(BPFFS);
	struct dirent *de;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, PIN_PREFIX, strlen(PIN_PREFIX)))
			continue;
		pid_t pid = atoi(de->d_name + strlen(PIN_PREFIX));
		if (pid <= 0 || (kill(pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(path, sizeof(path), BPFFS "/%s", de->d_name);
		remove_pin_dir(path);
	}
	closedir(d);
}

static void setup(void)
{
	struct statfs sf;

	h_setup();
	/* Only below a bpffs mount: otherwise the bpf backend cannot pin, and
	 * need_bpf() skips. */
	if (statfs(BPFFS, &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		remove_stale_pins();
	snprintf(pins, sizeof(pins), BPFFS "/" PIN_PREFIX "%d", (int)getpid());
	setenv("SUPERVISE_BPF_PIN_DIR", pins, 1);
}

static void teardown(void)
{
	h_teardown();
	if (pins[0])
		remove_pin_dir(pins);
}

TestSuite(probes, .init = setup, .fini = teardown, .timeout = 180);

static void need_bpf(void)
{
	uint32_t id = 0;
	int r;

	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
		cr_skip_test("needs BPF: the kernel has no BTF (/sys/kernel/btf/vmlinux)");
	/* No bpffs at /sys/fs/bpf is no reason to skip: supervise mounts one
	 * there itself (and takes it down as the last one out). */
	r = bpf_prog_get_next_id(0, &id);
	if (r == -ENOSYS || r == -EPERM)
		cr_skip_test("needs BPF: bpf(2) says %s", strerror(-r));
}

static const char *helper(const char *name)
{
	static char path[4][PATH_MAX];
	static int i;
	char *p = path[i++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", H.helpers, name);
	cr_assert(access(p, X_OK) == 0, "helper %s not built (make test-bins)", p);
	return p;
}

/* --- JSON ------------------------------------------------------------------- */

/* "a.b.c" in o, or NULL. */
static struct json_object *jget(struct json_object *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, k, &o))
			return NULL;
	return o;
}

static int64_t jint(struct json_object *o, const char *path, const char *text)
{
	struct json_object *v = jget(o, path);

	cr_assert(v && json_object_is_type(v, json_type_int), "%s is not an integer in:\n%s", path, text);
	return json_object_get_int64(v);
}

static const char *jstr(struct json_object *o, const char *path, const char *text)
{
	struct json_object *v = jget(o, path);

	cr_assert(v && json_object_is_type(v, json_type_string), "%s is not a string in:\n%s", path, text);
	return json_object_get_string(v);
}

struct summary {
	struct json_object *o;
	char text[16384];
};

static void load_summary(struct summary *s, const char *path, const struct h_proc *p)
{
	cr_assert(h_exists(path), "no summary at %s" H_SHOW_FMT, path, H_SHOW_ARGS(p));
	h_read_file(path, s->text, sizeof(s->text));
	s->o = json_object_from_file(path);
	cr_assert(s->o, "summary %s is not JSON: %s", path, s->text);
}

/* --- the kernel's own figures ------------------------------------------------- */

/* mm->map_count: the lines of /proc/PID/maps less the [vsyscall] gate area,
 * which the kernel lists but does not count. -1 when the process is gone. */
static long maps_lines(pid_t pid)
{
	char path[64], line[512];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strchr(line, '\n') && !strstr(line, " [vsyscall]"))
			n++;
	fclose(f);
	return n;
}

static int64_t vmrss(pid_t pid)
{
	char path[64], buf[4096];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (h_read_file(path, buf, sizeof(buf)) < 0 || !(p = strstr(buf, "VmRSS:")))
		return -1;
	return strtoll(p + 6, NULL, 10) * 1024;
}

/* How far an RSS figure from the pinned maps may be from VmRSS: 2 %, or the
 * kernel's per-CPU batching bound when larger (6.2+: the rss_stat path reads
 * each percpu_counter's global part, which lags by < nr_cpus * batch pages,
 * batch = max(32, 2 * nr_cpus); RSS sums three counters). */
static int64_t rss_tolerance(int64_t rss)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	int64_t batch = cpus * 2 > 32 ? cpus * 2 : 32;
	int64_t bound = 3 * cpus * batch * sysconf(_SC_PAGESIZE);

	return bound > rss / 50 ? bound : rss / 50;
}

/* The program ids behind the pinned links, "id,id,..." ("" when none). */
static void pinned_prog_ids(char *ret, size_t size)
{
	static const char *const links[] = { "link_newtask", "link_exec", "link_rss_stat",
					     "link_mmap_unlock", "link_exit", "link_exit_mmap", "link_sweep" };
	size_t off = 0;

	ret[0] = '\0';
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		struct bpf_link_info info = { 0 };
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

/* Wait until a run named name is registered with the pinned set and stat
 * shows process pid with at least min_rss bytes; returns stat's JSON text. */
static char *wait_stat(const char *name, pid_t pid, int64_t min_rss, double timeout_s)
{
	char *last = NULL;

	for (double end = h_now() + timeout_s; h_now() < end; h_sleep_ms(100)) {
		struct h_proc s;
		struct json_object *o, *procs;

		h_run(&s, "stat", name, "--json");
		free(last);
		last = strdup(s.out.data);
		o = h_exited_with(&s, 0) ? json_tokener_parse(s.out.data) : NULL;
		h_proc_free(&s);
		if (!o)
			continue;
		procs = jget(o, "processes");
		for (size_t i = 0; procs && i < json_object_array_length(procs); i++) {
			struct json_object *e = json_object_array_get_idx(procs, i);

			if (jint(e, "pid", last) == pid && jint(e, "rss_bytes", last) >= min_rss) {
				json_object_put(o);
				return last;
			}
		}
		json_object_put(o);
	}
	cr_assert_fail("stat %s never showed pid %d with RSS >= %" PRId64 " within %.0f s; last output:\n%s",
		       name, (int)pid, min_rss, timeout_s, last ? last : "(none)");
	return NULL;
}

/* "step 1 PID" from a helper on supervise's stdout. */
static pid_t wait_step_pid(struct h_proc *p, int k)
{
	char prefix[32], *line;
	int step, pid;

	snprintf(prefix, sizeof(prefix), "step %d ", k);
	line = h_wait_line(p, prefix, H_TIMEOUT_S);
	H_ASSERT(p, line && sscanf(line, "step %d %d", &step, &pid) == 2, "no '%s' line from the helper", prefix);
	free(line);
	return pid;
}

/* --- the summary ------------------------------------------------------------ */

Test(probes, maps_test_50000_peak_pid_and_comm_in_summary)
{
	char *path = h_strf("%s/s.json", H.scratch);
	struct summary s;
	struct h_proc p;
	pid_t pid;

	need_bpf();
	h_start(&p, "--name", "maps50k", "--backend", "bpf", "--summary-json", path, "--cgroup-base", H.base, "--",
		helper("maps-test"), "50000");
	pid = wait_step_pid(&p, 1);
	h_finish(&p, 60);
	H_ASSERT_EXIT(&p, 0);
	load_summary(&s, path, &p);
	cr_log_info("maps-test 50000 (pid %d): peak_map_count %" PRId64 " held by %s (pid %" PRId64 ")", (int)pid,
		    jint(s.o, "maps.peak_map_count", s.text), jstr(s.o, "maps.peak_comm", s.text),
		    jint(s.o, "maps.peak_pid", s.text));
	cr_expect_str_eq(jstr(s.o, "backend", s.text), "bpf");
	/* 50,000 of its own plus the program's and libc's (about 20). */
	cr_expect(jint(s.o, "maps.peak_map_count", s.text) >= 50000 &&
		  jint(s.o, "maps.peak_map_count", s.text) <= 50100,
		  "maps.peak_map_count should be in [50000, 50100]:\n%s", s.text);
	cr_expect_eq(jint(s.o, "maps.peak_pid", s.text), pid, "peak_pid should be maps-test's %d:\n%s", (int)pid,
		     s.text);
	cr_expect_str_eq(jstr(s.o, "maps.peak_comm", s.text), "maps-test", "%s", s.text);
	cr_expect_eq(jint(s.o, "processes.started", s.text), 1, "%s", s.text);
	H_ASSERT(&p, strstr(p.err.data, "held by maps-test"), "the human summary should name maps-test");
	json_object_put(s.o);
	h_proc_free(&p);
}

/* The first process is cloned from supervise: until it execs its mm is a copy
 * of supervise's, which must not become the workload's figures. */
Test(probes, exec_starts_fresh_figures_under_the_new_comm)
{
	char *path = h_strf("%s/s.json", H.scratch);
	struct summary s;
	struct h_proc p;
	int64_t peak;

	need_bpf();
	h_run(&p, "--name", "hog", "--backend", "bpf", "--summary-json", path, "--cgroup-base", H.base, "--",
	      helper("memhog"), "32", "1");
	H_ASSERT_EXIT(&p, 0);
	load_summary(&s, path, &p);
	peak = jint(s.o, "maps.peak_map_count", s.text);
	cr_expect_str_eq(jstr(s.o, "maps.peak_comm", s.text), "memhog", "%s", s.text);
	cr_expect_eq(jint(s.o, "maps.peak_pid", s.text), jint(json_object_array_get_idx(jget(s.o, "top"), 0), "pid", s.text),
		     "%s", s.text);
	/* memhog's own: the program, libc, the loader, 4 of its 8 MiB steps (each
	 * a mapping; neighbours may merge): about 25. supervise's copy held 50+. */
	cr_expect(peak > 0 && peak <= 40, "peak_map_count %" PRId64 " is not memhog's own:\n%s", peak, s.text);
	H_ASSERT(&p, !strstr(p.err.data, "held by supervise"), "the peak is attributed to supervise");
	json_object_put(s.o);
	h_proc_free(&p);
}

/* --- stat from a second process ------------------------------------------------ */

static void check_stat(const char *backend)
{
	struct h_proc p, st;
	struct json_object *o, *procs;
	char name[32];
	char *text;
	pid_t pid;

	snprintf(name, sizeof(name), "stat-%s", backend);
	/* memhog holds 48 MiB for 8 s; maps-test holds 2,000 mappings until
	 * sleep closes its stdin, 8 s too: four processes with stable figures. */
	h_start(&p, "--name", name, "--backend", backend, "--cgroup-base", H.base, "--", "sh", "-c",
		h_strf("sleep 8 | %s 2000 --wait & %s 48 8; wait", helper("maps-test"), helper("memhog")));
	text = NULL;
	for (double end = h_now() + H_TIMEOUT_S; h_now() < end && !text; h_sleep_ms(100)) {
		h_run(&st, "stat", name, "--json");
		if (h_exited_with(&st, 0) && (o = json_tokener_parse(st.out.data))) {
			int ok = 0;

			procs = jget(o, "processes");
			for (size_t i = 0; procs && i < json_object_array_length(procs); i++) {
				struct json_object *e = json_object_array_get_idx(procs, i);
				const char *comm = jstr(e, "comm", st.out.data);

				ok += !strcmp(comm, "memhog") && jint(e, "rss_bytes", st.out.data) >= 48 * MIB;
				ok += !strcmp(comm, "maps-test") && jint(e, "map_count", st.out.data) >= 2000;
			}
			if (ok == 2)
				text = strdup(st.out.data);
			json_object_put(o);
		}
		h_proc_free(&st);
	}
	cr_assert(text, "stat %s --json never showed memhog at 48 MiB and maps-test at 2,000 mappings", name);
	/* The figures are stable now: compare each process with /proc. */
	h_run(&st, "stat", name, "--json");
	H_ASSERT_EXIT(&st, 0);
	o = json_tokener_parse(st.out.data);
	cr_assert(o, "stat --json is not JSON: %s", st.out.data);
	cr_expect_str_eq(jstr(o, "name", st.out.data), name);
	cr_expect_str_eq(jstr(o, "backend", st.out.data), backend);
	procs = jget(o, "processes");
	cr_assert(procs && json_object_array_length(procs) == 4, "want sh, sleep, maps-test and memhog:\n%s",
		  st.out.data);
	int64_t sum = 0;
	for (size_t i = 0; i < json_object_array_length(procs); i++) {
		struct json_object *e = json_object_array_get_idx(procs, i);

		pid = jint(e, "pid", st.out.data);
		int64_t rss = jint(e, "rss_bytes", st.out.data), want = vmrss(pid);
		long lines = maps_lines(pid);
		int64_t tol = rss_tolerance(want);

		cr_log_info("%s stat: pid %d %s rss %" PRId64 " KiB (VmRSS %" PRId64 " KiB, tolerance %" PRId64
			    " KiB), map_count %" PRId64 " (/proc maps %ld)", backend, (int)pid,
			    jstr(e, "comm", st.out.data), rss >> 10, want >> 10, tol >> 10,
			    jint(e, "map_count", st.out.data), lines);
		cr_assert(want >= 0 && lines >= 0, "pid %d from stat is not a live process", (int)pid);
		cr_expect(llabs(rss - want) <= tol, "pid %d: stat rss_bytes %" PRId64 " vs VmRSS %" PRId64 " (tolerance %" PRId64 ")",
			  (int)pid, rss, want, tol);
		cr_expect_eq(jint(e, "map_count", st.out.data), lines, "pid %d: stat map_count vs /proc/%d/maps", (int)pid,
			     (int)pid);
		sum += want;
	}
	cr_expect(llabs(jint(o, "rss_bytes", st.out.data) - sum) <= 3 * rss_tolerance(sum),
		  "workload rss_bytes %" PRId64 " vs the sum of VmRSS %" PRId64, jint(o, "rss_bytes", st.out.data), sum);
	cr_expect(jint(o, "map_count_max", st.out.data) >= 2000, "%s", st.out.data);
	json_object_put(o);
	h_proc_free(&st);
	free(text);
	h_finish(&p, 30);
	H_ASSERT_EXIT(&p, 0);
	h_proc_free(&p);
}

Test(probes, stat_json_from_a_second_process_bpf)
{
	need_bpf();
	check_stat("bpf");
}

Test(probes, stat_json_from_a_second_process_procfs)
{
	check_stat("procfs");
}

/* --- bpftool ---------------------------------------------------------------- */

Test(probes, bpftool_dump_shows_named_fields)
{
	struct h_proc p;
	char cmd[PATH_MAX + 64], out[65536];
	size_t n = 0;
	FILE *f;

	need_bpf();
	if (system("command -v bpftool >/dev/null 2>&1") != 0)
		cr_skip_test("bpftool is not installed");
	h_start(&p, "--name", "dump", "--backend", "bpf", "--cgroup-base", H.base, "--", helper("memhog"), "8", "30");
	cr_assert(h_wait_exists(h_strf("%s/workloads", pins), H_TIMEOUT_S), "no pinned workloads map in %s", pins);
	snprintf(cmd, sizeof(cmd), "bpftool map dump pinned %s/workloads 2>&1; bpftool map dump pinned %s/procs 2>&1",
		 pins, pins);
	/* The run's own process shows up once memhog is tracked. */
	for (double end = h_now() + H_TIMEOUT_S; h_now() < end; h_sleep_ms(100)) {
		f = popen(cmd, "r");
		cr_assert(f);
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		pclose(f);
		if (strstr(out, "\"memhog\""))
			break;
	}
	cr_log_info("bpftool dump (start): %.400s", out);
	for (const char *field = "owner_pid\0peak_map_count\0peak_rss_bytes\0nr_procs\0comm\0member_bytes\0map_count\0";
	     *field; field += strlen(field) + 1)
		cr_expect(strstr(out, h_strf("\"%s\":", field)), "bpftool's dump has no named field \"%s\":\n%.2000s",
			  field, out);
	cr_expect(strstr(out, "\"memhog\""), "the procs dump does not show memhog by comm:\n%.2000s", out);
	kill(p.pid, SIGTERM);
	h_finish(&p, H_TIMEOUT_S);
	h_proc_free(&p);
}

/* --- concurrent runs ------------------------------------------------------------- */

static void check_concurrent(int nr)
{
	struct h_proc p[20];
	char ids_first[256] = "", ids[256];
	char *paths[20];

	need_bpf();
	cr_assert(nr <= 20);
	for (int i = 0; i < nr; i++) {
		char name[32], mib[16];

		snprintf(name, sizeof(name), "conc%d", i);
		/* Sizes 2 MiB apart (8, 10, ...): a process counted in the wrong
		 * workload would add at least 8 MiB to it. */
		snprintf(mib, sizeof(mib), "%d", 8 + 2 * i);
		paths[i] = h_strf("%s/s%d.json", H.scratch, i);
		h_start(&p[i], "--name", name, "--backend", "bpf", "--summary-json", paths[i], "--cgroup-base", H.base,
			"--", helper("memhog"), mib, "3");
		if (i == 0) {
			/* The first run has loaded and pinned the set once its
			 * workload is tracked. */
			cr_assert(h_wait_exists(h_strf("%s/link_sweep", pins), H_TIMEOUT_S), "no probe set pinned in %s",
				  pins);
			pinned_prog_ids(ids_first, sizeof(ids_first));
			cr_assert(strchr(ids_first, ','), "pinned programs: '%s'", ids_first);
		}
	}
	pinned_prog_ids(ids, sizeof(ids));
	cr_expect_str_eq(ids, ids_first, "with %d runs the pinned programs are %s; with the first alone %s", nr, ids,
			 ids_first);
	for (int i = 0; i < nr; i++) {
		struct summary s;
		int64_t want = (8 + 2 * i) * MIB, peak;

		h_finish(&p[i], 60);
		H_ASSERT_EXIT(&p[i], 0);
		load_summary(&s, paths[i], &p[i]);
		peak = jint(s.o, "memory.peak_rss_bytes", s.text);
		cr_log_info("run %d: memhog %" PRId64 " MiB: peak_rss_bytes %" PRId64 " KiB, started %" PRId64, i,
			    want / MIB, peak >> 10, jint(s.o, "processes.started", s.text));
		/* Its own memhog: the MiB it touched, plus the binary, libc and
		 * page tables (under 8 MiB); less by the per-CPU batch bound. */
		cr_expect(peak >= want - rss_tolerance(want) && peak <= want + 8 * MIB,
			  "run %d: peak_rss_bytes %" PRId64 " is not its own memhog %" PRId64 " MiB's:\n%s", i, peak,
			  want / MIB, s.text);
		cr_expect_str_eq(jstr(s.o, "backend", s.text), "bpf");
		cr_expect_eq(jint(s.o, "processes.started", s.text), 1, "run %d:\n%s", i, s.text);
		cr_expect_eq(jint(s.o, "processes.peak_concurrent", s.text), 1, "run %d:\n%s", i, s.text);
		cr_expect_str_eq(jstr(s.o, "maps.peak_comm", s.text), "memhog", "run %d:\n%s", i, s.text);
		json_object_put(s.o);
		h_proc_free(&p[i]);
	}
	cr_expect(!h_exists(pins), "the last run out left the pin directory %s: %s", pins, h_list_dir(pins));
}

Test(probes, two_concurrent_runs_each_report_their_own)
{
	check_concurrent(2);
}

Test(probes, twenty_concurrent_runs_each_report_their_own)
{
	check_concurrent(20);
}

/* Runs started together into an empty pin directory: one loads the set, the
 * others wait for its lock and use it (none loads a second one beside it, or
 * falls back to procfs). */
Test(probes, runs_started_together_share_one_set)
{
	enum { N = 4 };
	struct h_proc p[N];
	char *paths[N];

	need_bpf();
	for (int i = 0; i < N; i++) {
		paths[i] = h_strf("%s/t%d.json", H.scratch, i);
		h_start(&p[i], "--name", h_strf("together%d", i), "--backend", "bpf", "--summary-json", paths[i],
			"--cgroup-base", H.base, "--", helper("memhog"), "8", "1");
	}
	for (int i = 0; i < N; i++) {
		struct summary s;

		h_finish(&p[i], 60);
		H_ASSERT_EXIT(&p[i], 0);
		H_ASSERT(&p[i], !strstr(p[i].err.data, "failed"), "run %d reported a failure", i);
		load_summary(&s, paths[i], &p[i]);
		cr_expect_str_eq(jstr(s.o, "backend", s.text), "bpf", "run %d:\n%s", i, s.text);
		cr_expect_str_eq(jstr(s.o, "maps.peak_comm", s.text), "memhog", "run %d:\n%s", i, s.text);
		json_object_put(s.o);
		h_proc_free(&p[i]);
	}
	cr_expect(!h_exists(pins), "the last run out left the pin directory %s: %s", pins, h_list_dir(pins));
}

/* --- a supervisor killed with SIGKILL --------------------------------------------- */

/* Start a run, wait until it is tracked, SIGKILL supervise (its workload
 * lives on), and check that its registration is left behind. */
static void kill_a_supervisor(struct h_proc *p, const char *name)
{
	pid_t pid;

	h_start(p, "--name", name, "--backend", "bpf", "--cgroup-base", H.base, "--", "sh", "-c",
		h_strf("echo \"step 1 $$\"; exec %s 16 60", helper("memhog")));
	pid = wait_step_pid(p, 1);
	free(wait_stat(name, pid, 16 * MIB, H_TIMEOUT_S));
	kill(p->pid, SIGKILL);
	h_finish(p, H_TIMEOUT_S);
	cr_assert(h_exists(h_strf("%s/workloads", pins)), "the killed supervise left no pins in %s", pins);
}

Test(probes, sigkilled_supervisor_is_reaped_by_gc)
{
	struct h_proc p, g;

	need_bpf();
	kill_a_supervisor(&p, "killed");
	h_run(&g, "gc", "--cgroup-base", H.base);
	H_ASSERT_EXIT(&g, 0);
	H_ASSERT(&g, strstr(g.out.data, "dropped 1 probe registration"), "gc should drop the dead registration");
	cr_expect(!h_exists(pins), "gc left the pin directory %s though nobody uses it: %s", pins, h_list_dir(pins));
	h_proc_free(&g);
	h_run(&g, "gc", "--cgroup-base", H.base);
	H_ASSERT_EXIT(&g, 0);
	H_ASSERT(&g, !strstr(g.out.data, "probe registration"), "a second gc has nothing to drop");
	h_proc_free(&g);
	h_proc_free(&p);
}

Test(probes, sigkilled_supervisor_is_reaped_by_the_next_run)
{
	char *path = h_strf("%s/s.json", H.scratch);
	struct h_proc p, n;
	struct summary s;

	need_bpf();
	kill_a_supervisor(&p, "killed");
	h_run(&n, "--name", "next", "--backend", "bpf", "--summary-json", path, "--cgroup-base", H.base, "--",
	      helper("memhog"), "8", "0");
	H_ASSERT_EXIT(&n, 0);
	load_summary(&s, path, &n);
	cr_expect_str_eq(jstr(s.o, "backend", s.text), "bpf");
	cr_expect_str_eq(jstr(s.o, "maps.peak_comm", s.text), "memhog", "%s", s.text);
	cr_expect(!h_exists(pins), "the next run, last out, left the pin directory %s: %s", pins, h_list_dir(pins));
	json_object_put(s.o);
	h_proc_free(&n);
	h_proc_free(&p);
}

/* A run that starts while the set is held takes over the ring buffer of an
 * ended run (no map-in-map update on the start). Here the ended run was
 * SIGKILLed while its workload kept exiting processes, so its ring buffer
 * still holds exit records nobody read: the next run reports only its own. */
Test(probes, a_taken_over_ring_buffer_reports_only_its_own_run)
{
	char *path = h_strf("%s/s.json", H.scratch);
	struct h_proc holder, killed, next;
	struct summary s;

	need_bpf();
	/* Keeps the set (and its ring buffers) pinned between the runs. */
	h_start(&holder, "--name", "holder", "--backend", "bpf", "--cgroup-base", H.base, "--", "sleep", "60");
	cr_assert(h_wait_exists(h_strf("%s/link_sweep", pins), H_TIMEOUT_S), "no probe set pinned in %s", pins);
	h_start(&killed, "--name", "killed", "--backend", "bpf", "--cgroup-base", H.base, "--", "sh", "-c",
		"echo \"step 1 $$\"; while :; do /bin/true; done");
	wait_step_pid(&killed, 1);
	h_sleep_ms(300);      /* a few hundred exits read */
	kill(killed.pid, SIGKILL);
	h_finish(&killed, H_TIMEOUT_S);
	h_sleep_ms(300);      /* and more that nobody reads */
	h_run(&next, "--name", "next", "--backend", "bpf", "--summary-json", path, "--cgroup-base", H.base, "--",
	      helper("memhog"), "8", "0");
	H_ASSERT_EXIT(&next, 0);
	load_summary(&s, path, &next);
	cr_expect_str_eq(jstr(s.o, "backend", s.text), "bpf");
	cr_expect_eq(jint(s.o, "processes.started", s.text), 1, "%s", s.text);
	struct json_object *top = jget(s.o, "top");
	cr_assert(top && json_object_get_type(top) == json_type_array, "no top list:\n%s", s.text);
	cr_expect_eq(json_object_array_length(top), 1, "only memhog ran in this run:\n%s", s.text);
	for (size_t i = 0; i < json_object_array_length(top); i++)
		cr_expect_str_eq(jstr(json_object_array_get_idx(top, i), "comm", s.text), "memhog",
				 "a process of another run in this run's summary:\n%s", s.text);
	json_object_put(s.o);
	h_proc_free(&next);
	kill(holder.pid, SIGTERM);
	h_finish(&holder, H_TIMEOUT_S);
	h_proc_free(&holder);
	h_proc_free(&killed);
}

/* --- --backend ------------------------------------------------------------------ */

static void check_backend(const char *backend)
{
	char *path = h_strf("%s/s.json", H.scratch);
	struct summary s;
	struct h_proc p;
	int64_t peak;

	h_run(&p, "--name", "be", "--backend", backend, "--summary-json", path, "--cgroup-base", H.base, "--",
	      helper("memhog"), "32", "1");
	H_ASSERT_EXIT(&p, 0);
	load_summary(&s, path, &p);
	peak = jint(s.o, "memory.peak_rss_bytes", s.text);
	cr_expect_str_eq(jstr(s.o, "backend", s.text), backend, "%s", s.text);
	/* memhog holds 32 MiB for 1 s: both backends see it (procfs from
	 * VmHWM at a sample), plus the binary and libc. */
	cr_expect(peak >= 32 * MIB - rss_tolerance(32 * MIB) && peak <= 40 * MIB,
		  "%s: peak_rss_bytes %" PRId64 " should be in [32, 40] MiB:\n%s", backend, peak, s.text);
	cr_expect(jint(s.o, "maps.peak_map_count", s.text) > 0, "%s", s.text);
	json_object_put(s.o);
	h_proc_free(&p);
}

Test(probes, backend_procfs_works)
{
	check_backend("procfs");
	cr_expect(!h_exists(pins), "the procfs backend pinned probes in %s", pins);
}

Test(probes, backend_bpf_works)
{
	need_bpf();
	check_backend("bpf");
}

Test(probes, backend_bogus_exits_125)
{
	struct h_proc p;

	h_run(&p, "--backend", "bogus", "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, "bogus"), "the message should name the bad value");
	H_ASSERT(&p, h_count_subdirs(H.base) == 0, "a leaf was made for a refused command line");
	h_proc_free(&p);
}
