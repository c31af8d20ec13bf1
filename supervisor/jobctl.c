/* jobctl: see jobctl.h. Jobs, pausing and re-minting are described in
 * docs/jobserver.md. The job table (jobtable.c), the re-minting audit
 * (jobaudit.c) and the observers (jobobs.c) are their own units; this file
 * holds the actions: tokens, pause/resume, kill at the budget. */
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include "cgroup.h"
#include "footprint.h"
#include "governor.h"
#include "jobaudit.h"
#include "jobctl.h"
#include "jobobs.h"
#include "jobtable.h"
#include "log.h"
#include "util.h"

#define TICK_MS 100
#define MIB (1ull << 20)
/* The learned footprint of "a job" (any command), kept beside the commands. */
#define JOB_COMM "[job]"

struct jobctl {
	struct jobctl_config cfg;
	struct jobserver js;
	struct monitor *mon;
	struct gov_config gcfg;
	struct gov_state gst;
	struct footprints fp;
	char cgroup[PATH_MAX];
	pid_t main_pid;
	int timer_fd;
	int epoll_fd;             /* what jobctl_fd() gives the loop: the timer, and the
				     jobserver while tokens are to come home */
	bool watching_home;
	bool bpf;
	enum js_style style;

	struct jobtable jt;
	uint64_t next_job_bytes;

	unsigned target, tokens_min, tokens_max, paused_count, reminted;
	uint64_t alert_armed, alert_seen_ns;
	bool killed;
	bool stopping;            /* a signal was forwarded: no more pauses */
	bool hold;                /* grant no new token (map_count guard) */

	struct jobaudit audit;
	struct jobobs obs;
};

uint64_t jobctl_margin(uint64_t budget, bool bpf)
{
	/* bpf wakes within a millisecond of the crossing; the procfs poller only
	 * every 100 ms, in which a job can touch a few hundred MiB. */
	uint64_t m = budget / (bpf ? 16 : 8);
	uint64_t floor_ = bpf ? 64 * MIB : 256 * MIB;
	m = m > floor_ ? m : floor_;
	return m < budget / 2 ? m : budget / 2;
}

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

static void on_exit_cb(void *userdata, const struct proc_reading *p)
{
	struct jobctl *jc = userdata;

	footprint_learn(&jc->fp, p->comm, p->peak_rss_bytes);
	/* The job it belonged to at the last step peaked at least this high. */
	int k = jobtable_job_of(&jc->jt, (pid_t)p->pid);
	if (k >= 0 && p->peak_rss_bytes > jc->jt.jobs[k].peak)
		jc->jt.jobs[k].peak = p->peak_rss_bytes;
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

static unsigned cpu_cap(const struct jobctl_config *c)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned cpus = n > 0 ? (unsigned)n : 1;
	if (c->cpus > 0 && ceil(c->cpus) < cpus)
		cpus = (unsigned)ceil(c->cpus);
	return cpus ? cpus : 1;
}

int jobctl_open(const struct jobctl_config *cfg, char *const *argv, const char *run_dir, const char *cgroup_path,
		struct monitor *m, struct jobctl **ret)
{
	_cleanup_free_ struct jobctl *jc = calloc(1, sizeof(*jc));
	char buf[512];
	int r;

	if (!jc)
		return -ENOMEM;
	jc->cfg = *cfg;
	jc->js = (struct jobserver)JOBSERVER_INIT;
	jc->timer_fd = -1;
	jc->epoll_fd = -1;
	jc->mon = m;
	jc->bpf = m && streq(monitor_backend_name(m), "bpf");
	snprintf(jc->cgroup, sizeof(jc->cgroup), "%s", cgroup_path);

	if (jc->cfg.jobs_auto && !jc->cfg.max_jobs)
		jc->cfg.max_jobs = cpu_cap(cfg);
	if (jc->cfg.max_jobs < jc->cfg.min_jobs)
		jc->cfg.max_jobs = jc->cfg.min_jobs;

