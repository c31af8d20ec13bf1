/* jobctl: see jobctl.h. Jobs, pausing and re-minting are described in
 * docs/jobserver.md. The job table (jobtable.c), the re-minting audit
 * (jobaudit.c) and the observers (jobobs.c) are their own units; this file
 * holds the actions: tokens, pause/resume, kill at the budget. */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include "advice.h"
#include "cgroup.h"
#include "clients.h"
#include "cpucap.h"
#include "control.h"
#include "proc.h"
#include "proctree.h"
#include "footprint.h"
#include "governor.h"
#include "jobaudit.h"
#include "jobctl.h"
#include "jobobs.h"
#include "jobtable.h"
#include "livestate.h"
#include "log.h"
#include "util.h"

#define JOB_COMM FOOTPRINT_JOB_COMM
/* A job's growth rate is measured over windows of this much running time. */
#define RATE_WINDOW_NS 300000000ull
/* The progress rule (docs/jobserver.md): while jobs are paused, a workload
 * that used less than STALL_CPU_USEC of CPU in STALL_MS is stalled (every
 * unpaused process waits, e.g. for the paused one): resume the oldest. */
#define STALL_MS 1000
#define STALL_CPU_USEC 20000
/* On default guesses alone (no learned footprint in any running job), no
 * pause below this share of the budget: an unseen wrapper or helper must not
 * be taken for a 512 MiB job (issue 15: paused at 6 MiB of 1 GiB). */
#define GUESS_PAUSE_FLOOR 2
/* A job in the first half second of its life is checked again for being a
 * $(shell) (between fork and dup2 its stdout is still make's). */
#define SYNC_CHECK_NS 500000000ull
/* After `supervise set` lowers the job range: tokens come home only as a
 * busy client leaves them there; after this long, jobs beyond the new
 * maximum are paused, newest first, and resumed as others end. */
#define NARROW_AFTER_NS 2000000000ull
/* --jobs MIN-MAX with MAX above the CPUs (issue 15: --jobs 1-8 on 2 CPUs was
 * 23-37 % slower than make -j2): the target starts capped at the CPUs and
 * the cap moves by one job every CPU_STEP_NS, as cpucap.h says. */
#define CPU_STEP_NS 1000000000ull
/* After the cap stepped down (the jobs contended), it does not step up again
 * for this long. */
#define CPU_CALM_NS 10000000000ull

struct jobctl {
	struct jobctl_config cfg;
	struct budget budget;
	struct jobserver js;
	struct gov_config gcfg;
	struct gov_state gst;
	struct footprints fp;         /* this project's table (identities, commands) */
	struct footprints fp_global;  /* commands across projects: the fallback */
	/* Jobs ended in this run, by identity: merged into fp at the end. A job
	 * the table lost sight of for one reading ends and starts again with
	 * the same identity; learned at once, its first part's small peak would
	 * size its second part. */
	struct footprints fp_run;
	char fp_path[PATH_MAX], fp_global_path[PATH_MAX];
	char cgroup[PATH_MAX];
	pid_t main_pid;
	enum js_style style;

	struct jobtable jt;
	uint64_t next_job_bytes;
	unsigned peak_jobs;       /* jobs at once (recipes holding tokens), the summary's */

	struct client_info client;
	char **argv;              /* the command with -jN for a client that reads no jobserver */

	/* the progress rule */
	uint64_t stall_since_ns, stall_cpu_usec;
	unsigned progress_resumes;
	uint64_t narrow_at_ns;    /* `set` lowered the maximum: enforce it from then on, 0: not yet asked */
	unsigned cpus, cpu_cap;   /* CPUs, and the cap CPU pressure puts on the target */
	uint64_t cpu_step_ns;     /* last move of the cap (without PSI: last judgement) */
	uint64_t psi_total, psi_total_ns;   /* the leaf's cpu.pressure some total, and when read */
	uint64_t cpu_calm_ns;     /* after a step down: no step up before this */
	bool no_psi;              /* the leaf has no cpu.pressure: runnable tasks instead */
	uint64_t runnable_sum;    /* without PSI: runnable jobs' tasks summed over samples */
	unsigned runnable_samples;

	unsigned target, tokens_min, tokens_max, paused_count, reminted;
	uint64_t alert_bytes;     /* where the decision next changes */
	bool killed;
	bool stopping;            /* a signal was forwarded: no more pauses */
	bool hold;                /* grant no new token (map_count guard) */

	struct jobaudit audit;
	struct jobobs obs;
};

/* The next job could be any: its expected footprint is the average job's
 * (the per-command estimate takes over once it runs, and an early pause
 * covers a heavy one), not the largest seen. */
static uint64_t job_average(const struct jobctl *jc)
{
	uint64_t m = footprint_mean(&jc->fp, JOB_COMM);
	return m ? m : footprint_mean(&jc->fp_global, JOB_COMM);
}

/* A job's peak teaches what the next job may need. */
static void on_job_ended(void *userdata, const struct job *j)
{
	struct jobctl *jc = userdata;

	if (!j->peak || !jobtable_is_job(j))
		return;
	footprint_learn(&jc->fp, JOB_COMM, j->peak);
	footprint_learn(&jc->fp_global, JOB_COMM, j->peak);
	/* This very job (its command line in its directory) next time. Parts
	 * of one job (see fp_run) count as one: the longest ramp and run. */
	const struct fp_id *was = footprint_find_id(&jc->fp_run, j->id);
	uint32_t ramp = (uint32_t)(j->ramp_ns / 1000000ull), dur = (uint32_t)(j->run_ns / 1000000ull);
	if (was) {
		ramp = was->ramp_ms > ramp ? was->ramp_ms : ramp;
		dur = was->dur_ms + dur;
	}
	footprint_learn_id(&jc->fp_run, j->id, j->comm, j->peak, ramp, dur);
	if (!jc->cfg.job_mem)
		jc->next_job_bytes = job_average(jc);
}

/* A job's identity: its root's command line and working directory, read once
 * when the job is first seen (0: the root is gone already; nothing is learned
 * under 0). A pid reused meanwhile only names the wrong entry once. */
