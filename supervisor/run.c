/* run: the supervise orchestrator. It reads as a list of steps:
 * resolve → collect stale runs → claim a name → create the leaf → start the
 * guard → launch → loop → tear down → report. */
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

#include "budget.h"
#include "cgroup.h"
#include "ci.h"
#include "guard.h"
#include "jobctl.h"
#include "launch.h"
#include "live.h"
#include "log.h"
#include "memauto.h"
#include "proc.h"
#include "proctree.h"
#include "monitor.h"
#include "observe.h"
#include "run.h"
#include "rundir.h"
#include "sandbox.h"
#include "status.h"
#include "summary.h"
#include "util.h"

/* Forwarded to the workload's main process, as the issue and DESIGN.md list. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

struct run {
	const struct config *cfg;
	char base[PATH_MAX];
	char run_dir[PATH_MAX];
	struct run_info info;
	struct cgroup_limits limits;    /* cpu.max, pids.max; memory is the budget's */
	struct budget budget;
	const char *budget_source;      /* the summary's memory.budget_source */
	struct cgroup cg;
	bool no_leaf;                   /* no writable cgroup: the workload is our process tree */
	bool killed;                    /* killed at the budget by run.c (without --jobs) */
	struct guard guard;
	struct monitor *mon;
	struct jobctl *jc;
	struct live *live;
	struct ci *ci;                  /* GitHub/GitLab output; NULL outside CI */
	struct sandbox *sb;
	struct observe *obs;            /* --log, --metrics-file */
	struct reading final;
	bool have_final;
	bool have_run_dir;
	sigset_t old_mask;
	struct sigaction old_sigpipe;
	int sigfd;
	int timer_fd;                   /* the loop's one clock */
	unsigned period_ms;
	uint64_t rss_armed;             /* the thresholds the monitor holds */
	uint32_t map_armed;
	bool reading_failed;
	struct reading last;            /* totals of the last reading that changed */
	bool have_last;
	unsigned quiet;                 /* turns in a row the workload held still */
	pid_t pid;
	int pidfd;
	int wstatus;
	bool exited;
	uint64_t t0;
	/* read from the leaf before it goes */
	uint64_t oom_kills;
	bool has_peak;
	uint64_t peak;
	const char *killed_by;    /* "kernel-oom" | "supervise" | "signal" | NULL */
};

static void reap(void *userdata)
{
	struct run *r = userdata;
	int st;
	pid_t pid;
	/* A subreaper inherits the workload's orphans: collect them all. */
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == r->pid) {
			r->wstatus = st;
			r->exited = true;
		} else if (pid == r->guard.pid) {
			r->guard.pid = 0;
		}
	}
}

static int resolve_limits(struct run *r)
{
	const struct config *c = r->cfg;
	uint64_t ref = 0;
	if ((c->has_mem && c->mem.is_percent) || (c->has_mem_high && c->mem_high.is_percent))
		ref = cgroup_memory_reference(r->base);
	struct budget_input *in = &r->budget.in;
	if (c->mem_auto) {
		struct memauto ma;
		int ret = memauto_resolve(&ma);
		if (ret < 0)
			return ret;
		char b[32], l[32], res[32];
		log_info("memory: --mem auto: budget %s = %s (%s) less a reserve of %s for supervise and the runner",
			 format_bytes(ma.budget, b, sizeof(b)), format_bytes(ma.limit, l, sizeof(l)), ma.where,
			 format_bytes(ma.reserve, res, sizeof(res)));
		in->mem = ma.budget;
		r->budget_source = memauto_source_name(ma.source);
	} else if (c->has_mem) {
		in->mem = size_resolve(&c->mem, ref);
		r->budget_source = "option";
	}
	if (c->has_mem_high)
		in->mem_high = size_resolve(&c->mem_high, ref);
	in->jobs = c->has_jobs;
	if (in->mem && in->mem_high > in->mem) {
		char a[32], b[32];
		log_error("--mem-high %s (%s) is above --mem %s (%s); memory.high must be at or below memory.max",
			  c->mem_high_arg, format_bytes(in->mem_high, a, sizeof(a)), c->mem_arg,
			  format_bytes(in->mem, b, sizeof(b)));
		return -EINVAL;
	}
	if (c->cpus > 0) {
		r->limits.cpu_period_us = 100000;
		r->limits.cpu_quota_us = (uint64_t)llround(c->cpus * 100000.0);
	}
	r->limits.pids_max = c->pids;
	return 0;
}

