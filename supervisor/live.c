/* live: the launch advice, the live advice page, the map_count guard and the
 * control socket, driven from the run loop. */
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "advice-page.h"
#include "cli.h"
#include "control.h"
#include "live.h"
#include "log.h"
#include "mapguard.h"
#include "size.h"
#include "util.h"

extern char **environ;

/* How soon the page wants the next reading; sooner while a process is
 * above the map_count warning threshold, so the 95 % warning comes in time. */
#define PERIOD_MS       250
#define PERIOD_FAST_MS  20

struct live {
	struct live_options o;
	struct live_budget budget;
	struct advice_page *page;
	struct mapguard *guard;
	struct reading last;      /* totals of the last reading (no process table) */
	char **env;
	int control_fd;
	live_budget_hook hook;
	void *hook_data;
};

/* The memory the advice divides: the budget, else memory.high. */
static uint64_t budget_bytes(const struct live *l)
{
	return l->o.budget->in.mem ? l->o.budget->in.mem : l->o.budget->in.mem_high;
}

/* The environment the workload would get without the advice: ours with the
 * other capabilities' variables. */
static const char *env_lookup(const char *name, void *userdata)
{
	return launch_env_get(userdata, name);
}

static void input_of(const struct live *l, uint64_t usage, struct advice_input *ret)
{
	*ret = (struct advice_input){
		.cpus = l->budget.cpus,
		.online_cpus = l->o.cpus,
		.budget_bytes = budget_bytes(l),
		.usage_bytes = usage,
		.jobs_min = l->budget.jobs_min,
		.jobs_max = l->budget.jobs_max,
		.excluded = l->o.cfg->advice_excluded,
	};
}

static void read_pressure(const struct live *l, const char *file, uint32_t *ret)
{
	char text[512];
	if (cgroup_read_text(l->o.cg->path, file, text, sizeof(text)) < 0 || advice_parse_pressure(text, ret) < 0)
		*ret = 0;
}

/* Publish the page when a figure changed. */
static void publish(struct live *l, const struct reading *rd)
{
	struct sv_advice a = { 0 };
	struct advice_input in;
	struct advice adv;
	const struct reading r = *rd;

	if (!l->page)
		return;
	input_of(l, r.rss_bytes, &in);
	advice_compute(&in, &adv);
	a.threads = adv.threads;
	a.jobs = adv.jobs;
	a.jobs_min = l->budget.jobs_min;
	a.jobs_max = l->budget.jobs_max;
	a.cpus_milli = adv.cpus_milli;
	a.flags = (l->budget.cpus > 0 ? SV_ADVICE_CPU_QUOTA : 0) |
		  (l->guard && mapguard_hold(l->guard) ? SV_ADVICE_HOLD_JOBS : 0);
	a.budget_bytes = budget_bytes(l);
	a.usage_bytes = r.rss_bytes;
	a.headroom_bytes = adv.headroom_bytes;
	a.max_map_count = (uint32_t)(l->guard ? mapguard_limit(l->guard) : read_max_map_count());
	for (size_t i = 0; i < r.nr_proc_readings; i++) {
		const struct proc_reading *p = &r.procs[i];
		if (!p->exited && p->map_count > a.map_count_worst) {
			a.map_count_worst = p->map_count;
			a.map_count_worst_pid = p->pid;
		}
	}
	a.map_count_headroom = a.max_map_count > a.map_count_worst ? a.max_map_count - a.map_count_worst : 0;
	read_pressure(l, "memory.pressure", &a.mem_pressure_x100);
	read_pressure(l, "cpu.pressure", &a.cpu_pressure_x100);

	/* Publish only changes: a sleeping reader is woken for news, not ticks. */
	struct sv_advice last = *advice_page_last(l->page);
	last.generation = a.generation;
	last.updated_ns = a.updated_ns;
	if (advice_page_last(l->page)->generation && !memcmp(&last, &a, sizeof(a)))
		return;
	advice_page_publish(l->page, &a);
}

void live_on_reading(struct live *l, const struct reading *r)
{
	if (!l)
		return;
	/* The guard looks at every reading (a crossing made this one at once). */
	if (l->guard)
		mapguard_check(l->guard, r);
	l->last = *r;
	l->last.procs = NULL;
	l->last.nr_proc_readings = 0;
	l->last.exits = NULL;
	l->last.nr_exits = 0;
	publish(l, r);
}

uint32_t live_map_alert(const struct live *l)
{
	return l && l->guard ? mapguard_alert_threshold(l->guard) : 0;
}

unsigned live_period_ms(const struct live *l)
{
	return live_hold_tokens(l) ? PERIOD_FAST_MS : PERIOD_MS;
}

/* Was name given by another capability (the jobserver), not the user? */
static bool from_capability(const struct live *l, const char *name)
{
	for (size_t i = 0; i < l->o.nr_env; i++)
		if (streq(l->o.env[i].name, name) && !l->o.env[i].unset &&
		    !(l->o.env[i].keep_user && getenv(name)))
			return true;
	return false;
}