static uint64_t read_identity(pid_t pid)
{
	char path[64], cmdline[4096], cwd[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int n = read_file_at(AT_FDCWD, path, cmdline, sizeof(cmdline));
	if (n <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
	ssize_t c = readlink(path, cwd, sizeof(cwd) - 1);
	cwd[c > 0 ? c : 0] = '\0';
	return footprint_identity(cmdline, (size_t)n, cwd);
}

static bool job_stopped(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return false;
	const char *close_ = strrchr(buf, ')');
	return close_ && close_[1] == ' ' && close_[2] == 'T';
}

/* After each mapping: identities of new jobs, their learned peaks, and each
 * running job's growth (bytes a second over RATE_WINDOW_NS of running time). */
static void track_jobs(struct jobctl *jc, uint64_t now)
{
	for (size_t k = 0; k < jc->jt.nr_jobs; k++) {
		struct job *j = &jc->jt.jobs[k];
		if (!j->last_ns) {
			/* A job the table lost sight of for a reading comes back as
			 * new: if we had stopped it, it is still paused. */
			j->paused = job_stopped(j->root);
			j->id = read_identity(j->root);
			const struct fp_id *f = footprint_find_id(&jc->fp, j->id);
			j->id_bytes = f ? f->peak_bytes : 0;
			j->id_ramp_ms = f ? f->ramp_ms : 0;
			j->id_dur_ms = f ? f->dur_ms : 0;
			j->last_ns = j->win_ns = now;
			j->win_rss = j->rss;
		}
		if (!j->paused)
			j->run_ns += now - j->last_ns;
		j->last_ns = now;
		if (j->rss > j->ramp_rss)
			j->ramp_rss = j->rss, j->ramp_ns = j->run_ns;
		if (j->paused) {
			/* Stopped, it does not grow: measure afresh once resumed. */
			j->rate_known = false;
			j->win_ns = now;
			j->win_rss = j->rss;
		} else if (now - j->win_ns >= RATE_WINDOW_NS) {
			uint64_t d = j->rss > j->win_rss ? j->rss - j->win_rss : 0;
			j->rate_bps = (uint64_t)((double)d * 1e9 / (double)(now - j->win_ns));
			j->rate_known = true;
			j->win_ns = now;
			j->win_rss = j->rss;
		}
	}
}

static enum gov_basis basis_of(const struct job *j)
{
	return j->id_bytes ? GOV_BASIS_IDENTITY : j->from_command ? GOV_BASIS_COMMAND : GOV_BASIS_DEFAULT;
}

static struct gov_job gov_job_of(const struct jobctl *jc, const struct job *j)
{
	struct gov_job g = { .start_ns = j->start_ns, .rss_bytes = j->rss,
			     .expected_bytes = j->id_bytes ? j->id_bytes : j->expected, .basis = basis_of(j),
			     .ramp_ms = j->id_ramp_ms, .dur_ms = j->id_dur_ms, .rate_bps = j->rate_bps, .rate_known = j->rate_known,
			     .run_ns = j->run_ns, .paused = j->paused };
	if (g.basis != GOV_BASIS_IDENTITY) {
		/* Another job of its command running now has reached this much:
		 * a job never seen may be as large (a cold cache learns a heavy
		 * mode from the first heavy job, before any has ended). */
		for (size_t k = 0; k < jc->jt.nr_jobs; k++)
			if (&jc->jt.jobs[k] != j && jc->jt.jobs[k].rss > g.expected_bytes &&
			    streq(jc->jt.jobs[k].comm, j->comm))
				g.expected_bytes = jc->jt.jobs[k].rss, g.basis = GOV_BASIS_COMMAND;
	}
	if (g.basis == GOV_BASIS_COMMAND) {
		/* Sized by its command: the mode of that command's peaks it is in. */
		const struct fp_cmd *c = footprint_find_cmd(&jc->fp, j->comm);
		if (!c || c->count < 3)
			c = footprint_find_cmd(&jc->fp_global, j->comm);
		uint64_t top = footprint_mode_top(c, j->rss);
		g.likely_bytes = top < g.expected_bytes ? top : 0;
	}
	return g;
}

static const char *basis_name(enum gov_basis b)
{
	return b == GOV_BASIS_IDENTITY ? "this job's last run"
	       : b == GOV_BASIS_COMMAND ? "its command's p90"
					: "nothing learned: --job-mem or 512MiB";
}

/* The size of a job nothing is known of: --job-mem, else the default. It
 * stays large (an unseen command may be the heavy link), but on its own it
 * never pauses a job below GUESS_PAUSE_FLOOR of the budget (issue 15). */
static uint64_t default_job_bytes(const struct jobctl *jc)
{
	return jc->cfg.job_mem ? jc->cfg.job_mem : GOV_DEFAULT_JOB_BYTES;
}

/* The number of jobs the governor starts with: its first decision on an
 * empty workload. */
static unsigned start_value(const struct jobctl *jc)
{
	struct gov_state st = { 0 };
	struct gov_input in = { .next_job_bytes = jc->next_job_bytes };
	struct gov_decision d;
	governor_decide(&jc->gcfg, &st, &in, &d);
	return d.target ? d.target : 1;
}

/* A client that reads no jobserver (ninja < 1.13) runs its own default (CPUs
 * + 2) whatever the tokens say: give it -j from the start value, or keep the
 * user's -j, and say which. Memory is then followed by pausing jobs only. */
static void give_dash_j(struct jobctl *jc, char *const *argv)
{
	const struct client_info *ci = &jc->client;
	char ver[32] = "of unknown version";
	if (ci->version.known)
		snprintf(ver, sizeof(ver), "%u.%u.%u", ci->version.major, ci->version.minor, ci->version.patch);
	const char *via = ci->kind == CLIENT_CMAKE ? " (through cmake --build)" : "";
	if (ci->user_jobs) {
		log_warn("jobserver: %s %s%s reads no jobserver (ninja >= 1.13 does): keeping the -j on its command "
			 "line; supervise follows memory by pausing jobs only",
			 client_kind_name(ci->tool), ver, via);
		return;
	}
	unsigned n = start_value(jc);
	jc->argv = client_argv_with_jobs(argv, ci, n);
	if (!jc->argv) {
		log_warn("jobserver: %s %s%s reads no jobserver (ninja >= 1.13 does) and -j could not be added: it "
			 "runs its own default number of jobs; pass -jN yourself or install ninja >= 1.13",
			 client_kind_name(ci->tool), ver, via);
		return;
	}
	log_warn("jobserver: %s %s%s reads no jobserver (ninja >= 1.13 does): passing -j%u (the governor's start "
		 "value); the tokens do not reach it, so memory is followed by pausing jobs only",
		 client_kind_name(ci->tool), ver, via, n);
}

static void gov_from_budget(struct jobctl *jc)
{
	jc->gcfg.budget_bytes = jc->budget.in.mem;
	jc->gcfg.margin_bytes = jc->budget.margin;
	jc->gcfg.may_kill = jc->budget.kill_at != 0;
}

static void announce(const struct jobctl *jc)
{
	char range[32], mem[32], job[32];
	const struct jobctl_config *cfg = &jc->cfg;
	uint64_t budget = jc->budget.in.mem;

	if (cfg->min_jobs == cfg->max_jobs)
		snprintf(range, sizeof(range), "%u job%s", cfg->max_jobs, cfg->max_jobs == 1 ? "" : "s");
	else
		snprintf(range, sizeof(range), "%u-%u jobs", cfg->min_jobs, cfg->max_jobs);
	format_bytes(budget, mem, sizeof(mem));
	/* Said even without -v: which style a client must understand matters. */
	log_msg(cfg->announce ? LOG_WARN : LOG_INFO,
		"jobserver: %s style (%s), %s at once%s%s, next job expected at %s%s",
		jobserver_style_name(jc->style),
		cfg->style == JS_AUTO || cfg->style == JS_NONE ? "chosen for this command; --jobserver-style sets it"
							       : "as asked",
		range, budget ? " following memory within " : "", budget ? mem : "",
		format_bytes(jc->next_job_bytes, job, sizeof(job)),
		jc->budget.enforced_by == BUDGET_SUPERVISE
			? "; the kernel does not enforce the budget here: supervise holds tokens, pauses jobs "
			  "and kills at the budget"
			: "");
}

int jobctl_open(const struct jobctl_config *cfg, const struct budget *b, char *const *argv, const char *run_dir,
		const char *cgroup_path, struct jobctl **ret)
{
	_cleanup_free_ struct jobctl *jc = calloc(1, sizeof(*jc));
	char buf[512];
	int r;

	if (!jc)
		return -ENOMEM;
	jc->cfg = *cfg;
	jc->budget = *b;
	jc->js = (struct jobserver)JOBSERVER_INIT;
	snprintf(jc->cgroup, sizeof(jc->cgroup), "%s", cgroup_path);

	/* auto: up to 4x the CPUs (or the quota); follow_cpu() starts at the
	 * CPUs and goes beyond only while the leaf's CPU pressure is low (jobs
	 * that wait on I/O or sleep), memory bounding it as for any range. */
	if (jc->cfg.jobs_auto && !jc->cfg.max_jobs)
		jc->cfg.max_jobs = JOBS_AUTO_PER_CPU * (cfg->cpus ? cfg->cpus : 1);
	if (jc->cfg.max_jobs < jc->cfg.min_jobs)
		jc->cfg.max_jobs = jc->cfg.min_jobs;
	jc->cpus = cfg->cpus ? cfg->cpus : 1;
	jc->cpu_cap = jc->cpus;

	client_detect(argv, &jc->client);
	const struct client_info *ci = &jc->client;
	bool deaf = !ci->reads_jobserver;   /* an old ninja: -j instead of tokens */
	/* "drop -jN" is the wrong advice for a tool that reads no jobserver. */
	const char *w = deaf ? NULL : jobserver_argv_warning(argv, buf, sizeof(buf));
	if (w)
		log_warn("%s", w);
	if (ci->kind == CLIENT_CMAKE && ci->tool == CLIENT_MAKE && ci->user_jobs)
		log_warn("jobserver: 'cmake --build -j' hands make -jN, which then starts its own jobserver and ignores "
			 "supervise's; drop -j/--parallel: --jobs sets the number of jobs");

	jc->style = cfg->style == JS_AUTO || cfg->style == JS_NONE ? jobserver_style_for(argv) : cfg->style;
	/* cmake --build: the style its generator's tool reads. */
	if ((cfg->style == JS_AUTO || cfg->style == JS_NONE) && ci->kind == CLIENT_CMAKE && ci->reads_jobserver)
		jc->style = ci->style;
	r = jobserver_open(&jc->js, jc->style, run_dir, jc->cfg.max_jobs);
	if (r < 0)
		return r;

	if (footprint_project_path(jc->fp_path, sizeof(jc->fp_path)) < 0)
		jc->fp_path[0] = '\0';
	if (footprint_global_path(jc->fp_global_path, sizeof(jc->fp_global_path)) < 0)
		jc->fp_global_path[0] = '\0';
	/* A --footprints FILE in the cache directory is the global one too: one table. */
	if (streq(jc->fp_path, jc->fp_global_path))
		jc->fp_global_path[0] = '\0';
	if (jc->fp_path[0])
		footprint_load(&jc->fp, jc->fp_path);
	if (jc->fp_global_path[0])
		footprint_load(&jc->fp_global, jc->fp_global_path);
	uint64_t learned = job_average(jc);
	jc->next_job_bytes = cfg->job_mem ? cfg->job_mem : learned ? learned : default_job_bytes(jc);
	jc->gcfg = (struct gov_config){ .min_jobs = jc->cfg.min_jobs, .max_jobs = jc->cfg.max_jobs };
	gov_from_budget(jc);
	jobobs_open(&jc->obs, run_dir, cfg->status_line);
	if (deaf)
		give_dash_j(jc, argv);
	announce(jc);
	*ret = TAKE_PTR(jc);
	return 0;
}

size_t jobctl_env(const struct jobctl *jc, struct launch_var *ret, size_t size)
{
	char flags[PATH_MAX + 64];
	size_t n = 0;

	if (size < 4 || jobserver_makeflags(jc->js.style, jc->js.rfd, jc->js.wfd, jc->js.fifo, jc->js.max_jobs, flags,
					    sizeof(flags)) < 0) {
		log_warn("jobserver: the MAKEFLAGS value is too long (run directory path?): clients will not find it");
		return 0;
	}
	/* Ours replace any the caller had: a jobserver of an outer make is not
	 * ours to hand out, and its fds are not inherited past supervise. */
	ret[n] = (struct launch_var){ .name = "MAKEFLAGS" };
	snprintf(ret[n++].value, sizeof(ret->value), "%s", flags);
	ret[n] = (struct launch_var){ .name = "CARGO_MAKEFLAGS" };
	snprintf(ret[n++].value, sizeof(ret->value), "%s", flags);
	ret[n++] = (struct launch_var){ .name = "MFLAGS", .unset = true };
	/* cargo caps its own jobs at CARGO_BUILD_JOBS: with a jobserver the cap
	 * is its upper bound, and the tokens decide below it. A user's value stays. */
	ret[n] = (struct launch_var){ .name = "CARGO_BUILD_JOBS", .keep_user = true };
	snprintf(ret[n++].value, sizeof(ret->value), "%u", jc->js.max_jobs);
	return n;
}

bool jobctl_needs_turns(const struct jobctl *jc)
{
	/* Paused jobs (the progress rule's window, resumes) and a narrowing
	 * under way are acted on within a tick, whatever else holds still. */
	return jc && !jc->killed && (jobtable_paused(&jc->jt) || jc->narrow_at_ns);
}

bool jobctl_needs_fast(const struct jobctl *jc, uint64_t rss)
{
	if (!jc || jc->killed || !jc->budget.pause_at)
		return false;
	/* Near enough that the running jobs could fill the room: each as large
	 * as the largest any of them is expected, holds, or the next is sized. */
	unsigned n = 0;
	uint64_t big = jc->next_job_bytes;
	for (size_t k = 0; k < jc->jt.nr_jobs; k++) {
		const struct job *j = &jc->jt.jobs[k];
		if (!jobtable_is_job(j))
			continue;
		n++;
		if (j->expected > big)
			big = j->expected;
		if (j->rss > big)
			big = j->rss;
	}
	uint64_t room = jc->budget.pause_at > rss ? jc->budget.pause_at - rss : 0;
	return n > 0 && room / n < big;
}

char *const *jobctl_argv(const struct jobctl *jc, char *const *argv)
{
	return jc && jc->argv ? jc->argv : argv;
}

int jobctl_inherit_fds(const struct jobctl *jc, int ret_fds[2])
{
	return jobserver_inherit_fds(&jc->js, ret_fds);
}

/* While the pool is above the target, wake on every token that comes home:
 * a client that writes one back often takes it again within microseconds
 * (make releases a token when a job ends and acquires one for the next), so
 * a 100 ms tick would almost never find it in the pipe. */
int jobctl_fd(const struct jobctl *jc)
{
	unsigned want = jc->target > 0 ? jc->target - 1 : 0;
	return jc->killed || jc->js.style == JS_NONE || jc->js.pool <= want ? -1 : jc->js.home_fd;
}

void jobctl_tokens_home(struct jobctl *jc)
{
	jobserver_set_target(&jc->js, jc->target);
}

uint64_t jobctl_rss_alert(const struct jobctl *jc)
{
	return jc->budget.in.mem && !jc->killed ? jc->alert_bytes : 0;
}

bool jobctl_killed(const struct jobctl *jc)
{
	return jc && jc->killed;
}

/* Before the kill: what the governor expected of each job, and what happened. */
static void explain_kill(struct jobctl *jc, const struct gov_decision *d, uint64_t rss)
{
	char a[32], b[32], c[32], e[32];
	log_error("memory: the governor expected the workload to reach %s at most (limit %s, budget %s); it holds %s",
		  format_bytes(d->committed_bytes, a, sizeof(a)), format_bytes(d->pause_at_bytes, b, sizeof(b)),
		  format_bytes(jc->budget.in.mem, c, sizeof(c)), format_bytes(rss, e, sizeof(e)));
	for (size_t k = 0; k < jc->jt.nr_jobs; k++) {
		const struct job *j = &jc->jt.jobs[k];
		struct gov_job g = gov_job_of(jc, j);
		log_error("memory:   job %d (%s)%s: expected %s (%s), projected %s, holds %s, %s", (int)j->root, j->comm,
			  j->paused ? " paused" : "", format_bytes(g.expected_bytes, a, sizeof(a)), basis_name(g.basis),
			  format_bytes(governor_project(&g), b, sizeof(b)), format_bytes(j->rss, c, sizeof(c)),
			  !g.rate_known ? "growth not measured yet"
			  : g.rate_bps < GOV_SETTLED_BPS ? "settled"
							 : (snprintf(e, sizeof(e), "growing %" PRIu64 " MiB/s",
								     g.rate_bps >> 20), e));
	}
}

static void kill_workload(struct jobctl *jc, const struct reading *r)
{
	char budget[32], rss[32], peak[32], big[32];
	const struct proc_reading *top = NULL;
	for (size_t i = 0; i < r->nr_proc_readings; i++)
		if (!top || r->procs[i].rss_bytes > top->rss_bytes)
			top = &r->procs[i];
	log_error("memory: the workload reached the budget %s (summed RSS %s, peak %s) with no job left to pause; "
		  "killing it (largest process: %s, pid %u, %s). The kernel does not enforce memory here; "
		  "raise --mem or lower --jobs",
		  format_bytes(jc->budget.in.mem, budget, sizeof(budget)), format_bytes(r->rss_bytes, rss, sizeof(rss)),
		  format_bytes(r->peak_rss_bytes, peak, sizeof(peak)), top ? top->comm : "?", top ? top->pid : 0,
		  format_bytes(top ? top->rss_bytes : 0, big, sizeof(big)));
	jc->killed = true;
	/* No leaf (no writable cgroup): the workload is our process tree. */
	if (jc->cgroup[0])
		cgroup_kill(jc->cgroup);
	else
		proctree_kill(getpid());
}

void jobctl_started(struct jobctl *jc, pid_t main_pid)
{
	/* The loop's next turn (right after launch) sets the first target. */
	jc->main_pid = main_pid;
}

/* May job j be paused? Never a wrapper or a $(shell) (not in the governor's
 * table anyway); a job the progress rule resumed only at the pause point,
 * not early (it would stall the build again at once). */
static bool pausable(const struct job *j, bool at_pause_point)
{
	return jobtable_is_job(j) && !j->paused && (!j->forced || at_pause_point);
}

static bool newer(const struct job *a, const struct job *b)
{
	return a->start_ns != b->start_ns ? a->start_ns > b->start_ns : a->root > b->root;
}

/* The governor chose to pause a job: the newest pausable one (jobs first
 * seen in one reading share a start time: the later pid is the newer), -1
 * when none may be paused. */
static int pause_choice(const struct jobctl *jc, bool at_pause_point)
{
	int best = -1;
	for (size_t i = 0; i < jc->jt.nr_jobs; i++)
		if (pausable(&jc->jt.jobs[i], at_pause_point) && (best < 0 || newer(&jc->jt.jobs[i], &jc->jt.jobs[best])))
			best = (int)i;
	return best;
}

/* An early pause (below the pause point, because expected peaks do not
 * fit) that rests on default guesses alone — what the running jobs are
 * expected to add by learned footprints fits the budget — below the stated
 * share of the budget: not taken (issue 15). */
static bool guess_only_early_pause(const struct jobctl *jc, uint64_t rss, const struct gov_decision *d)
{
	if (rss >= d->pause_at_bytes || rss >= jc->budget.in.mem / GUESS_PAUSE_FLOOR)
		return false;
	uint64_t committed = rss;
	for (size_t k = 0; k < jc->jt.nr_jobs; k++) {
		const struct job *j = &jc->jt.jobs[k];
		if (jobtable_is_job(j) && !j->paused && !j->guessed && j->expected > j->rss)
			committed += j->expected - j->rss;
	}
	return committed <= jc->budget.in.mem;
}

/* The workload's jobs' processes running or runnable now (state R): the
 * signal where the leaf has no cpu.pressure. Only jobs' processes (few in a
 * build) are read, not every process of the workload. */
static unsigned runnable_jobs_procs(const struct jobctl *jc)
{
	unsigned n = 0;
	for (size_t i = 0; i < jc->jt.nr_px; i++) {
		int k = jc->jt.px[i].job;
		struct proc_stat st;
		if (k < 0 || jc->jt.jobs[k].paused || proc_read_stat(jc->jt.px[i].pid, &st) < 0)
			continue;
		n += st.state == 'R';
	}
	return n;
}

/* Move the CPU cap on the target (cpucap.h) once a CPU_STEP_NS; returns the
 * cap (>= MIN, and not below the CPUs). */
static unsigned follow_cpu(struct jobctl *jc, uint64_t now)
{
	char path[PATH_MAX + 32], text[256], why[96];
	uint32_t some = 0;
	unsigned floor_ = jc->cfg.min_jobs > jc->cpus ? jc->cfg.min_jobs : jc->cpus;
	if (jc->cfg.max_jobs <= floor_)
		return jc->cfg.max_jobs;
	if (jc->cpu_cap < floor_)
		jc->cpu_cap = floor_;
	/* Without PSI here (no leaf, or the kernel has none): the runnable
	 * tasks, sampled every turn and judged once a step. */
	if (jc->no_psi) {
		jc->runnable_sum += runnable_jobs_procs(jc);
		jc->runnable_samples++;
	}
	if (now - jc->cpu_step_ns < CPU_STEP_NS)
		return jc->cpu_cap;
	jc->cpu_step_ns = now;
	enum cpu_load load;
	uint64_t total;
	double avg10;
	snprintf(path, sizeof(path), "%s/cpu.pressure", jc->cgroup);
	if (!jc->no_psi && jc->cgroup[0] && read_file_at(AT_FDCWD, path, text, sizeof(text)) >= 0 &&
	    psi_parse_some(text, &avg10, &total) >= 0) {
		/* The first step only takes the total: a share needs two. */
		bool first = !jc->psi_total_ns;
		some = first ? 0 : cpucap_share_x100(jc->psi_total, total, (now - jc->psi_total_ns) / 1000);
		jc->psi_total = total, jc->psi_total_ns = now;
		if (first)
			return jc->cpu_cap;
		load = cpucap_from_psi(some);
		snprintf(why, sizeof(why), "CPU pressure %u.%02u %% (some, over the last second)", some / 100,
			 some % 100);
	} else {
		/* The first step without PSI has no samples yet: no judgement. */
		jc->no_psi = true;
		load = cpucap_from_runnable(jc->runnable_sum, jc->runnable_samples, jc->cpus);
		snprintf(why, sizeof(why), "no CPU pressure (PSI) here; %.1f runnable tasks on average",
			 jc->runnable_samples ? (double)jc->runnable_sum / jc->runnable_samples : 0.0);
		jc->runnable_sum = 0, jc->runnable_samples = 0;
	}
	unsigned jobs = jobtable_jobs(&jc->jt) - jobtable_paused(&jc->jt);
	unsigned was = jc->cpu_cap;
	/* Once it contended at a cap, not back up to it for a while: CPU-bound
	 * jobs would otherwise probe one job more every other second. */
	if (load == CPU_LOAD_IDLE && now < jc->cpu_calm_ns)
		load = CPU_LOAD_OK;
	jc->cpu_cap = cpucap_step(jc->cpu_cap, floor_, jc->cfg.max_jobs, jobs, load);
	if (jc->cpu_cap < was)
		jc->cpu_calm_ns = now + CPU_CALM_NS;
	if (jc->cpu_cap != was) {
		log_info("jobserver: %s: at most %u jobs at once (CPUs %u, --jobs up to %u)", why, jc->cpu_cap, jc->cpus,
			 jc->cfg.max_jobs);
	}
	return jc->cpu_cap;
}

/* One decision from the reading and the job table, applied: the action first
 * (the urgent part), then tokens; the threshold where it next changes is
 * kept for the loop to arm. */
static void decide_apply(struct jobctl *jc, const struct reading *r)
{
	/* The governor sees jobs only: not wrappers waiting for a sub-client,
	 * not $(shell) helpers its client waits for, not jobs paused to narrow. */
	struct gov_job gj[JOBTABLE_MAX_JOBS];
	size_t gk[JOBTABLE_MAX_JOBS], ng = 0;
	for (size_t k = 0; k < jc->jt.nr_jobs; k++) {
		const struct job *j = &jc->jt.jobs[k];
		if (!jobtable_is_job(j) || (j->paused && j->narrowed))
			continue;
		gk[ng] = k;
		gj[ng++] = gov_job_of(jc, j);
	}
	/* A crossing the kernel counted higher than the reading (a job that
	 * grew and shrank between the two) still counts. */
	uint64_t rss = r->alert_rss_bytes > r->rss_bytes ? r->alert_rss_bytes : r->rss_bytes;
	struct gov_input in = { .rss_bytes = rss, .next_job_bytes = jc->next_job_bytes, .jobs = gj, .nr_jobs = ng };
	struct gov_decision d;
	governor_decide(&jc->gcfg, &jc->gst, &in, &d);
	d.job = d.job < ng ? gk[d.job] : jc->jt.nr_jobs;
	/* The workload was told to stop: a paused job could not act on it. */
	if (jc->stopping && d.action == GOV_PAUSE)
		d.action = GOV_NONE;
	if (d.action == GOV_PAUSE && guess_only_early_pause(jc, rss, &d))
		d.action = GOV_NONE;
	if (d.action == GOV_PAUSE) {
		/* The governor's choice when it may be paused; else the newest that may. */
		bool at = rss >= d.pause_at_bytes;
		int k = d.job < jc->jt.nr_jobs && pausable(&jc->jt.jobs[d.job], at) ? (int)d.job : pause_choice(jc, at);
		if (k >= 0)
			d.job = (size_t)k;
		else
			/* Nothing may be paused: at the budget, the last resort. */
			d.action = rss >= jc->budget.in.mem && jc->gcfg.may_kill ? GOV_KILL : GOV_NONE;
	}
	/* MAX is a bound, not a target: beyond the CPUs only while they idle. */
	unsigned cap = follow_cpu(jc, now_ns());
	if (d.target > cap)
		d.target = cap;
	/* A process nears vm.max_map_count: no new job until it is past. */
	if (jc->hold && d.target > jc->jt.nr_jobs)
		d.target = jc->jt.nr_jobs > 0 ? (unsigned)jc->jt.nr_jobs : 1;

	switch (d.action) {
	case GOV_PAUSE: {
		struct gov_job g = gov_job_of(jc, &jc->jt.jobs[d.job]);
		jc->jt.jobs[d.job].paused = true;
		jc->paused_count++;
		jobtable_signal(&jc->jt, d.job, SIGSTOP);
		log_info("memory: summed RSS %" PRIu64 " MiB, expected to reach %" PRIu64 " MiB (limit %" PRIu64
			 " MiB, budget %" PRIu64 " MiB): pausing job %d (%s, holds %" PRIu64
			 " MiB, projected %" PRIu64 " MiB from %s)",
			 rss >> 20, d.committed_bytes >> 20, d.pause_at_bytes >> 20, jc->budget.in.mem >> 20,
			 (int)jc->jt.jobs[d.job].root, jc->jt.jobs[d.job].comm, jc->jt.jobs[d.job].rss >> 20,
			 governor_project(&g) >> 20, basis_name(g.basis));
		break;
	}
	case GOV_RESUME:
		jc->jt.jobs[d.job].paused = false;
		jobtable_signal(&jc->jt, d.job, SIGCONT);
		log_info("memory: summed RSS %" PRIu64 " MiB: resuming job %d (%s)", rss >> 20,
			 (int)jc->jt.jobs[d.job].root, jc->jt.jobs[d.job].comm);
		break;
	case GOV_KILL:
		explain_kill(jc, &d, rss);
		kill_workload(jc, r);
		return;
	case GOV_NONE:
		break;
	}
	/* Processes a paused job started just before the stop stop too. */
	for (size_t k = 0; k < jc->jt.nr_jobs; k++)
		if (jc->jt.jobs[k].paused && k != d.job)
			jobtable_signal(&jc->jt, k, SIGSTOP);

	jc->target = d.target;
	for (int i = 0; i < 4; i++)
		if (jobserver_set_target(&jc->js, d.target) <= 0)
			break;
	if (!jc->tokens_min || d.target < jc->tokens_min)
		jc->tokens_min = d.target;
	if (d.target > jc->tokens_max)
		jc->tokens_max = d.target;
	jc->alert_bytes = d.alert_bytes;
	jobobs_decision(&jc->obs, d.target, (int)d.action, rss, r->alert_ns);
}

/* The observers: the tokens file and the live status line. */
static void observe(struct jobctl *jc, const struct reading *r, uint64_t now)
{
	int in = jobserver_in_pipe(&jc->js);
	unsigned avail = in > 0 ? (unsigned)in : 0;
	struct tokens_state t = { .target = jc->target, .available = avail,
				  .in_use = jc->js.pool > avail ? jc->js.pool - avail : 0, .paused = jc->paused_count };
	jobobs_tokens(&jc->obs, &t);
	jobobs_status(&jc->obs, now, jobtable_jobs(&jc->jt), jc->target, r->rss_bytes, jc->budget.in.mem,
		      jobtable_paused(&jc->jt));
}

/* The pipe behind fd 1 of pid ("pipe:[N]"), or "" when it is not a pipe. */
static void stdout_pipe(pid_t pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/1", (int)pid);
	ssize_t n = readlink(path, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	if (strncmp(buf, "pipe:[", 6))
		buf[0] = '\0';
}

/* Does parent hold, beyond its own stdio, the pipe child writes to? That is
 * make reading a $(shell)'s output, waiting for it to end. */
static bool reads_output_of(pid_t parent, pid_t child)
{
	char pipe[64], dir[64], path[96], link[64];
	stdout_pipe(child, pipe, sizeof(pipe));
	if (!pipe[0])
		return false;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)parent);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) <= 2)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n > 0 && (link[n] = '\0', streq(link, pipe)))
			return true;
	}
	return false;
}