static void warn_unenforced(const struct run *r, unsigned missing)
{
	if (!missing)
		return;
	char names[64], what[256] = "";
	size_t o = 0;
	const struct config *c = r->cfg;
	/* --mem is enforced by supervise where the kernel cannot (jobctl says
	 * so with --jobs, this function without); --mem-high stays missing. */
	if (c->has_mem && (missing & CGROUP_MEMORY) && !c->has_jobs && !r->no_leaf)
		log_warn("memory: the kernel cannot enforce --mem %s here (no v2 memory controller below %s); "
			 "supervise enforces it from its own readings and kills the workload at the budget",
			 c->mem_arg, r->base);
	if (c->has_mem && !c->has_mem_high)
		missing &= ~CGROUP_MEMORY;
	if (!missing)
		return;
	if ((missing & CGROUP_MEMORY) && c->has_mem)
		o += snprintf(what + o, sizeof(what) - o, "%s--mem %s", o ? ", " : "", c->mem_arg);
	if ((missing & CGROUP_MEMORY) && c->has_mem_high)
		o += snprintf(what + o, sizeof(what) - o, "%s--mem-high %s", o ? ", " : "", c->mem_high_arg);
	if (missing & CGROUP_CPU)
		o += snprintf(what + o, sizeof(what) - o, "%s--cpus %g", o ? ", " : "", c->cpus);
	if (missing & CGROUP_PIDS)
		o += snprintf(what + o, sizeof(what) - o, "%s--pids %" PRIu64, o ? ", " : "", c->pids);
	bool plural = __builtin_popcount(missing) > 1;
	log_warn("cgroup: the kernel will not enforce %s: the %s controller%s not available in cgroup v2 "
		 "below %s (on hybrid hosts %s bound to cgroup v1)%s",
		 what, cgroup_controller_names(missing, names, sizeof(names)), plural ? "s are" : " is", r->base,
		 plural ? "they are" : "it is",
		 (missing & CGROUP_MEMORY) && c->has_mem_high ? "; supervise enforces --mem, not --mem-high" : "");
}

static int make_id(char *ret, size_t size)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)now_ns() ^ (uint32_t)getpid() << 16;
	snprintf(ret, size, "%08x", v);
	return 0;
}

/* `supervise set`: the jobserver follows the new budget and job range. */
static void budget_changed(const struct live_budget *lb, const struct budget *b, void *userdata)
{
	struct run *r = userdata;
	if (r->jc)
		jobctl_set_budget(r->jc, b, lb->jobs_min, lb->jobs_max);
	observe_set(r->obs, b ? b->in.mem : 0, lb->cpus, lb->jobs_min, lb->jobs_max);
}

/* The memory budget, now that the leaf's controllers and the monitor's
 * backend are known, written through cgroup.h with the other limits. */
/* The limits, right after the leaf exists (before the monitor, which can
 * take a moment to load: nothing runs in the leaf without them). The margin
 * depends on the backend: taken as bpf unless procfs was asked for, and the
 * budget derived again by budget_backend() once the monitor is open. */
static int apply_limits(struct run *r)
{
	unsigned missing = 0, mem_missing = 0;
	int ret;

	r->budget.in.kernel_memory = (r->cg.controllers & CGROUP_MEMORY) != 0;
	r->budget.in.fast = r->cfg->backend != MONITOR_PROCFS;
	budget_derive(&r->budget.in, &r->budget);
	if (r->no_leaf) {
		/* Nothing to write to: everything asked of the kernel is missing. */
		missing = (r->limits.cpu_quota_us ? CGROUP_CPU : 0) | (r->limits.pids_max ? CGROUP_PIDS : 0) |
			  (r->budget.in.mem || r->budget.in.mem_high ? CGROUP_MEMORY : 0);
		warn_unenforced(r, missing);
		return 0;
	}
	if ((ret = budget_apply(&r->budget, &r->cg, &mem_missing)) < 0)
		return ret;
	if ((ret = cgroup_apply_limits(&r->cg, &r->limits, &missing)) < 0)
		return ret;
	warn_unenforced(r, missing | mem_missing);
	return 0;
}

