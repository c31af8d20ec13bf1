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

	if (m->exit_cb)
		m->exit_cb(m->exit_userdata, p);
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

	if (!o->cgroup_path || stat(o->cgroup_path, &st) < 0)
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

	switch (o->backend) {
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
	m->rss_alert = rss_bytes;
	m->map_alert = map_count;
	return m->ops->set_alerts(m, rss_bytes, map_count);
}

int monitor_set_rss_alert(struct monitor *m, uint64_t rss_bytes)
{
	return monitor_set_alerts(m, rss_bytes, m->map_alert);
}

int monitor_set_map_alert(struct monitor *m, uint32_t map_count)
{
	return monitor_set_alerts(m, m->rss_alert, map_count);
}

void monitor_on_exit(struct monitor *m, void (*cb)(void *userdata, const struct proc_reading *p),
		     void *userdata)
{
	m->exit_cb = cb;
	m->exit_userdata = userdata;
}

uint64_t monitor_last_alert_ns(const struct monitor *m)
{
	return m->last_alert_ns;
}

uint64_t monitor_last_alert_rss(const struct monitor *m)
{
	return m->last_alert_rss;
}

unsigned monitor_take_map_alerts(struct monitor *m)
{
	unsigned n = m->map_alerts;

	m->map_alerts = 0;
	return n;
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
	r = monitor_dispatch(m);
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
	free(m->out);
	free(m);
}
