/* jobctl: see jobctl.h. Jobs, pausing and re-minting are described in
 * docs/jobserver.md. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "cgroup.h"
#include "footprint.h"
#include "governor.h"
#include "jobctl.h"
#include "log.h"
#include "util.h"

#define MAX_JOBS 512
#define MAX_PROCS 4096
#define TICK_MS 100
#define AUDIT_MS 500
#define MIB (1ull << 20)
/* The learned footprint of "a job" (any command), kept beside the commands. */
#define JOB_COMM "[job]"

struct job {
	pid_t root;
	char comm[16];    /* of its heaviest process, for messages */
	uint64_t start_ns;
	uint64_t rss, peak, expected;
	bool paused;
	bool seen;
};

struct proc_ix {
	pid_t pid, ppid;
	int job;          /* index into jc->jobs, -1: none (a client, or outside any job) */
	int idx;          /* into the reading's procs */
};

struct jobctl {
	struct jobctl_config cfg;
	struct jobserver js;
	struct monitor *mon;
	struct gov_config gcfg;
	struct gov_state gst;
	struct footprints fp;
	char run_dir[PATH_MAX];
	char cgroup[PATH_MAX];
	pid_t main_pid;
	int timer_fd;
	int epoll_fd;             /* what jobctl_fd() gives the loop: the timer, and the
				     jobserver while tokens are to come home */
	bool watching_home;
	bool bpf;
	enum js_style style;

	struct job jobs[MAX_JOBS];
	size_t nr_jobs;
	struct proc_ix px[MAX_PROCS];
	size_t nr_px;
	uint64_t next_job_bytes;

	unsigned target, tokens_min, tokens_max, paused_count, reminted;
	uint64_t alert_armed, alert_seen_ns;
	bool killed;
	bool stopping;            /* a signal was forwarded: no more pauses */
	bool hold;                /* grant no new token (map_count guard) */

	/* re-minting audit */
	uint64_t last_audit_ns;
	int audit_prev_lost;
	unsigned audit_prev_held;
	int audit_agree;      /* audits in a row that found the same loss */

	char tokens_line[64];
	uint64_t status_ns;       /* last live status line */
	bool status_shown;
	FILE *decision_log;
};

/* Processes that hand out work and hold tokens for it (each with its one
 * implicit token); everything they start directly is a job. */
static bool is_client_comm(const char *c)
{
	return streq(c, "make") || streq(c, "gmake") || streq(c, "cargo") || streq(c, "ninja") || streq(c, "samu");
}

/* Clients known to hold exactly (running children - 1) tokens, and shells
 * that never read the jobserver although they inherit it (recursive recipes). */
static int known_holding(const char *c, unsigned children)
{
	if (streq(c, "make") || streq(c, "gmake"))
		return children > 0 ? (int)children - 1 : 0;
	if (streq(c, "sh") || streq(c, "bash") || streq(c, "dash") || streq(c, "zsh") || streq(c, "env"))
		return 0;
	return -1;
}

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
	for (size_t i = 0; i < jc->nr_px; i++)
		if (jc->px[i].pid == (pid_t)p->pid && jc->px[i].job >= 0) {
			struct job *j = &jc->jobs[jc->px[i].job];
			if (p->peak_rss_bytes > j->peak)
				j->peak = p->peak_rss_bytes;
			break;
		}
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
	snprintf(jc->run_dir, sizeof(jc->run_dir), "%s", run_dir);
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

	const char *dl = getenv("SUPERVISE_DECISION_LOG");
	if (dl && *dl)
		jc->decision_log = fopen(dl, "ae");

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