static void launch_advice(struct live *l, char **base)
{
	struct advice_input in;
	struct advice adv;
	struct advice_var vars[ADVICE_MAX_VARS];

	input_of(l, 0, &in);
	advice_compute(&in, &adv);
	size_t n = advice_env_vars(&in, &adv, env_lookup, base, vars, ELEMENTSOF(vars));
	for (size_t i = 0; i < n; i++) {
		if (vars[i].user_set && from_capability(l, vars[i].name))
			log_info("advice: %s=%s from the jobserver (its most jobs at once; its tokens decide below)",
				 vars[i].name, vars[i].value);
		else if (vars[i].user_set)
			log_info("advice: %s kept as the user set it (%s)", vars[i].name, vars[i].value);
		else
			log_info("advice: %s=%s%s (%s)", vars[i].name, vars[i].value,
				 vars[i].appended ? ", added to the user's" : "", vars[i].why);
	}
	if (in.excluded) {
		char names[128], as_given[128];
		advice_runtime_names(in.excluded, names, sizeof(names));
		advice_format(l->o.cfg->advice, in.excluded, as_given, sizeof(as_given));
		log_info("advice: nothing set for %s (--advice %s)", names, as_given);
	}
	if (n == 0 && !in.excluded)
		log_info("advice: no runtime variable set: no --cpus and no --mem to base them on");
	l->env = advice_env_build(base, vars, n, l->page ? advice_page_path(l->page) : NULL);
	if (!l->env)
		log_warn("advice: out of memory building the environment; the workload gets supervise's own");
	if (l->page)
		log_info("advice: live page %s (SUPERVISE_ADVICE)", advice_page_path(l->page));
}

int live_open(const struct live_options *o, struct live **ret)
{
	_cleanup_free_ struct live *l = calloc(1, sizeof(*l));
	const struct config *c = o->cfg;
	int r;

	if (!l)
		return -ENOMEM;
	l->o = *o;
	l->control_fd = -1;
	l->budget.cpus = c->cpus;
	/* No --cpus: an enclosing cpu.max (a container's, a CI slice's) is the
	 * quota runtimes should follow, as Go and Rust read it themselves. */
	if (!(c->cpus > 0)) {
		double q = budget_cpu_quota(o->cg->path[0] ? o->cg->path : o->base[0] ? o->base : NULL);
		if (q > 0)
			l->budget.cpus = q;
	}

	if (c->cpus > 0 && !(o->cg->controllers & CGROUP_CPU))
		log_warn("advice: without cpu.max, code that reads the CPU quota (Rust's available_parallelism, "
			 "the JVM's container support, Go 1.25) sees all %u CPUs here; %s", o->cpus,
			 c->advice == ADVICE_NONE ? "--advice none: nothing tells runtimes about --cpus"
						  : "the advice variables (GOMAXPROCS, ...) carry --cpus instead");

	r = mapguard_new(&(struct mapguard_options){ .raise = c->raise_map_count }, &l->guard);
	if (r < 0)
		return r;

	if (c->advice == ADVICE_ALL) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/advice", o->run_dir);
		if (advice_page_create(path, &l->page) < 0)
			log_warn("advice: no live page for this run (see above); the launch variables are still set");
	}
	/* The workload's environment: ours with the jobserver's variables,
	 * then the advice on top. Nothing is set in supervise's own. */
	char **base = o->nr_env ? launch_env_build(environ, o->env, o->nr_env) : NULL;
	if (o->nr_env && !base)
		return log_errno(-ENOMEM, "live: building the workload's environment failed: %m");
	if (c->advice != ADVICE_NONE) {
		launch_advice(l, base ? base : environ);
		launch_env_free(base);
	} else {
		l->env = base;
	}

	/* Without the socket the run goes on; only `supervise set` is lost. */
	l->control_fd = control_listen(o->run_dir);
	/* A page before the first reading: the launch figures, usage 0. */
	publish(l, &l->last);
	*ret = TAKE_PTR(l);
	return 0;
}

char *const *live_launch_env(struct live *l)
{
	return l ? l->env : NULL;
}

size_t live_fds(struct live *l, struct pollfd *p, size_t n)
{
	size_t i = 0;
	if (!l)
		return 0;
	if (i < n)
		p[i++] = (struct pollfd){ .fd = l->control_fd, .events = POLLIN };
	return i;
}