	const char *w = jobserver_argv_warning(argv, buf, sizeof(buf));
	if (w)
		log_warn("%s", w);

	enum js_style style = cfg->style == JS_AUTO || cfg->style == JS_NONE ? jobserver_style_for(argv) : cfg->style;
	jc->style = style;
	r = jobserver_open(&jc->js, style, run_dir, jc->cfg.max_jobs);
	if (r < 0)
		return r;
	r = jobserver_export(&jc->js);
	if (r < 0) {
		jobserver_close(&jc->js);
		return r;
	}

	footprint_load(&jc->fp);
	uint64_t learned = job_average(&jc->fp);
	jc->next_job_bytes = cfg->job_mem ? cfg->job_mem : learned ? learned : GOV_DEFAULT_JOB_BYTES;

	jc->gcfg = (struct gov_config){
		.budget_bytes = cfg->budget_bytes,
		.min_jobs = jc->cfg.min_jobs,
		.max_jobs = jc->cfg.max_jobs,
		.margin_bytes = cfg->budget_bytes ? jobctl_margin(cfg->budget_bytes, jc->bpf) : 0,
		.may_kill = !cfg->kernel_enforces,
	};

	jc->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000L }, .it_value = { 0, TICK_MS * 1000000L } };
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = jc->timer_fd };
	if (jc->timer_fd < 0 || timerfd_settime(jc->timer_fd, 0, &its, NULL) < 0 ||
	    (jc->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(jc->epoll_fd, EPOLL_CTL_ADD, jc->timer_fd, &ev) < 0) {
		r = log_errno(-errno, "jobserver: timerfd/epoll failed: %m");
		jobserver_close(&jc->js);
		closep(&jc->timer_fd);
		closep(&jc->epoll_fd);
		return r;
	}

	jobobs_open(&jc->obs, run_dir, cfg->status_line);

	if (m)
		monitor_on_exit(m, on_exit_cb, jc);

	char range[32], mem[32], job[32];
	if (jc->cfg.min_jobs == jc->cfg.max_jobs)
		snprintf(range, sizeof(range), "%u", jc->cfg.max_jobs);
	else
		snprintf(range, sizeof(range), "%u-%u", jc->cfg.min_jobs, jc->cfg.max_jobs);
	if (cfg->budget_bytes)
		snprintf(mem, sizeof(mem), "%s", format_bytes(cfg->budget_bytes, buf, sizeof(buf)));
	/* Said even without -v: which style a client must understand matters. */
	log_msg(cfg->announce ? LOG_WARN : LOG_INFO,
		"jobserver: %s style (%s), %s jobs at once%s%s, next job expected at %s%s",
		jobserver_style_name(style),
		cfg->style == JS_AUTO || cfg->style == JS_NONE ? "chosen for this command; --jobserver-style sets it"
							       : "as asked",
		range, cfg->budget_bytes ? " following memory within " : "", cfg->budget_bytes ? mem : "",
		format_bytes(jc->next_job_bytes, job, sizeof(job)),
		cfg->budget_bytes && !cfg->kernel_enforces
			? "; the kernel does not enforce the budget here: supervise holds tokens, pauses jobs "
			  "and kills at the budget"
			: "");
	*ret = TAKE_PTR(jc);
	return 0;
}

int jobctl_inherit_fds(const struct jobctl *jc, int ret_fds[2])
{
	return jobserver_inherit_fds(&jc->js, ret_fds);
}

int jobctl_fd(const struct jobctl *jc)
{
	return jc->epoll_fd;
}

/* While the pool is above the target, wake on every token that comes home:
 * a client that writes one back often takes it again within microseconds
 * (make releases a token when a job ends and acquires one for the next), so
 * a 100 ms tick would almost never find it in the pipe. */