/* The monitor fell back to procfs: its larger margin moves the pause point
 * (and memory.high with it). */
static int budget_backend(struct run *r)
{
	bool fast = streq(monitor_backend_name(r->mon), "bpf");
	if (fast == r->budget.in.fast)
		return 0;
	r->budget.in.fast = fast;
	budget_derive(&r->budget.in, &r->budget);
	return budget_apply(&r->budget, &r->cg, NULL);
}

/* Is a leaf below base possible for us? Asked before trying, so that a
 * plain user (or a container with a read-only cgroupfs) gets one line
 * saying so instead of a failed mkdir. false with errno set when not. */
static bool leaf_possible(const char *base)
{
	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/supervise", base);
	return access(dir, F_OK) == 0 ? access(dir, W_OK) == 0 : access(base, W_OK) == 0;
}

static int setup_leaf(struct run *r)
{
	int ret;
	/* The memory controller always, where available: memory.peak and
	 * memory.events (OOM kills) are worth reading without a limit too. */
	unsigned want = CGROUP_MEMORY;
	if (r->limits.cpu_quota_us)
		want |= CGROUP_CPU;
	if (r->limits.pids_max)
		want |= CGROUP_PIDS;
	if ((ret = cgroup_create(r->info.cgroup, want, &r->cg)) < 0)
		return ret;
	rundir_mark_leaf(r->cg.path, &r->info);
	/* The guard right after the leaf: from here on, whatever kills
	 * supervise, the leaf does not outlive it. */
	return guard_start(r->cg.path, r->run_dir, &r->guard);
}