static bool apply(struct live *l, const struct control_request *req, char *reply, size_t size)
{
	struct cgroup_limits k = { 0 };
	size_t o = snprintf(reply, size, "ok:");
	char b[32];
	unsigned missing = 0;

	/* Without a jobserver a job range reaches only the live page; without
	 * the page either it would change nothing: refused, nothing applied. */
	bool jobserver = l->o.cfg->has_jobs;
	if (req->has_jobs && !jobserver && !l->page) {
		snprintf(reply, size, "error: --jobs would change nothing: this run has no jobserver (it started without "
			 "--jobs) and no live advice page (%s); nothing was applied. Start the run with --jobs to change "
			 "its jobs while it runs", l->o.cfg->advice == ADVICE_ENV ? "--advice env"
						   : l->o.cfg->advice == ADVICE_NONE ? "--advice none"
										      : "it could not be made at launch");
		return false;
	}
	uint64_t mem = 0;
	if (req->has_mem) {
		struct size_arg a;
		size_parse(req->mem, &a);   /* validated by control_parse */
		uint64_t ref = a.is_percent ? cgroup_memory_reference(l->o.base) : 0;
		mem = size_resolve(&a, ref);
	}
	if (req->has_cpus) {
		k.cpu_period_us = 100000;
		k.cpu_quota_us = (uint64_t)llround(req->cpus * 100000.0);
	}
	/* Controllers asked for only by `set` were not enabled when the leaf was made. */
	if (k.cpu_quota_us)
		cgroup_enable_later(l->o.cg, CGROUP_CPU);
	int r = cgroup_apply_limits(l->o.cg, &k, &missing);
	/* memory.max, memory.high, the pause and kill points move together. */
	if (r >= 0 && req->has_mem)
		r = budget_set_mem(l->o.budget, mem, l->o.cg, &missing);
	if (r < 0) {
		snprintf(reply, size, "error: writing the kernel limits failed: %s", strerror(-r));
		return false;
	}
	if (req->has_mem) {
		l->o.info->budget_bytes = mem;
		o += snprintf(reply + o, size - o, " memory budget %s (%s)", format_bytes(mem, b, sizeof(b)),
			      missing & CGROUP_MEMORY ? "no memory controller here: supervise's budget only (advice, governor)"
			      : l->o.budget->high ? "memory.max and memory.high written"
						  : "memory.max written");
	}
	if (req->has_cpus && o < size) {
		l->budget.cpus = req->cpus;
		l->o.limits->cpu_quota_us = k.cpu_quota_us;
		l->o.limits->cpu_period_us = k.cpu_period_us;
		o += snprintf(reply + o, size - o, " cpus %g (%s)", req->cpus,
			      missing & CGROUP_CPU ? "no cpu controller: the advice only" : "cpu.max written");
	}
	if (req->has_jobs && o < size) {
		/* auto as at launch, from the CPUs the run has now (after cpus= above). */
		unsigned cpus = budget_cpus_of(l->o.cpus, l->budget.cpus, 0);
		l->budget.jobs_min = req->jobs_min;
		l->budget.jobs_max = req->jobs_max;
		if (req->jobs_auto)
			control_jobs_auto(cpus, &l->budget.jobs_min, &l->budget.jobs_max);
		o += snprintf(reply + o, size - o, " jobs %s%u-%u", req->jobs_auto ? "auto: " : "", l->budget.jobs_min,
			      l->budget.jobs_max);
		if (req->jobs_auto && o < size)
			o += snprintf(reply + o, size - o, " (%u x %u CPUs)", JOBS_AUTO_PER_CPU, cpus);
		if (!jobserver && o < size)
			o += snprintf(reply + o, size - o, "; this run has no jobserver (it started without --jobs), so "
				      "no job count changed: only the advice page's jobs follow the range");
	}
	log_info("set: %s", reply + 4);
	rundir_update(l->o.run_dir, l->o.info);
	if (l->hook)
		l->hook(&l->budget, req->has_mem ? l->o.budget : NULL, l->hook_data);
	/* The page with the new budget now; the loop takes a fresh reading next. */
	publish(l, &l->last);
	if (l->page && o < size)
		snprintf(reply + o, size - o, "; advice generation %" PRIu64 ": %u threads, %u jobs",
			 advice_page_last(l->page)->generation, advice_page_last(l->page)->threads,
			 advice_page_last(l->page)->jobs);
	return true;
}

bool live_dispatch(struct live *l, const struct pollfd *p, size_t n)
{
	bool changed = false;
	if (!l)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!(p[i].revents & POLLIN) || p[i].fd != l->control_fd)
			continue;
		struct control_request req;
		_cleanup_close_ int conn = control_accept(l->control_fd, &req);
		if (conn >= 0) {
			char reply[1024];
			changed |= apply(l, &req, reply, sizeof(reply));
			control_reply(conn, reply);
		}
	}
	return changed;
}

bool live_hold_tokens(const struct live *l)
{
	return l && l->guard && mapguard_hold(l->guard);
}

void live_set_budget_hook(struct live *l, live_budget_hook fn, void *userdata)
{
	l->hook = fn;
	l->hook_data = userdata;
}

void live_close(struct live *l)
{
	if (!l)
		return;
	advice_page_close(l->page);
	mapguard_free(l->guard);
	advice_env_free(l->env);
	closep(&l->control_fd);
	free(l);
}