/* make waits for a $(shell) synchronously: pausing one stalls that make and
 * every job it would start (issue 15: dpkg-buildflags SIGSTOPped at 156 KiB).
 * Only make: ninja reads every job's output through a pipe of its own. */
static void mark_sync(struct jobctl *jc, const struct reading *r, uint64_t now)
{
	for (size_t k = 0; k < jc->jt.nr_jobs; k++) {
		struct job *j = &jc->jt.jobs[k];
		if (j->sync || j->sync_checked)
			continue;
		j->sync_checked = now - j->start_ns > SYNC_CHECK_NS;
		for (size_t i = 0; i < r->nr_proc_readings; i++) {
			if ((pid_t)r->procs[i].pid != j->root)
				continue;
			pid_t parent = (pid_t)r->procs[i].ppid;
			for (size_t p = 0; p < r->nr_proc_readings; p++)
				if ((pid_t)r->procs[p].pid == parent &&
				    (streq(r->procs[p].comm, "make") || streq(r->procs[p].comm, "gmake")))
					j->sync = reads_output_of(parent, j->root);
			break;
		}
		if (j->sync)
			log_debug("jobs: %d (%s) is a $(shell) its make waits for: never paused", (int)j->root, j->comm);
		if (j->sync && j->paused) {
			j->paused = false;
			jobtable_signal(&jc->jt, k, SIGCONT);
		}
	}
}