static int setup(struct run *r)
{
	const struct config *c = r->cfg;
	int ret;

	/* Signals arrive on a signalfd. Block them before anything exists to
	 * clean up: a SIGTERM during setup then waits and is forwarded to the
	 * workload once it runs, instead of killing supervise half-way. */
	sigset_t mask;
	sigemptyset(&mask);
	for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
		sigaddset(&mask, forwarded[i]);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, &r->old_mask) < 0)
		return log_errno(-errno, "run: blocking signals failed: %m");
	/* A closed stderr (supervise -v | head) must not kill supervise with
	 * SIGPIPE half-way through; the workload gets the disposition back. */
	struct sigaction ign = { .sa_handler = SIG_IGN };
	if (sigaction(SIGPIPE, &ign, &r->old_sigpipe) < 0)
		return log_errno(-errno, "run: ignoring SIGPIPE failed: %m");
	r->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r->sigfd < 0)
		return log_errno(-errno, "run: signalfd failed: %m");

	if ((ret = summary_check_path(c->summary_json)) < 0)
		return ret;
	if ((ret = sandbox_prepare(c, &r->sb)) < 0)
		return ret;
	if ((ret = cgroup_resolve_base(c->cgroup_base, r->base, sizeof(r->base))) < 0 && c->cgroup_base)
		return ret;
	int leaf_errno = ret < 0 ? -ret : 0;
	r->no_leaf = ret < 0 || !leaf_possible(r->base);
	if (r->no_leaf && !leaf_errno)
		leaf_errno = errno;
	if (r->no_leaf && c->cgroup_base)
		return log_errno(-EACCES, "cgroup: --cgroup-base %s is not writable by uid %d; pass a subtree "
					  "delegated to you, or leave --cgroup-base out to run without a leaf",
				 r->base, (int)geteuid());
	if ((ret = resolve_limits(r)) < 0)
		return ret;

	/* Whatever a SIGKILLed supervisor left goes first. */
	if (!r->no_leaf)
		rundir_gc(r->base);

	char id[16];
	make_id(id, sizeof(id));
	if (c->name)
		snprintf(r->info.name, sizeof(r->info.name), "%s", c->name);
	else
		run_name_from_command(c->argv[0], r->info.name, sizeof(r->info.name));
	r->info.pid = getpid();
	pid_starttime(r->info.pid, &r->info.pid_starttime);
	r->info.started_unix = time(NULL);
	r->info.budget_bytes = r->budget.in.mem;
	if ((ret = rundir_claim(&r->info, c->name != NULL, r->base, id, r->run_dir, sizeof(r->run_dir))) < 0)
		return ret;
	r->have_run_dir = true;
	if (r->no_leaf) {
		r->info.cgroup[0] = '\0';
		/* No leaf to kill if we are SIGKILLed: our process group, where
		 * it is ours alone (we lead it), else PDEATHSIG's main process
		 * only — said with -v. */
		if (getpgrp() == getpid()) {
			if ((ret = guard_start_group(getpid(), r->run_dir, &r->guard)) < 0)
				return ret;
		} else {
			log_info("run: no leaf and not leading a process group of our own: if supervise is killed "
				 "alone (SIGKILL), the workload's descendants outlive it; run it as a job of its own "
				 "(a shell's, or setsid)");
		}
	} else if ((ret = setup_leaf(r)) < 0) {
		return ret;
	}
	if ((ret = apply_limits(r)) < 0)
		return ret;

	/* Watch before launch: the first process is tracked from its start.
	 * Without a leaf only procfs can: the bpf probes track a cgroup. */
	if ((ret = monitor_open(r->no_leaf ? MONITOR_PROCFS : c->backend, r->no_leaf ? "" : r->cg.path, &r->mon)) < 0)
		return ret;
	errno = leaf_errno;
	if (r->no_leaf)
		log_warn("cgroup: no leaf (%s is not writable by uid %d: %m): the workload runs in supervise's "
			 "own cgroup, watched by the procfs backend (no BPF: it tracks a leaf), killed as a process "
			 "tree; no --cpus/--pids%s; 'supervise check' names the fix",
			 r->base[0] ? r->base : "no cgroup v2 mount", (int)geteuid(),
			 c->has_mem ? "; --mem is enforced by supervise from its readings" : "");
	snprintf(r->info.backend, sizeof(r->info.backend), "%s", monitor_backend_name(r->mon));
	rundir_update(r->run_dir, &r->info);
	if ((ret = budget_backend(r)) < 0)
		return ret;
	if (!r->no_leaf)
		log_info("cgroup: running %s in %s", c->argv[0], r->cg.path);

	/* The CPU count: the leaf's quota and its ancestors', or without a
	 * leaf our own cgroup's (a container's cpu.max is there). */
	const char *cpu_cg = r->no_leaf ? (r->base[0] ? r->base : NULL) : r->cg.path;
	unsigned cpus = budget_cpus(cpu_cg, c->cpus);
	struct launch_var env[8];
	size_t nr_env = 0;
	if (c->has_jobs) {
		struct jobctl_config jcfg = {
			.min_jobs = c->jobs_min,
			.max_jobs = c->jobs_max,
			.jobs_auto = c->jobs_auto,
			.cpus = cpus,
			.job_mem = c->has_job_mem ? c->job_mem.bytes : 0,
			.style = c->jobserver_style,
			/* CI logs are files: no live line (CI=true says so). */
			.status_line = !c->quiet && isatty(STDERR_FILENO) && !ci_detected(),
			.announce = !c->quiet,
		};
		if ((ret = jobctl_open(&jcfg, &r->budget, c->argv, r->run_dir, r->cg.path, &r->jc)) < 0)
			return ret;
		nr_env = jobctl_env(r->jc, env, ELEMENTSOF(env));
	}

	/* The jobserver's variables go to the launch environment only. */
	struct live_options lo = { .cfg = c, .run_dir = r->run_dir, .base = r->base, .cg = &r->cg,
				   .budget = &r->budget, .limits = &r->limits, .info = &r->info,
				   .cpus = budget_cpus(cpu_cg, 0), .env = env, .nr_env = nr_env };
	if ((ret = live_open(&lo, &r->live)) < 0)
		return ret;
	struct observe_options oo = { .cfg = c, .run_dir = r->run_dir, .info = &r->info, .mon = r->mon };
	if ((ret = observe_open(&oo, &r->obs)) < 0)
		return ret;
	live_set_budget_hook(r->live, budget_changed, r);

	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->timer_fd < 0)
		return log_errno(-errno, "run: timerfd failed: %m");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return log_errno(-errno, "run: becoming a child subreaper failed: %m");
	return 0;
}