static int cmp_px(const void *a, const void *b)
{
	const struct proc_ix *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static struct proc_ix *find_px(struct jobctl *jc, pid_t pid)
{
	struct proc_ix key = { .pid = pid };
	return bsearch(&key, jc->px, jc->nr_px, sizeof(jc->px[0]), cmp_px);
}

static void signal_job(struct jobctl *jc, int job, int sig)
{
	for (size_t i = 0; i < jc->nr_px; i++)
		if (jc->px[i].job == job)
			kill(jc->px[i].pid, sig);
}

static const char *comm_of(const struct reading *r, const struct proc_ix *p)
{
	return r->procs[p->idx].comm;
}

/* Rebuild the job table from a reading: a job is a process started directly
 * by a client (and everything below it, up to a nested client). */
static void map_jobs(struct jobctl *jc, const struct reading *r, uint64_t now)
{
	size_t n = r->nr_proc_readings < MAX_PROCS ? r->nr_proc_readings : MAX_PROCS;

	jc->nr_px = 0;
	for (size_t i = 0; i < n; i++)
		jc->px[jc->nr_px++] = (struct proc_ix){ .pid = r->procs[i].pid, .ppid = r->procs[i].ppid,
							.job = -2, .idx = (int)i };
	qsort(jc->px, jc->nr_px, sizeof(jc->px[0]), cmp_px);
	for (size_t k = 0; k < jc->nr_jobs; k++)
		jc->jobs[k].seen = false, jc->jobs[k].rss = 0;

	for (size_t i = 0; i < jc->nr_px; i++) {
		/* Walk up to the job root (bounded: a cycle in a racy reading ends). */
		struct proc_ix *p = &jc->px[i];
		int job = -1;
		for (int depth = 0; p && depth < 64; depth++) {
			bool client = p->pid == jc->main_pid || is_client_comm(comm_of(r, p));
			if (client)
				break;
			struct proc_ix *parent = find_px(jc, p->ppid);
			bool parent_client = parent && (parent->pid == jc->main_pid || is_client_comm(comm_of(r, parent)));
			if (parent_client) {
				/* p is a job root. */
				size_t k;
				for (k = 0; k < jc->nr_jobs && jc->jobs[k].root != p->pid; k++)
					;
				if (k == jc->nr_jobs && k < MAX_JOBS) {
					jc->jobs[k] = (struct job){ .root = p->pid, .start_ns = now };
					jc->nr_jobs++;
				}
				job = k < MAX_JOBS ? (int)k : -1;
				break;
			}
			p = parent;
		}
		jc->px[i].job = job;
	}

	/* Sums, expected peaks; jobs not seen any more ended. */
	/* A command never seen is sized as --job-mem (else the default), not as
	 * the learned average job: it may be the heavy one. */
	uint64_t def = jc->cfg.job_mem ? jc->cfg.job_mem : GOV_DEFAULT_JOB_BYTES;
	for (size_t k = 0; k < jc->nr_jobs; k++)
		jc->jobs[k].expected = 0;
	for (size_t i = 0; i < jc->nr_px; i++) {
		if (jc->px[i].job < 0)
			continue;
		struct job *j = &jc->jobs[jc->px[i].job];
		const struct proc_reading *pr = &r->procs[jc->px[i].idx];
		if (!j->seen || pr->rss_bytes * 2 > j->rss)
			snprintf(j->comm, sizeof(j->comm), "%s", pr->comm);
		j->seen = true;
		j->rss += pr->rss_bytes;
		uint64_t e = footprint_expected(&jc->fp, pr->comm);
		if (!e)
			e = def;
		if (e > j->expected)
			j->expected = e;
	}
	size_t w = 0;
	for (size_t k = 0; k < jc->nr_jobs; k++) {
		struct job *j = &jc->jobs[k];
		if (j->rss > j->peak)
			j->peak = j->rss;
		if (!j->seen) {
			/* A job's peak teaches what the next job may need. */
			if (j->peak) {
				footprint_learn(&jc->fp, JOB_COMM, j->peak);
				if (!jc->cfg.job_mem)
					jc->next_job_bytes = job_average(&jc->fp);
			}
			continue;
		}
		if (w != k) {
			jc->jobs[w] = *j;
			for (size_t i = 0; i < jc->nr_px; i++)
				if (jc->px[i].job == (int)k)
					jc->px[i].job = (int)w;
		}
		w++;
	}
	jc->nr_jobs = w;
}

static void write_tokens_file(struct jobctl *jc)
{
	int in = jobserver_in_pipe(&jc->js);
	unsigned avail = in > 0 ? (unsigned)in : 0;
	unsigned in_use = jc->js.pool > avail ? jc->js.pool - avail : 0;
	char line[64], path[PATH_MAX + 16];
	/* target counts jobs at once (implicit token included), as --jobs does. */
	snprintf(line, sizeof(line), "%u %u %u %u\n", jc->target, avail, in_use, jc->paused_count);
	if (streq(line, jc->tokens_line))
		return;
	snprintf(jc->tokens_line, sizeof(jc->tokens_line), "%s", line);
	snprintf(path, sizeof(path), "%s/tokens", jc->run_dir);
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, strlen(line)) < 0 || rename(tmp, path) < 0)
		log_debug("jobserver: updating %s failed: %m", path);
}