/* Is every process outside the paused jobs waiting for something (state S,
 * not a timed sleep)? A process running (R), in disk wait (D) or sleeping
 * for a time (a job holding memory while it sleeps) will make progress by
 * itself. Unreadable (gone) processes wait for nothing. */
static bool all_waiting(const struct jobctl *jc, const struct reading *r)
{
	char path[64], buf[512];
	for (size_t i = 0; i < r->nr_proc_readings; i++) {
		const struct proc_reading *p = &r->procs[i];
		int k = jobtable_job_of(&jc->jt, (pid_t)p->pid);
		if (p->exited || (k >= 0 && jc->jt.jobs[k].paused))
			continue;
		snprintf(path, sizeof(path), "/proc/%u/stat", p->pid);
		if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
			continue;
		const char *close_ = strrchr(buf, ')');
		if (!close_ || close_[1] != ' ')
			return false;
		if (close_[2] == 'R' || close_[2] == 'D')
			return false;
		snprintf(path, sizeof(path), "/proc/%u/wchan", p->pid);
		if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) > 0 && strstr(buf, "nanosleep"))
			return false;
	}
	return true;
}

/* The workload's CPU time so far: the leaf's cpu.stat; without a leaf (a
 * plain user's run) its process tree's from /proc — each live process's own
 * and that of the children it waited for, which holds every ended process
 * of the tree but the few reparented to supervise and reaped there (a drop
 * reads as progress: the stall window starts again, never fires early). */