static int launch(struct run *r, int *ret_status)
{
	int exec_errno = 0;
	int fds[2];
	struct launch l = { .argv = r->jc ? jobctl_argv(r->jc, r->cfg->argv) : r->cfg->argv, .cgroup_fd = r->cg.fd, .restore_mask = &r->old_mask,
			    .restore_sigpipe = &r->old_sigpipe,
			    .envp = sandbox_env(r->sb, live_launch_env(r->live)), .sandbox = r->sb,
			    .inherit_fds = fds, .nr_inherit_fds = r->jc ? jobctl_inherit_fds(r->jc, fds) : 0 };
	r->t0 = now_ns();
	r->ci = ci_open(r->t0);
	int ret = launch_workload(&l, &r->pid, &r->pidfd, &exec_errno);
	if (ret < 0)
		return ret;
	if (r->jc && !exec_errno)
		jobctl_started(r->jc, r->pid);
	if (exec_errno) {
		*ret_status = exit_status_from_exec_errno(exec_errno);
		errno = exec_errno;
		if (*ret_status == EXIT_NOT_FOUND)
			log_error("%s: command not found (%m)", r->cfg->argv[0]);
		else
			log_error("%s: cannot execute: %m", r->cfg->argv[0]);
	}
	return 0;
}

/* How soon the next reading is wanted: the soonest any consumer asks for,
 * stretched (doubling, up to QUIET_MAX_MS) once the workload has held still
 * for QUIET_TURNS turns in a row — the same processes, summed RSS within 1 %,
 * no exit, no crossing. Crossings wake the loop at once whatever the period;
 * any change brings it back. The streak matters: a workload that cycles (a
 * job grows, crosses, frees) can look the same at a few ticks in a row, and
 * the governor only sees memory come back at a tick (a fall sends no
 * crossing). At 1,000 processes a reading costs about a millisecond
 * (docs/performance.md). */
#define JOBS_PERIOD_MS 100
#define QUIET_MAX_MS   1000
#define QUIET_TURNS    10

static bool holds_still(const struct reading *a, const struct reading *b)
{
	uint64_t d = a->rss_bytes > b->rss_bytes ? a->rss_bytes - b->rss_bytes : b->rss_bytes - a->rss_bytes;
	return a->nr_procs == b->nr_procs && d <= b->rss_bytes / 100 && !a->nr_exits && !a->alert_ns &&
	       !a->map_alerts;
}

static int arm_clock(struct run *r, const struct reading *rd)
{
	unsigned ms = live_period_ms(r->live);
	if (r->jc && JOBS_PERIOD_MS < ms)
		ms = JOBS_PERIOD_MS;
	if (observe_period_ms(r->obs) < ms)
		ms = observe_period_ms(r->obs);
	/* Paused jobs or a narrowing under way: jobctl acts within a tick. */
	bool still = rd && r->have_last && holds_still(rd, &r->last) && !live_hold_tokens(r->live) &&
		     !jobctl_needs_turns(r->jc);
	r->quiet = still ? (r->quiet < QUIET_TURNS + 8 ? r->quiet + 1 : r->quiet) : 0;
	for (unsigned q = QUIET_TURNS; q < r->quiet && ms < QUIET_MAX_MS; q++)
		ms = ms * 2 < QUIET_MAX_MS ? ms * 2 : QUIET_MAX_MS;
	/* The monitor's pace: far from a threshold its figures are only as
	 * fresh as its last sweep, and it sweeps at its turns. */
	unsigned mon_ms = monitor_next_ms(r->mon);
	if (mon_ms && mon_ms < ms)
		ms = mon_ms;
	if (rd && !still) {
		r->last = *rd;
		r->have_last = true;
	}
	if (ms == r->period_ms)
		return 0;
	r->period_ms = ms;
	struct itimerspec its = { .it_interval = { ms / 1000, (ms % 1000) * 1000000L },
				  .it_value = { ms / 1000, (ms % 1000) * 1000000L } };
	return timerfd_settime(r->timer_fd, 0, &its, NULL) < 0 ? log_errno(-errno, "run: timerfd failed: %m") : 0;
}

/* Kill the whole workload: the leaf, or without one our process tree. */
static void kill_workload(struct run *r)
{
	if (r->no_leaf)
		proctree_kill(getpid());
	else
		cgroup_kill(r->cg.path);
}