static void watch_home(struct jobctl *jc)
{
	unsigned want = jc->target > 0 ? jc->target - 1 : 0;
	bool need = jc->js.pool > want;
	if (need == jc->watching_home)
		return;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = jc->js.home_fd };
	if (epoll_ctl(jc->epoll_fd, need ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, jc->js.home_fd, &ev) == 0)
		jc->watching_home = need;
}

bool jobctl_killed(const struct jobctl *jc)
{
	return jc && jc->killed;
}

bool jobctl_enforces(const struct jobctl *jc)
{
	return jc && jc->cfg.budget_bytes && !jc->cfg.kernel_enforces;
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
		  format_bytes(jc->cfg.budget_bytes, budget, sizeof(budget)), format_bytes(r->rss_bytes, rss, sizeof(rss)),
		  format_bytes(r->peak_rss_bytes, peak, sizeof(peak)), top ? top->comm : "?", top ? top->pid : 0,
		  format_bytes(top ? top->rss_bytes : 0, big, sizeof(big)));
	jc->killed = true;
	cgroup_kill(jc->cgroup);
}

void jobctl_started(struct jobctl *jc, pid_t main_pid)
{
	jc->main_pid = main_pid;
	jobctl_step(jc);
}

/* One decision from the summed RSS and the job table, applied: the action
 * first (the urgent part), then tokens, then the kernel-side threshold. r is
 * NULL on the fast path (an alert: the job table of the last reading). */
static void decide_apply(struct jobctl *jc, uint64_t rss, const struct reading *r, uint64_t alert_ns)
{
	struct gov_job gj[JOBTABLE_MAX_JOBS];
	for (size_t k = 0; k < jc->jt.nr_jobs; k++)
		gj[k] = (struct gov_job){ .start_ns = jc->jt.jobs[k].start_ns, .rss_bytes = jc->jt.jobs[k].rss,
					  .expected_bytes = jc->jt.jobs[k].expected, .paused = jc->jt.jobs[k].paused };
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
			 rss >> 20, d.pause_at_bytes >> 20, jc->cfg.budget_bytes >> 20, (int)jc->jt.jobs[d.job].root,
			 jc->jt.jobs[d.job].comm, jc->jt.jobs[d.job].rss >> 20);
		break;
	case GOV_RESUME:
		jc->jt.jobs[d.job].paused = false;
		jobtable_signal(&jc->jt, d.job, SIGCONT);
		log_info("memory: summed RSS %" PRIu64 " MiB: resuming job %d (%s)", rss >> 20,
			 (int)jc->jt.jobs[d.job].root, jc->jt.jobs[d.job].comm);
		break;
	case GOV_KILL:
		/* Only from a full reading: the message names the largest process. */
		if (r) {
			kill_workload(jc, r);
			return;
		}
		break;
	case GOV_NONE:
		break;
	}
	/* Processes a paused job started just before the stop stop too. */
	if (r)
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

	/* Re-arm the kernel-side threshold where the decision next changes; the
	 * bpf alert disarms itself when it fires. */
	if (jc->cfg.budget_bytes && (d.alert_bytes != jc->alert_armed || alert_ns)) {
		monitor_set_rss_alert(jc->mon, d.alert_bytes);
		jc->alert_armed = d.alert_bytes;
	}
	jobobs_decision(&jc->obs, d.target, (int)d.action, rss, alert_ns);
}

/* The observers: the tokens file and the live status line. */
static void observe(struct jobctl *jc, const struct reading *r, uint64_t now)
{
	int in = jobserver_in_pipe(&jc->js);
	unsigned avail = in > 0 ? (unsigned)in : 0;
	struct tokens_state t = { .target = jc->target, .available = avail,
				  .in_use = jc->js.pool > avail ? jc->js.pool - avail : 0, .paused = jc->paused_count };
	jobobs_tokens(&jc->obs, &t);
	jobobs_status(&jc->obs, now, jc->jt.nr_jobs, jc->target, r->rss_bytes, jc->cfg.budget_bytes,
		      jobtable_paused(&jc->jt));
}

