/*
 * Adaptive probing (issue 13): the per-event programs (rss_stat,
 * mmap_lock_released) run only while a workload is near a threshold.
 *
 * Run counts come from the kernel's own BPF statistics (BPF_ENABLE_STATS,
 * held by the test for its duration) of the programs pinned in the test's own
 * probe set; page faults from getrusage(RUSAGE_CHILDREN): supervise waits for
 * its workload, so the workload's faults reach the test when it reaps
 * supervise.
 */
#include "harness.h"

#include <inttypes.h>
#include <sys/resource.h>
#include <bpf/bpf.h>

#define MIB (1024ll * 1024ll)

static int stats_fd = -1;

static void ad_setup(void)
{
	h_setup();
	h_private_pin_dir();
	setenv("SUPERVISE_CACHE_DIR", h_strf("%s/cache", H.scratch), 1);
}

static void ad_teardown(void)
{
	h_teardown();
	h_remove_pin_dir();
	if (stats_fd >= 0)
		close(stats_fd);
	stats_fd = -1;
}

TestSuite(adaptive, .init = ad_setup, .fini = ad_teardown, .timeout = 120);

static void need_bpf(void)
{
	struct h_proc c;
	h_run(&c, "check");
	bool works = strstr(c.out.data, "ok   BPF") != NULL;
	h_proc_free(&c);
	if (!works)
		cr_skip_test("needs the bpf backend, which 'supervise check' says this machine cannot load");
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	cr_assert(stats_fd >= 0, "BPF_ENABLE_STATS: %s", strerror(errno));
}

static const char *pin(const char *name)
{
	return h_strf("%s/%s", getenv("SUPERVISE_BPF_PIN_DIR"), name);
}

/* An fd on a pinned program of the test's set, once a run pinned it: it keeps
 * the program (and its counts) after the set is unpinned. */
static int hold_prog(const char *name)
{
	const char *path = pin(name);
	cr_assert(h_wait_exists(path, H_TIMEOUT_S), "no %s: the probe set was not pinned", path);
	int fd = bpf_obj_get(path);
	cr_assert(fd >= 0, "bpf_obj_get %s: %s", path, strerror(errno));
	return fd;
}

static uint64_t run_cnt(int prog_fd)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	cr_assert(bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0, "prog info: %s", strerror(errno));
	return info.run_cnt;
}

static long children_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static bool armed(void)
{
	return h_exists(pin("link_rss_stat")) || h_exists(pin("link_mmap_unlock"));
}

/* A supervised workload far below its budget (8 GiB) touches 512 MiB: the hot
 * programs run for at most 1 % of its page faults (they are not attached). */
Test(adaptive, far_from_the_budget_the_hot_programs_stay_off)
{
	struct h_proc p;

	need_bpf();
	long f0 = children_faults();
	h_start(&p, "--backend", "bpf", "--cgroup-base", H.base, "--mem", "8GiB", "--jobs", "2", "--", "sh", "-c",
		h_strf("sleep 0.5; exec %s 512 1", h_helper("memhog")));
	int rss = hold_prog("prog_rss_stat"), maps = hold_prog("prog_mmap_unlock");
	uint64_t r0 = run_cnt(rss) + run_cnt(maps);
	h_finish(&p, 60);
	H_ASSERT_EXIT(&p, 0);
	long faults = children_faults() - f0;
	uint64_t runs = run_cnt(rss) + run_cnt(maps) - r0;
	cr_assert(faults >= 512 * MIB / 4096 / 2, "the workload made only %ld page faults: did it touch 512 MiB?", faults);
	cr_expect(runs * 100 <= (uint64_t)faults, "the hot programs ran %" PRIu64 " times for %ld page faults (> 1 %%)",
		  runs, faults);
	close(rss);
	close(maps);
	h_proc_free(&p);
}

/* An unsupervised process touching 512 MiB while a supervised idle workload
 * runs: the hot programs run for at most 1 % of its page faults. */
Test(adaptive, other_processes_pay_nothing_while_a_run_is_idle)
{
	struct h_proc p, u;

	need_bpf();
	h_start(&p, "--backend", "bpf", "--cgroup-base", H.base, "--mem", "1GiB", "--jobs", "2", "--", "sleep", "30");
	int rss = hold_prog("prog_rss_stat"), maps = hold_prog("prog_mmap_unlock");
	/* Its first turns over (a 50 ms pace at start). */
	h_sleep_ms(300);
	uint64_t r0 = run_cnt(rss) + run_cnt(maps);
	long f0 = children_faults();
	h_startv(&u, &(struct h_opts){ .raw = true }, (const char *const[]){ h_helper("memhog"), "512", "0", NULL });
	h_finish(&u, 60);
	cr_assert(h_exited_with(&u, 0), "memhog: %s", h_status_str(&u));
	long faults = children_faults() - f0;
	uint64_t runs = run_cnt(rss) + run_cnt(maps) - r0;
	cr_assert(faults >= 512 * MIB / 4096 / 2, "memhog made only %ld page faults", faults);
	cr_expect(runs * 100 <= (uint64_t)faults, "the hot programs ran %" PRIu64 " times for %ld page faults (> 1 %%)",
		  runs, faults);
	kill(p.pid, SIGTERM);
	h_finish(&p, H_TIMEOUT_S);
	close(rss);
	close(maps);
	h_proc_free(&u);
	h_proc_free(&p);
}

/* A workload that nears its budget (256 MiB, enforced by supervise on a
 * hybrid host) gets the hot programs attached before the crossing, and is
 * killed as it crosses, as in test_jobserver's kill_at_the_budget test. (A
 * workload that starts far and races to the budget faster than the assumed
 * 1 GiB/s may cross before the arm: then the 50 ms sweep acts on it, which
 * test_jobserver's own test covers.) */