static int workload_cpu_usec(const struct jobctl *jc, const struct reading *r, uint64_t *ret)
{
	if (jc->cgroup[0])
		return cgroup_read_keyed(jc->cgroup, "cpu.stat", "usage_usec", ret);
	static long hz;
	if (!hz)
		hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		return -EINVAL;
	uint64_t ticks = 0;
	for (size_t i = 0; i < r->nr_proc_readings; i++) {
		struct proc_stat st;
		if (r->procs[i].exited || proc_read_stat((pid_t)r->procs[i].pid, &st) < 0)
			continue;
		ticks += st.utime + st.stime + st.cutime + st.cstime;
	}
	*ret = ticks * 1000000ull / (uint64_t)hz;
	return 0;
}

/* The progress guarantee: while jobs are paused, a workload that makes no
 * progress — under STALL_CPU_USEC of CPU in STALL_MS, and every unpaused
 * process waiting (for a sub-make, on the jobserver, on the paused job's
 * output) — gets its oldest paused job back at once, and that job is not
 * paused again. cpu.stat counts the whole leaf. */
static void progress_rule(struct jobctl *jc, const struct reading *r, uint64_t now)
{
	uint64_t rss = r->rss_bytes;
	uint64_t usec;
	size_t k = jobtable_oldest_paused(&jc->jt);
	if (k == jc->jt.nr_jobs || workload_cpu_usec(jc, r, &usec) < 0) {
		jc->stall_since_ns = 0;
		return;
	}
	if (!jc->stall_since_ns || usec - jc->stall_cpu_usec > STALL_CPU_USEC) {
		jc->stall_since_ns = now;
		jc->stall_cpu_usec = usec;
		return;
	}
	if (now - jc->stall_since_ns < STALL_MS * 1000000ull)
		return;
	if (!all_waiting(jc, r)) {
		jc->stall_since_ns = now;
		jc->stall_cpu_usec = usec;
		return;
	}
	struct job *j = &jc->jt.jobs[k];
	j->paused = false;
	j->forced = true;
	jobtable_signal(&jc->jt, k, SIGCONT);
	jc->progress_resumes++;
	jc->stall_since_ns = 0;
	log_warn("jobs: the progress rule: every running process of the workload waited for %.1f s (%" PRIu64
		 " ms of CPU) with %u job%s paused; resuming job %d (%s), the oldest paused, at %" PRIu64
		 " MiB summed RSS, and not pausing it again",
		 STALL_MS / 1000.0, (usec - jc->stall_cpu_usec) / 1000, jobtable_paused(&jc->jt) + 1,
		 jobtable_paused(&jc->jt) ? "s" : "", (int)j->root, j->comm, rss >> 20);
}