/* Without --jobs (jobctl enforces with it), the kill point of a budget the
 * kernel does not enforce: the whole workload, as memory.oom.group would. */
static void enforce_budget(struct run *r, const struct reading *rd)
{
	uint64_t rss = rd->alert_rss_bytes > rd->rss_bytes ? rd->alert_rss_bytes : rd->rss_bytes;
	if (r->jc || r->killed || !r->budget.kill_at || rss < r->budget.kill_at)
		return;
	const struct proc_reading *top = NULL;
	for (size_t i = 0; i < rd->nr_proc_readings; i++)
		if (!top || rd->procs[i].rss_bytes > top->rss_bytes)
			top = &rd->procs[i];
	char budget[32], now[32], peak[32], big[32], comm[ESCAPED_SIZE(MONITOR_COMM_LEN)];
	log_error("memory: the workload reached the budget %s (summed RSS %s, peak %s); killing it (largest "
		  "process: %s, pid %u, %s). The kernel does not enforce memory here; raise --mem",
		  format_bytes(r->budget.in.mem, budget, sizeof(budget)), format_bytes(rss, now, sizeof(now)),
		  format_bytes(rss > rd->peak_rss_bytes ? rss : rd->peak_rss_bytes, peak, sizeof(peak)),
		  escape_text(top ? top->comm : "?", comm, sizeof(comm)), top ? top->pid : 0,
		  format_bytes(top ? top->rss_bytes : 0, big, sizeof(big)));
	r->killed = true;
	kill_workload(r);
}

/* One turn: one reading, handed to every consumer, then the thresholds
 * they want armed where the monitor watches for crossings. */
static int turn(struct run *r)
{
	struct reading rd;
	int ret = monitor_turn(r->mon, &rd);
	if (ret < 0) {
		/* The workload goes on unwatched rather than killed; said once. */
		if (!r->reading_failed)
			log_warn("run: no reading of the workload (see above); it runs on without --jobs following "
				 "memory and without advice updates");
		r->reading_failed = true;
		return arm_clock(r, NULL);
	}
	r->reading_failed = false;
	enforce_budget(r, &rd);
	live_on_reading(r->live, &rd);
	ci_on_reading(r->ci, &rd);
	if (r->jc) {
		jobctl_hold_tokens(r->jc, live_hold_tokens(r->live));
		jobctl_on_reading(r->jc, &rd);
	}
	observe_on_reading(r->obs, &rd);
	/* The RSS alert fires once per arming: re-arm after a crossing. */
	uint64_t rss = r->jc ? jobctl_rss_alert(r->jc) : r->killed ? 0 : r->budget.kill_at;
	uint32_t maps = live_map_alert(r->live);
	/* What needs a millisecond reaction: every decision point of the
	 * governor while the running jobs could fill the room to the pause point
	 * (0: the RSS alert paces the monitor; at sweep pace on an idle host,
	 * issue 14's mix was killed at the budget), else the pause point, else
	 * the kill point. */
	monitor_set_urgent(r->mon, jobctl_needs_fast(r->jc, rd.rss_bytes) ? 0
				   : r->jc && r->budget.pause_at ? r->budget.pause_at : r->budget.kill_at);
	/* Beside paused jobs, a job that starts is to be judged while it is
	 * its shell, not once its compiler has loaded (a young job paused at
	 * 2 MiB rather than 30 leaves the paused ones their room). */
	monitor_wake_on_exec(r->mon, jobctl_needs_turns(r->jc));
	if (rss != r->rss_armed || maps != r->map_armed || (rd.alert_ns && rss)) {
		monitor_set_alerts(r->mon, rss, maps);
		r->rss_armed = rss;
		r->map_armed = maps;
	}
	return arm_clock(r, &rd);
}