/* Does pid have the jobserver open? -1 when unknown (gone, unreadable). */
static int holds_jobserver(const struct jobctl *jc, pid_t pid)
{
	char dir[64], path[128];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && st.st_dev == jc->js.dev && st.st_ino == jc->js.ino)
			return 1;
	}
	return 0;
}

struct audit_proc {
	pid_t pid, ppid;
	char comm[16];
};

/* Every process in the leaf and below, from cgroup.procs (authoritative, unlike
 * a reading that may lag an exec or an exit), with ppid and comm from
 * /proc/PID/stat. Returns the count, or -1 when it cannot be read whole. */
static int cgroup_procs(const char *cg, struct audit_proc *ret, int n, int cap, int depth)
{
	char path[PATH_MAX + 32], buf[512];
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f || depth > 16)
		return -1;
	int pid;
	while (fscanf(f, "%d", &pid) == 1) {
		if (n == cap)
			return -1;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
			continue;   /* gone since: it holds nothing any more */
		char *open_ = strchr(buf, '('), *close_ = strrchr(buf, ')');
		int ppid;
		if (!open_ || !close_ || sscanf(close_ + 2, "%*c %d", &ppid) != 1)
			return -1;
		*close_ = '\0';
		ret[n] = (struct audit_proc){ .pid = pid, .ppid = ppid };
		snprintf(ret[n].comm, sizeof(ret[n].comm), "%s", open_ + 1);
		n++;
	}
	_cleanup_closedir_ DIR *d = opendir(cg);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", cg, de->d_name);
			n = cgroup_procs(path, ret, n, cap, depth + 1);
			if (n < 0)
				return -1;
		}
	return n;
}

/* Re-minting (docs/jobserver.md): tokens held = pool - in pipe. Every live
 * process with the jobserver open is a possible holder; make holds one token
 * per running child beyond its implicit one, shells hold none. When every
 * holder is of a known kind, held - (what they hold) tokens went with
 * processes that died holding them. Seen the same in three audits in a row
 * (not a token in flight between a read and a fork, or between a child's exit
 * and make writing its token back), they are re-minted. */