/* `supervise set` lowered the maximum: once the grace time is over, pause
 * the newest running job while more than the maximum run, and resume the
 * oldest narrowed one while fewer do. */
static void narrow(struct jobctl *jc, uint64_t now)
{
	if (!jc->narrow_at_ns || now < jc->narrow_at_ns || jc->stopping)
		return;
	unsigned running = 0;
	size_t oldest = jc->jt.nr_jobs;
	for (size_t k = 0; k < jc->jt.nr_jobs; k++) {
		const struct job *j = &jc->jt.jobs[k];
		running += jobtable_is_job(j) && !j->paused;
		if (j->paused && j->narrowed && (oldest == jc->jt.nr_jobs || !newer(j, &jc->jt.jobs[oldest])))
			oldest = k;
	}
	if (running > jc->cfg.max_jobs) {
		int k = pause_choice(jc, false);
		if (k < 0)
			return;
		struct job *j = &jc->jt.jobs[k];
		j->paused = j->narrowed = true;
		jc->paused_count++;
		jobtable_signal(&jc->jt, (size_t)k, SIGSTOP);
		log_info("jobserver: %u jobs run, the maximum is %u: pausing job %d (%s), the newest, until another ends",
			 running, jc->cfg.max_jobs, (int)j->root, j->comm);
	} else if (oldest == jc->jt.nr_jobs) {
		jc->narrow_at_ns = 0;   /* narrowed, none waits: done */
	} else if (running < jc->cfg.max_jobs) {
		struct job *j = &jc->jt.jobs[oldest];
		j->paused = j->narrowed = false;
		jobtable_signal(&jc->jt, oldest, SIGCONT);
		log_info("jobserver: %u jobs run, the maximum is %u: resuming job %d (%s)", running, jc->cfg.max_jobs,
			 (int)j->root, j->comm);
	}
}