static void forward_signals(struct run *r)
{
	struct signalfd_siginfo si;
	while (read(r->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;
		/* A stopped job could not act on a request to end. */
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP ||
		    si.ssi_signo == SIGQUIT)
			jobctl_resume_all(r->jc);
		/* The terminal sends interrupt, quit, hangup and resize (SI_KERNEL) to
		 * the whole foreground process group: the workload, in ours,
		 * has its own copy. Forwarding would deliver it twice. */
		if (si.ssi_code == SI_KERNEL && !r->exited && getpgid(r->pid) == getpgrp()) {
			log_debug("run: %s from the terminal reached the workload directly", strsignal(si.ssi_signo));
			continue;
		}
		/* pidfd: the signal reaches our child, never a recycled pid. */
		if (!r->exited && syscall(SYS_pidfd_send_signal, r->pidfd, si.ssi_signo, NULL, 0) < 0 &&
		    errno != ESRCH)
			log_warn("run: forwarding signal %d to pid %d failed: %m", si.ssi_signo, (int)r->pid);
		else
			log_debug("run: forwarded %s to pid %d", strsignal(si.ssi_signo), (int)r->pid);
	}
}

/* The loop owns the clock. A turn is taken at its tick, at once when the
 * monitor took in a threshold crossing, and after `supervise set`; a token
 * coming home to a shrinking pool is taken without a reading. */
static int loop(struct run *r)
{
	int ret = turn(r);   /* the first target, right after launch */
	if (ret < 0)
		return ret;
	while (!r->exited) {
		struct pollfd p[6] = {
			{ .fd = r->sigfd, .events = POLLIN },
			{ .fd = monitor_fd(r->mon), .events = POLLIN },
			{ .fd = r->timer_fd, .events = POLLIN },
			{ .fd = r->jc ? jobctl_fd(r->jc) : -1, .events = POLLIN },
		};
		size_t np = 4 + live_fds(r->live, p + 4, ELEMENTSOF(p) - 4);
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			return log_errno(-errno, "run: poll failed: %m");
		}
		bool due = false;
		if (p[1].revents & POLLIN) {
			monitor_dispatch(r->mon);
			due |= monitor_crossed(r->mon);
		}
		uint64_t ticks;
		if ((p[2].revents & POLLIN) && read(r->timer_fd, &ticks, sizeof(ticks)) > 0)
			due = true;
		due |= live_dispatch(r->live, p + 4, np - 4);
		if (due && (ret = turn(r)) < 0)
			return ret;
		else if (p[3].revents & POLLIN)
			jobctl_tokens_home(r->jc);
		forward_signals(r);
		reap(r);
	}
	return 0;
}

/* Every process has exited: the monitor has their final figures. */
static void read_final(void *userdata)
{
	struct run *r = userdata;
	if (r->mon)
		r->have_final = monitor_read_final(r->mon, &r->final) == 0;
}

static int any_alive(pid_t pid, void *userdata)
{
	struct proc_stat st;
	return proc_read_stat(pid, &st) == 0 && st.state != 'Z' && st.state != 'X' ? -EEXIST : 0;
}

/* Read what the leaf can tell before it goes, kill what is left, remove it.
 * Every step runs even when an earlier one failed. */
static void teardown(struct run *r)
{
	if (r->cg.fd >= 0 || r->cg.path[0]) {
		if (r->cg.controllers & CGROUP_MEMORY) {
			r->has_peak = cgroup_read_u64(r->cg.path, "memory.peak", &r->peak) == 0;
			cgroup_read_keyed(r->cg.path, "memory.events", "oom_kill", &r->oom_kills);
		}
		closep(&r->cg.fd);
		cgroup_kill_remove(r->cg.path, &(struct cgroup_teardown){ .timeout_ms = 5000, .reap = reap,
									 .emptied = read_final, .userdata = r });
	} else if (r->no_leaf && r->mon) {
		/* What the workload left running goes with it, as with a leaf. */
		proctree_kill(getpid());
		for (int i = 0; i < 500 && proctree_walk(getpid(), any_alive, NULL) == -EEXIST; i++) {
			reap(r);
			usleep(10000);
		}
		reap(r);
		read_final(r);
	}
	live_close(r->live);
	r->live = NULL;
	if (r->have_run_dir)
		rundir_remove(r->run_dir);
	/* The guard goes last: until here, a SIGKILL still gets cleaned up. */
	guard_release(&r->guard);
	closep(&r->sigfd);
	closep(&r->timer_fd);
	closep(&r->pidfd);
}