Test(adaptive, near_the_budget_the_hot_programs_run_and_the_crossing_is_acted_on)
{
	struct h_proc p;

	if (h_base_has_controller("memory"))
		cr_skip_test("the kernel enforces memory.max below %s: it OOM-kills, not supervise", H.base);
	need_bpf();
	char *sum = h_strf("%s/s.json", H.scratch);
	/* 180 MiB held first (near the pause point: armed), then a second
	 * process grows past the budget at memset speed. */
	h_start(&p, "--backend", "bpf", "--cgroup-base", H.base, "--summary-json", sum, "--mem", "256MiB", "--jobs",
		"2", "--", "sh", "-c", h_strf("%s 180 10 & sleep 1; exec %s 600 10", h_helper("memhog"), h_helper("memhog")));
	int rss = hold_prog("prog_rss_stat");
	uint64_t r0 = run_cnt(rss);
	h_finish(&p, 60);
	H_ASSERT_EXIT(&p, 137);
	H_ASSERT(&p, strstr(p.err.data, "budget 256MiB") && strstr(p.err.data, "memhog"),
		 "the message should name the budget and the process");
	struct json_object *o = json_object_from_file(sum), *m, *v;
	H_ASSERT(&p, o && json_object_object_get_ex(o, "memory", &m) && json_object_object_get_ex(m, "peak_rss_bytes", &v),
		 "no memory.peak_rss_bytes in %s", sum);
	int64_t peak = json_object_get_int64(v);
	H_ASSERT(&p, peak >= 256 * MIB && peak < 320 * MIB, "peak %" PRId64 " MiB: want in [256, 320) MiB", peak / MIB);
	cr_expect(run_cnt(rss) > r0, "rss_stat never ran: the crossing was not watched by the per-event programs");
	json_object_put(o);
	close(rss);
	h_proc_free(&p);
}

/* Start a run that holds 200 MiB under a 256 MiB budget (near: armed) and
 * SIGKILL its supervise once the hot programs are attached. */
static void kill_while_armed(struct h_proc *p)
{
	h_start(p, "--name", "armed", "--backend", "bpf", "--cgroup-base", H.base, "--mem", "256MiB", "--jobs", "2", "--",
		h_helper("memhog"), "200", "60");
	double t0 = h_now();
	while (!armed() && h_now() - t0 < H_TIMEOUT_S)
		h_sleep_ms(20);
	cr_assert(armed(), "200 MiB under a 256 MiB budget did not attach the hot programs");
	kill(p->pid, SIGKILL);
	h_finish(p, H_TIMEOUT_S);
	cr_assert(armed(), "the killed supervise's arm should outlive it until someone settles it");
}

/* Attached programs, by the pinned program's id, from bpftool's link list. */
static int links_of(const char *prog)
{
	int fd = bpf_obj_get(pin(prog));
	if (fd < 0)
		return 0;
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	int n = 0;
	uint32_t id = 0;
	while (bpf_link_get_next_id(id, &id) == 0) {
		int lfd = bpf_link_get_fd_by_id(id);
		struct bpf_link_info li = {};
		uint32_t llen = sizeof(li);
		if (lfd >= 0 && bpf_obj_get_info_by_fd(lfd, &li, &llen) == 0 && li.prog_id == info.id)
			n++;
		if (lfd >= 0)
			close(lfd);
	}
	return n;
}

Test(adaptive, a_supervise_killed_while_armed_leaves_nothing_attached_after_gc)
{
	struct h_proc idle, p, g;

	need_bpf();
	/* Someone stays: gc must settle the links, not just unpin an empty set. */
	h_start(&idle, "--name", "idle", "--backend", "bpf", "--cgroup-base", H.base, "--", "sleep", "60");
	kill_while_armed(&p);
	h_run(&g, "gc", "--cgroup-base", H.base);
	H_ASSERT_EXIT(&g, 0);
	cr_expect(!armed(), "gc left the hot programs pinned attached: %s", h_list_dir(getenv("SUPERVISE_BPF_PIN_DIR")));
	cr_expect(links_of("prog_rss_stat") == 0 && links_of("prog_mmap_unlock") == 0,
		  "gc left %d rss_stat and %d mmap_lock_released links attached", links_of("prog_rss_stat"),
		  links_of("prog_mmap_unlock"));
	kill(idle.pid, SIGTERM);
	h_finish(&idle, H_TIMEOUT_S);
	h_proc_free(&g);
	h_proc_free(&p);
	h_proc_free(&idle);
}

Test(adaptive, a_supervise_killed_while_armed_leaves_nothing_attached_after_the_next_run)
{
	struct h_proc idle, p, n;

	need_bpf();
	h_start(&idle, "--name", "idle", "--backend", "bpf", "--cgroup-base", H.base, "--", "sleep", "60");
	kill_while_armed(&p);
	h_run(&n, "--name", "next", "--backend", "bpf", "--cgroup-base", H.base, "--", "true");
	H_ASSERT_EXIT(&n, 0);
	cr_expect(!armed(), "the next run left the hot programs attached: %s", h_list_dir(getenv("SUPERVISE_BPF_PIN_DIR")));
	cr_expect(links_of("prog_rss_stat") == 0 && links_of("prog_mmap_unlock") == 0,
		  "the next run left %d rss_stat and %d mmap_lock_released links attached", links_of("prog_rss_stat"),
		  links_of("prog_mmap_unlock"));
	kill(idle.pid, SIGTERM);
	h_finish(&idle, H_TIMEOUT_S);
	h_proc_free(&n);
	h_proc_free(&p);
	h_proc_free(&idle);
}
