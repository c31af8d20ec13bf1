/* monitor: the front door — pick a backend (bpf, else procfs with one warning
 * saying why), and build the per-process table both backends hand out. */
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"
#include "monitor-internal.h"

int monitor_out_add(struct monitor *m, const struct proc_reading *p)
{
	if (m->nr_out == m->out_cap) {
		size_t cap = m->out_cap ? m->out_cap * 2 : 64;
		struct proc_reading *n = realloc(m->out, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		m->out = n;
		m->out_cap = cap;
	}
	m->out[m->nr_out++] = *p;
	return 0;
}

void monitor_note_exit(struct monitor *m, const struct proc_reading *p)
{
	size_t i;

	/* For the next turn's consumers (footprints learn from exit peaks). */
	if (m->nr_turn_exits == m->turn_exits_cap) {
		size_t cap = m->turn_exits_cap ? m->turn_exits_cap * 2 : 64;
		struct proc_reading *n = realloc(m->turn_exits, cap * sizeof(*n));

		if (n) {
			m->turn_exits = n;
			m->turn_exits_cap = cap;
		}
	}
	if (m->nr_turn_exits < m->turn_exits_cap)
		m->turn_exits[m->nr_turn_exits++] = *p;
	/* Sorted heaviest first; a full table drops its lightest. */
	if (m->nr_exited == MONITOR_MAX_EXITED) {
		if (p->peak_rss_bytes <= m->exited[m->nr_exited - 1].peak_rss_bytes)
			return;
		m->nr_exited--;
	}
	for (i = m->nr_exited; i > 0 && m->exited[i - 1].peak_rss_bytes < p->peak_rss_bytes; i--)
		m->exited[i] = m->exited[i - 1];
	m->exited[i] = *p;
	m->exited[i].exited = true;
	m->nr_exited++;
}

int monitor_open_with(const struct monitor_options *o, struct monitor **ret)
{
	_cleanup_free_ struct monitor *m = NULL;
	struct stat st;
	const char *why;
	int r;

	/* "": no leaf; procfs watches our process tree instead (proctree.h). */
	bool tree = o->cgroup_path && !o->cgroup_path[0];
	if (tree && o->backend == MONITOR_BPF)
		return log_errno(-EOPNOTSUPP, "monitor: the bpf backend tracks a cgroup leaf and there is none");
	if (tree)
		st.st_ino = 0;
	else if (!o->cgroup_path || stat(o->cgroup_path, &st) < 0)
		return log_errno(o->cgroup_path ? -errno : -EINVAL, "monitor: cannot watch cgroup %s: %m",
				 o->cgroup_path ? o->cgroup_path : "(none)");
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->opts = *o;
	snprintf(m->cgroup_path, sizeof(m->cgroup_path), "%s", o->cgroup_path);
	m->opts.cgroup_path = m->cgroup_path;
	/* The v2 cgroup id BPF sees (cgroup->kn->id) is the directory's inode. */
	m->cgroup_id = st.st_ino;

	switch (tree ? MONITOR_PROCFS : o->backend) {
	case MONITOR_BPF:
		r = monitor_bpf_open(m);
		break;
	case MONITOR_PROCFS:
		r = monitor_procfs_open(m);
		break;
	case MONITOR_AUTO:
	default:
		why = monitor_bpf_unavailable();
		r = why ? -EOPNOTSUPP : monitor_bpf_open(m);
		if (r < 0) {
			log_warn("monitor: using the procfs backend: %s",
				 why ? why : "the BPF probes did not load (see above)");
			r = monitor_procfs_open(m);
		}
		break;
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}

int monitor_open(enum monitor_backend backend, const char *cgroup_path, struct monitor **ret)
{
	struct monitor_options o = { .backend = backend, .cgroup_path = cgroup_path };

	return monitor_open_with(&o, ret);
}

const char *monitor_backend_name(const struct monitor *m)
{
	return m->ops->name;
}

int monitor_fd(struct monitor *m)
{
	return m->ops->fd(m);
}

int monitor_dispatch(struct monitor *m)
{
	return m->ops->dispatch(m);
}

int monitor_set_alerts(struct monitor *m, uint64_t rss_bytes, uint32_t map_count)
{
	return m->ops->set_alerts(m, rss_bytes, map_count);
}

void monitor_set_urgent(struct monitor *m, uint64_t rss_bytes)
{
	m->urgent_rss = rss_bytes;
}

unsigned monitor_next_ms(const struct monitor *m)
{
	return m->ops->next_ms ? m->ops->next_ms(m) : 0;
}

void monitor_wake_on_exec(struct monitor *m, bool on)
{
	m->wake_on_exec = on;
}

bool monitor_crossed(const struct monitor *m)
{
	return m->last_alert_ns || m->map_alerts || (m->wake_on_exec && m->execs);
}

int monitor_turn(struct monitor *m, struct reading *ret)
{
	/* A crossing is acted on first; the sweep (milliseconds on a busy host)
	 * waits for the next turn. Not an exec wake: a build execs all the
	 * time, and skipping the sweep on it left the figures stale for as
	 * long as jobs were paused (test_jobserver's lto1 jobs then grew
	 * unseen to the budget). */
	int r = m->ops->refresh(m, m->last_alert_ns || m->map_alerts);
	if (r < 0)
		return r;
	r = monitor_read(m, ret);
	if (r < 0)
		return r;
	if (m->ops->observe)
		m->ops->observe(m, ret);
	/* Hand out what happened since the last turn, and start afresh: the
	 * exits move to a buffer that lives until the next turn. */
	ret->alert_ns = m->last_alert_ns;
	ret->alert_rss_bytes = m->last_alert_rss;
	ret->map_alerts = m->map_alerts;
	m->last_alert_ns = m->last_alert_rss = 0;
	m->map_alerts = 0;
	m->execs = 0;
	struct proc_reading *t = m->handed;
	size_t cap = m->handed_cap;
	m->handed = m->turn_exits;
	m->handed_cap = m->turn_exits_cap;
	ret->exits = m->handed;
	ret->nr_exits = m->nr_turn_exits;
	m->turn_exits = t;
	m->turn_exits_cap = cap;
	m->nr_turn_exits = 0;
	return 0;
}

int monitor_read(struct monitor *m, struct reading *ret)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	m->nr_out = 0;
	r = m->ops->read(m, ret);
	if (r < 0)
		return r;
	ret->procs = m->out;
	ret->nr_proc_readings = m->nr_out;
	return 0;
}

int monitor_read_final(struct monitor *m, struct reading *ret)
{
	int r;

	/* Take in the last exit records before reading. */
	r = m->ops->refresh(m, false);
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	m->nr_out = 0;
	r = m->ops->read(m, ret);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->nr_exited; i++) {
		r = monitor_out_add(m, &m->exited[i]);
		if (r < 0)
			return r;
	}
	ret->procs = m->out;
	ret->nr_proc_readings = m->nr_out;
	return 0;
}

void monitor_close(struct monitor *m)
{
	if (!m)
		return;
	m->ops->close(m);
	free(m->turn_exits);
	free(m->handed);
	free(m->out);
	free(m);
}