void jobctl_on_reading(struct jobctl *jc, const struct reading *r)
{
	if (!jc || jc->killed || jc->js.style == JS_NONE)
		return;
	uint64_t now = now_ns();
	/* Exit peaks teach the footprints; the job each belonged to at the
	 * last reading peaked at least that high. */
	for (size_t i = 0; i < r->nr_exits; i++) {
		const struct proc_reading *p = &r->exits[i];
		footprint_learn(&jc->fp, p->comm, p->peak_rss_bytes);
		footprint_learn(&jc->fp_global, p->comm, p->peak_rss_bytes);
		int k = jobtable_job_of(&jc->jt, (pid_t)p->pid);
		if (k >= 0 && p->peak_rss_bytes > jc->jt.jobs[k].peak)
			jc->jt.jobs[k].peak = p->peak_rss_bytes;
	}
	struct jobtable_params jp = {
		.main_pid = jc->main_pid, .fp = &jc->fp, .global = &jc->fp_global,
		/* A command never seen is sized as --job-mem (else the default), not
		 * as the learned average job: it may be the heavy one. */
		.default_job_bytes = default_job_bytes(jc),
		.now_ns = now, .ended = on_job_ended, .userdata = jc,
	};
	jobtable_map(&jc->jt, r, &jp);
	track_jobs(jc, now);
	mark_sync(jc, r, now);
	unsigned jobs = jobtable_jobs(&jc->jt);
	if (jobs > jc->peak_jobs)
		jc->peak_jobs = jobs;
	decide_apply(jc, r);
	if (jc->killed)
		return;
	/* Narrowing first: a narrowed job resumes when fewer run, before the
	 * progress rule would take it for a stall. */
	narrow(jc, now);
	progress_rule(jc, r, now);
	unsigned lost = jobaudit_run(&jc->audit, &jc->js, jc->cgroup, now);
	if (lost) {
		log_info("jobserver: %u token%s went with processes that died holding them: re-minting", lost,
			 lost == 1 ? "" : "s");
		jobserver_forget(&jc->js, lost);
		jc->reminted += lost;
	}
	observe(jc, r, now);
}