static void audit(struct jobctl *jc, uint64_t now)
{
	static struct audit_proc ap[MAX_PROCS];

	if (now - jc->last_audit_ns < AUDIT_MS * 1000000ull)
		return;
	jc->last_audit_ns = now;
	int in = jobserver_in_pipe(&jc->js);
	int n = in < 0 || jc->js.pool <= (unsigned)in ? -1 : cgroup_procs(jc->cgroup, ap, 0, MAX_PROCS, 0);
	if (n < 0) {
		jc->audit_agree = 0;
		return;
	}
	unsigned held = jc->js.pool - (unsigned)in;
	long justified = 0;
	for (int i = 0; i < n; i++) {
		int h = holds_jobserver(jc, ap[i].pid);
		if (h == 0)
			continue;
		unsigned children = 0;
		for (int k = 0; k < n; k++)
			children += ap[k].ppid == ap[i].pid;
		int k = h < 0 ? -1 : known_holding(ap[i].comm, children);
		if (k < 0) {
			/* rustc, a script reading tokens itself: cannot tell. */
			jc->audit_agree = 0;
			return;
		}
		justified += k;
	}
	int lost = (long)held > justified ? (int)((long)held - justified) : 0;
	if (lost > 0 && lost == jc->audit_prev_lost && held == jc->audit_prev_held)
		jc->audit_agree++;
	else
		jc->audit_agree = lost > 0 ? 1 : 0;
	jc->audit_prev_lost = lost;
	jc->audit_prev_held = held;
	if (jc->audit_agree >= 3) {
		log_info("jobserver: %d token%s went with processes that died holding them: re-minting", lost,
			 lost == 1 ? "" : "s");
		jobserver_forget(&jc->js, (unsigned)lost);
		jc->reminted += (unsigned)lost;
		jc->audit_agree = 0;
		jc->audit_prev_lost = 0;
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
	struct gov_job gj[MAX_JOBS];
	for (size_t k = 0; k < jc->nr_jobs; k++)
		gj[k] = (struct gov_job){ .start_ns = jc->jobs[k].start_ns, .rss_bytes = jc->jobs[k].rss,
					  .expected_bytes = jc->jobs[k].expected, .paused = jc->jobs[k].paused };
	struct gov_input in = { .rss_bytes = rss, .next_job_bytes = jc->next_job_bytes, .jobs = gj,
				.nr_jobs = jc->nr_jobs };
	struct gov_decision d;
	governor_decide(&jc->gcfg, &jc->gst, &in, &d);
	/* The workload was told to stop: a paused job could not act on it. */
	if (jc->stopping && d.action == GOV_PAUSE)
		d.action = GOV_NONE;
	/* A process nears vm.max_map_count: no new job until it is past. */
	if (jc->hold && d.target > jc->nr_jobs)
		d.target = jc->nr_jobs > 0 ? (unsigned)jc->nr_jobs : 1;

	switch (d.action) {
	case GOV_PAUSE:
		jc->jobs[d.job].paused = true;
		jc->paused_count++;
		signal_job(jc, (int)d.job, SIGSTOP);
		log_info("memory: summed RSS %" PRIu64 " MiB (pause point %" PRIu64 " MiB, budget %" PRIu64
			 " MiB): pausing job %d (%s, %" PRIu64 " MiB)",
			 rss >> 20, d.pause_at_bytes >> 20, jc->cfg.budget_bytes >> 20, (int)jc->jobs[d.job].root,
			 jc->jobs[d.job].comm, jc->jobs[d.job].rss >> 20);
		break;
	case GOV_RESUME:
		jc->jobs[d.job].paused = false;
		signal_job(jc, (int)d.job, SIGCONT);
		log_info("memory: summed RSS %" PRIu64 " MiB: resuming job %d (%s)", rss >> 20,
			 (int)jc->jobs[d.job].root, jc->jobs[d.job].comm);
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
		for (size_t k = 0; k < jc->nr_jobs; k++)
			if (jc->jobs[k].paused && k != d.job)
				signal_job(jc, (int)k, SIGSTOP);

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
	if (jc->decision_log) {
		uint64_t applied = now_ns();
		fprintf(jc->decision_log, "%" PRIu64 " target=%u action=%d rss=%" PRIu64 " alert_latency_ns=%" PRId64 "\n",
			applied, d.target, (int)d.action, rss, alert_ns ? (int64_t)(applied - alert_ns) : (int64_t)-1);
	}
}

/* The live status on a terminal, at most 4 times a second: jobs running /
 * target, memory vs budget, paused jobs. Carriage return, no newline: the
 * workload's next line overwrites it. */
static void status_line(struct jobctl *jc, const struct reading *r, uint64_t now)
{
	if (!jc->cfg.status_line || now - jc->status_ns < 250000000ull)
		return;
	jc->status_ns = now;
	unsigned paused = 0;
	for (size_t k = 0; k < jc->nr_jobs; k++)
		paused += jc->jobs[k].paused;
	char a[32], b[32];
	if (jc->cfg.budget_bytes)
		fprintf(stderr, "\rsupervise: jobs %zu/%u, memory %s of %s, %u paused\033[K\r", jc->nr_jobs, jc->target,
			format_bytes(r->rss_bytes, a, sizeof(a)), format_bytes(jc->cfg.budget_bytes, b, sizeof(b)),
			paused);
	else
		fprintf(stderr, "\rsupervise: jobs %zu/%u, memory %s\033[K\r", jc->nr_jobs, jc->target,
			format_bytes(r->rss_bytes, a, sizeof(a)));
	jc->status_shown = true;
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
	map_jobs(jc, &r, now);
	decide_apply(jc, r.rss_bytes, &r, 0);
	if (jc->killed)
		return 0;
	audit(jc, now);
	watch_home(jc);
	write_tokens_file(jc);
	status_line(jc, &r, now);
	return 0;
}

void jobctl_resume_all(struct jobctl *jc)
{
	if (!jc)
		return;
	/* A stopped job keeps a forwarded SIGINT/SIGTERM pending: let it act,
	 * and pause none from now on. */
	jc->stopping = true;
	for (size_t k = 0; k < jc->nr_jobs; k++)
		if (jc->jobs[k].paused) {
			jc->jobs[k].paused = false;
			signal_job(jc, (int)k, SIGCONT);
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
	if (jc->status_shown)
		fputs("\r\033[K", stderr);
	jc->status_shown = false;
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
	if (jc->status_shown)
		fputs("\r\033[K", stderr);
	footprint_save(&jc->fp);
	jobserver_close(&jc->js);
	closep(&jc->timer_fd);
	closep(&jc->epoll_fd);
	if (jc->decision_log)
		fclose(jc->decision_log);
	free(jc);
}