int jobctl_step(struct jobctl *jc)
{
	struct reading r;
	uint64_t ticks;
	int ret;

	if (!jc || jc->killed || jc->js.style == JS_NONE)
		return 0;
	struct epoll_event evs[2];
	int n = epoll_wait(jc->epoll_fd, evs, 2, 0);
	bool tick = false, home = false;
	for (int i = 0; i < n; i++)
		if (evs[i].data.fd == jc->timer_fd)
			tick = true;
		else
			home = true;
	if (tick && read(jc->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return log_errno(-errno, "jobserver: reading the timer failed: %m");
	/* A token came home while the pool is to shrink: take it, nothing more. */
	if (home && !tick && jc->mon && monitor_last_alert_ns(jc->mon) == jc->alert_seen_ns) {
		jobserver_set_target(&jc->js, jc->target);
		watch_home(jc);
		return 0;
	}
	if (!jc->mon)
		return jobserver_set_target(&jc->js, jc->cfg.max_jobs);

	/* Fast path: a threshold crossing is acted on from the figure the kernel
	 * sent with it, before the full reading (which walks the shared maps and
	 * costs about a millisecond). */
	uint64_t fired = monitor_last_alert_ns(jc->mon);
	if (fired && fired != jc->alert_seen_ns) {
		jc->alert_seen_ns = fired;
		decide_apply(jc, monitor_last_alert_rss(jc->mon), NULL, fired);
	}

	if ((ret = monitor_read(jc->mon, &r)) < 0)
		return ret;
	uint64_t now = now_ns();
	struct jobtable_params jp = {
		.main_pid = jc->main_pid, .fp = &jc->fp,
		/* A command never seen is sized as --job-mem (else the default), not
		 * as the learned average job: it may be the heavy one. */
		.default_job_bytes = jc->cfg.job_mem ? jc->cfg.job_mem : GOV_DEFAULT_JOB_BYTES,
		.now_ns = now, .ended = on_job_ended, .userdata = jc,
	};
	jobtable_map(&jc->jt, &r, &jp);
	decide_apply(jc, r.rss_bytes, &r, 0);
	if (jc->killed)
		return 0;
	unsigned lost = jobaudit_run(&jc->audit, &jc->js, jc->cgroup, now);
	if (lost) {
		log_info("jobserver: %u token%s went with processes that died holding them: re-minting", lost,
			 lost == 1 ? "" : "s");
		jobserver_forget(&jc->js, lost);
		jc->reminted += lost;
	}
	watch_home(jc);
	observe(jc, &r, now);
	return 0;
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

void jobctl_set_budget(struct jobctl *jc, uint64_t budget_bytes, unsigned jobs_min, unsigned jobs_max)
{
	if (!jc)
		return;
	if (budget_bytes) {
		jc->cfg.budget_bytes = budget_bytes;
		jc->gcfg.budget_bytes = budget_bytes;
		jc->gcfg.margin_bytes = jobctl_margin(budget_bytes, jc->bpf);
	}
	if (jobs_max) {
		jc->cfg.min_jobs = jc->gcfg.min_jobs = jobs_min ? jobs_min : 1;
		jc->cfg.max_jobs = jc->gcfg.max_jobs = jobs_max;
	}
	/* Decide afresh under the new budget; the next step applies it. */
	jc->gst.target = 0;
	jc->alert_armed = 0;
	log_info("jobserver: budget %" PRIu64 " MiB, %u-%u jobs at once", jc->cfg.budget_bytes >> 20,
		 jc->cfg.min_jobs, jc->cfg.max_jobs);
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
	if (jc->mon)
		monitor_on_exit(jc->mon, NULL, NULL);
	jobobs_close(&jc->obs);
	footprint_save(&jc->fp);
	jobserver_close(&jc->js);
	closep(&jc->timer_fd);
	closep(&jc->epoll_fd);
	free(jc);
}