void jobctl_resume_all(struct jobctl *jc)
{
	if (!jc)
		return;
	/* A stopped job keeps a forwarded SIGINT/SIGTERM pending: let it act,
	 * and pause none from now on. */
	jc->stopping = true;
	for (size_t k = 0; k < jc->jt.nr_jobs; k++)
		if (jc->jt.jobs[k].paused) {
			jc->jt.jobs[k].paused = false;
			jobtable_signal(&jc->jt, k, SIGCONT);
		}
}

void jobctl_set_budget(struct jobctl *jc, const struct budget *b, unsigned jobs_min, unsigned jobs_max)
{
	if (!jc)
		return;
	if (b) {
		jc->budget = *b;
		gov_from_budget(jc);
	}
	if (jobs_max) {
		jc->cfg.min_jobs = jc->gcfg.min_jobs = jobs_min ? jobs_min : 1;
		jc->cfg.max_jobs = jc->gcfg.max_jobs = jobs_max;
	}
	/* Decide afresh under the new budget; the loop's next reading applies it. */
	jc->gst.target = 0;
	unsigned jobs = jobtable_jobs(&jc->jt) - jobtable_paused(&jc->jt);
	if (jobs_max && jobs > jc->cfg.max_jobs) {
		/* Say what will happen: no token is taken from a client. */
		jc->narrow_at_ns = now_ns() + NARROW_AFTER_NS;
		log_warn("jobserver: target %u: %u jobs run now; narrowing as tokens come back, and in %.0f s the "
			 "newest jobs beyond %u are paused (resumed as others end)",
			 jc->cfg.max_jobs, jobs, NARROW_AFTER_NS / 1e9, jc->cfg.max_jobs);
	} else if (jobs_max) {
		jc->narrow_at_ns = 0;
	}
	log_info("jobserver: budget %" PRIu64 " MiB, %u-%u jobs at once", jc->budget.in.mem >> 20, jc->cfg.min_jobs,
		 jc->cfg.max_jobs);
}

void jobctl_hold_tokens(struct jobctl *jc, bool hold)
{
	if (jc)
		jc->hold = hold;
}

void jobctl_summary(struct jobctl *jc, struct jobs_summary *ret)
{
	*ret = (struct jobs_summary){ .style = "none" };
	if (!jc)
		return;
	/* The run is over: the live status line gives way to the summary. */
	jobobs_status_end(&jc->obs);
	ret->style = jobserver_style_name(jc->style);
	ret->tokens_min = jc->tokens_min;
	ret->tokens_max = jc->tokens_max;
	ret->paused = jc->paused_count;
	ret->reminted = jc->reminted;
	ret->peak_concurrent = jc->peak_jobs;
	ret->progress_resumes = jc->progress_resumes;
}

void jobctl_close(struct jobctl *jc)
{
	if (!jc)
		return;
	jobobs_close(&jc->obs);
	for (size_t i = 0; i < jc->fp_run.nr_ids; i++) {
		const struct fp_id *f = &jc->fp_run.ids[i];
		footprint_learn_id(&jc->fp, f->id, f->comm, f->peak_bytes, f->ramp_ms, f->dur_ms);
	}
	if (jc->fp_path[0])
		footprint_save(&jc->fp, jc->fp_path);
	if (jc->fp_global_path[0])
		footprint_save(&jc->fp_global, jc->fp_global_path);
	jobserver_close(&jc->js);
	client_argv_free(jc->argv);
	free(jc);
}