static int final_status(struct run *r, int status)
{
	char limit[32], peak[32];
	bool signaled = r->exited && WIFSIGNALED(r->wstatus);
	/* jobctl said why (budget, peak, largest process) when it killed. */
	if (jobctl_killed(r->jc) || r->killed) {
		r->killed_by = "supervise";
		return EXIT_KILLED;
	}
	if (r->oom_kills == 0) {
		/* 137 is also what an OOM kill or our own kill looks like: say it
		 * was neither. */
		if (signaled)
			r->killed_by = "signal";
		if (signaled && WTERMSIG(r->wstatus) == SIGKILL)
			log_error("%s was killed by SIGKILL from outside supervise (no OOM kill recorded, supervise did "
				  "not kill it)", r->cfg->argv[0]);
		return status;
	}
	format_bytes(r->budget.in.mem, limit, sizeof(limit));
	if (r->has_peak)
		format_bytes(r->peak, peak, sizeof(peak));
	else
		snprintf(peak, sizeof(peak), "unknown");
	if (r->exited && WIFSIGNALED(r->wstatus) && WTERMSIG(r->wstatus) == SIGKILL) {
		log_error("the kernel OOM-killed the workload at --mem %s (memory.max %s); peak %s (memory.peak), "
			  "%" PRIu64 " OOM kill%s", r->cfg->mem_arg ? r->cfg->mem_arg : limit, limit, peak,
			  r->oom_kills, r->oom_kills == 1 ? "" : "s");
		r->killed_by = "kernel-oom";
		return EXIT_KILLED;
	}
	log_warn("the kernel OOM-killed %" PRIu64 " process%s of the workload at memory.max %s (peak %s); "
		 "the main process exited with %d", r->oom_kills, r->oom_kills == 1 ? "" : "es", limit, peak, status);
	if (signaled)
		r->killed_by = "signal";
	return status;
}

int run(const struct config *cfg)
{
	struct run r = { .cfg = cfg, .cg.fd = -1, .guard.fd = -1, .sigfd = -1, .timer_fd = -1, .pidfd = -1 };
	int status = EXIT_SUPERVISE_FAILURE;

	if (setup(&r) == 0 && launch(&r, &status) == 0 && r.pid > 0) {
		/* exec failed: status is 126/127 already; the child is gone. */
		bool exec_failed = status == EXIT_NOT_FOUND || status == EXIT_NOT_EXECUTABLE;
		if (loop(&r) == 0 && !exec_failed)
			status = exit_status_from_wait(r.wstatus);
	}
	double wall = r.t0 ? (now_ns() - r.t0) / 1e9 : 0;
	teardown(&r);
	status = final_status(&r, status);

	struct run_summary s = {
		.name = r.info.name,
		.command = cfg->argv,
		.cgroup = r.info.cgroup[0] ? r.info.cgroup : NULL,
		.backend = r.mon ? monitor_backend_name(r.mon) : NULL,
		.exit_status = status,
		.killed_by = r.killed_by,
		.wall_seconds = wall,
		.has_budget = r.budget.in.mem != 0,
		.budget_bytes = r.budget.in.mem,
		.budget_source = r.budget_source,
		.enforced_by = budget_enforcer_name(r.budget.enforced_by),
		.has_cgroup_peak = r.has_peak,
		.peak_cgroup_bytes = r.peak,
		.oom_kills = r.oom_kills,
		.max_map_count = read_max_map_count(),
		.final = r.have_final ? &r.final : NULL,
		.killed_at_budget = jobctl_killed(r.jc) || r.killed || (r.oom_kills && status == EXIT_KILLED),
	};
	jobctl_summary(r.jc, &s.jobs);
	sandbox_report(r.sb, &s.sandbox);
	if (!cfg->quiet && r.have_final) {
		ci_section_begin(r.ci, stderr, s.name);
		summary_print(&s, stderr);
		ci_section_end(r.ci, stderr);
	}
	ci_finish(r.ci, &s);
	ci_close(r.ci);
	if (cfg->summary_json)
		summary_write(&s, cfg->summary_json);
	observe_close(r.obs, &s, jobctl_killed(r.jc) || r.killed);
	jobctl_close(r.jc);
	sandbox_free(r.sb);
	if (r.mon)
		monitor_close(r.mon);
	return status;
}
