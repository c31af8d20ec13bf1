/* jobctl: see jobctl.h. Jobs, pausing and re-minting are described in
 * docs/jobserver.md. The job table (jobtable.c), the re-minting audit
 * (jobaudit.c) and the observers (jobobs.c) are their own units; this file
 * holds the actions: tokens, pause/resume, kill at the budget. */
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include "cgroup.h"
#include "proctree.h"
#include "footprint.h"
#include "governor.h"
#include "jobaudit.h"
#include "jobctl.h"
#include "jobobs.h"
#include "jobtable.h"
#include "log.h"
#include "util.h"

/* The learned footprint of "a job" (any command), kept beside the commands. */
#define JOB_COMM "[job]"

struct jobctl {
	struct jobctl_config cfg;
	struct budget budget;
	struct jobserver js;
	struct gov_config gcfg;
	struct gov_state gst;
	struct footprints fp;
	char cgroup[PATH_MAX];
	pid_t main_pid;
	enum js_style style;

	struct jobtable jt;
	uint64_t next_job_bytes;

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
static uint64_t job_average(const struct footprints *fp)
{
	for (size_t i = 0; i < fp->n; i++)
		if (streq(fp->e[i].comm, JOB_COMM))
			return fp->e[i].ewma_bytes;
	return 0;
}

/* A job's peak teaches what the next job may need. */
static void on_job_ended(void *userdata, const struct job *j)
{
	struct jobctl *jc = userdata;

	if (!j->peak)
		return;
	footprint_learn(&jc->fp, JOB_COMM, j->peak);
	if (!jc->cfg.job_mem)
		jc->next_job_bytes = job_average(&jc->fp);
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
		snprintf(range, sizeof(range), "%u", cfg->max_jobs);
	else
		snprintf(range, sizeof(range), "%u-%u", cfg->min_jobs, cfg->max_jobs);
	format_bytes(budget, mem, sizeof(mem));
	/* Said even without -v: which style a client must understand matters. */
	log_msg(cfg->announce ? LOG_WARN : LOG_INFO,
		"jobserver: %s style (%s), %s jobs at once%s%s, next job expected at %s%s",
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

	if (jc->cfg.jobs_auto && !jc->cfg.max_jobs)
		jc->cfg.max_jobs = cfg->cpus ? cfg->cpus : 1;
	if (jc->cfg.max_jobs < jc->cfg.min_jobs)
		jc->cfg.max_jobs = jc->cfg.min_jobs;

	const char *w = jobserver_argv_warning(argv, buf, sizeof(buf));
	if (w)
		log_warn("%s", w);

	jc->style = cfg->style == JS_AUTO || cfg->style == JS_NONE ? jobserver_style_for(argv) : cfg->style;
	r = jobserver_open(&jc->js, jc->style, run_dir, jc->cfg.max_jobs);
	if (r < 0)
		return r;

	footprint_load(&jc->fp);
	uint64_t learned = job_average(&jc->fp);
	jc->next_job_bytes = cfg->job_mem ? cfg->job_mem : learned ? learned : GOV_DEFAULT_JOB_BYTES;
	jc->gcfg = (struct gov_config){ .min_jobs = jc->cfg.min_jobs, .max_jobs = jc->cfg.max_jobs };
	gov_from_budget(jc);
	jobobs_open(&jc->obs, run_dir, cfg->status_line);
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

/* One decision from the reading and the job table, applied: the action first
 * (the urgent part), then tokens; the threshold where it next changes is
 * kept for the loop to arm. */
static void decide_apply(struct jobctl *jc, const struct reading *r)
{
	struct gov_job gj[JOBTABLE_MAX_JOBS];
	for (size_t k = 0; k < jc->jt.nr_jobs; k++)
		gj[k] = (struct gov_job){ .start_ns = jc->jt.jobs[k].start_ns, .rss_bytes = jc->jt.jobs[k].rss,
					  .expected_bytes = jc->jt.jobs[k].expected, .paused = jc->jt.jobs[k].paused };
	/* A crossing the kernel counted higher than the reading (a job that
	 * grew and shrank between the two) still counts. */
	uint64_t rss = r->alert_rss_bytes > r->rss_bytes ? r->alert_rss_bytes : r->rss_bytes;
	struct gov_input in = { .rss_bytes = rss, .next_job_bytes = jc->next_job_bytes, .jobs = gj,
				.nr_jobs = jc->jt.nr_jobs };
	struct gov_decision d;
	governor_decide(&jc->gcfg, &jc->gst, &in, &d);
	/* The workload was told to stop: a paused job could not act on it. */
	if (jc->stopping && d.action == GOV_PAUSE)
		d.action = GOV_NONE;
	/* A process nears vm.max_map_count: no new job until it is past. */
	if (jc->hold && d.target > jc->jt.nr_jobs)
		d.target = jc->jt.nr_jobs > 0 ? (unsigned)jc->jt.nr_jobs : 1;

	switch (d.action) {
	case GOV_PAUSE:
		jc->jt.jobs[d.job].paused = true;
		jc->paused_count++;
		jobtable_signal(&jc->jt, d.job, SIGSTOP);
		log_info("memory: summed RSS %" PRIu64 " MiB (pause point %" PRIu64 " MiB, budget %" PRIu64
			 " MiB): pausing job %d (%s, %" PRIu64 " MiB)",
			 rss >> 20, d.pause_at_bytes >> 20, jc->budget.in.mem >> 20, (int)jc->jt.jobs[d.job].root,
			 jc->jt.jobs[d.job].comm, jc->jt.jobs[d.job].rss >> 20);
		break;
	case GOV_RESUME:
		jc->jt.jobs[d.job].paused = false;
		jobtable_signal(&jc->jt, d.job, SIGCONT);
		log_info("memory: summed RSS %" PRIu64 " MiB: resuming job %d (%s)", rss >> 20,
			 (int)jc->jt.jobs[d.job].root, jc->jt.jobs[d.job].comm);
		break;
	case GOV_KILL:
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
	jobobs_status(&jc->obs, now, jc->jt.nr_jobs, jc->target, r->rss_bytes, jc->budget.in.mem,
		      jobtable_paused(&jc->jt));
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
		int k = jobtable_job_of(&jc->jt, (pid_t)p->pid);
		if (k >= 0 && p->peak_rss_bytes > jc->jt.jobs[k].peak)
			jc->jt.jobs[k].peak = p->peak_rss_bytes;
	}
	struct jobtable_params jp = {
		.main_pid = jc->main_pid, .fp = &jc->fp,
		/* A command never seen is sized as --job-mem (else the default), not
		 * as the learned average job: it may be the heavy one. */
		.default_job_bytes = jc->cfg.job_mem ? jc->cfg.job_mem : GOV_DEFAULT_JOB_BYTES,
		.now_ns = now, .ended = on_job_ended, .userdata = jc,
	};
	jobtable_map(&jc->jt, r, &jp);
	decide_apply(jc, r);
	if (jc->killed)
		return;
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
}

void jobctl_close(struct jobctl *jc)
{
	if (!jc)
		return;
	jobobs_close(&jc->obs);
	footprint_save(&jc->fp);
	jobserver_close(&jc->js);
	free(jc);
}
