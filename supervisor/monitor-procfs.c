/* monitor: the procfs backend — sample /proc/PID/status and the line count of
 * /proc/PID/maps for every process in the leaf's cgroup.procs and below, on a
 * timerfd. The fallback when BPF cannot load, and the baseline the bpf backend
 * is measured against. Costs about 8 µs a process plus ~13 ms per 60,000
 * mappings read, every period. */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "cgroup.h"
#include "log.h"
#include "proc.h"
#include "proctree.h"
#include "util.h"
#include "monitor-internal.h"

#define DEFAULT_PERIOD_MS 100

struct pentry {
	struct proc_reading p;
	uint64_t start;             /* /proc/PID/stat starttime: pid reuse */
	uint64_t seen;              /* sample generation that last saw it */
};

struct procfs_monitor {
	int timer_fd;
	struct pentry *t;           /* sorted by pid */
	size_t n, cap;
	uint64_t gen;
	uint64_t sampled_ns;        /* CLOCK_MONOTONIC of the last sample */
	uint64_t rss_bytes, peak_rss_bytes;
	uint32_t procs_started, peak_concurrent, nr_live;
	uint32_t peak_map_count, peak_map_pid;
	char peak_map_comm[MONITOR_COMM_LEN];
	uint64_t alert_rss;
	uint32_t alert_maps;
	int nr_alerts;
	char *buf;                  /* for /proc/PID/maps */
	size_t buf_size;
};

static inline struct procfs_monitor *P(struct monitor *m)
{
	return m->backend;
}

static int cmp_pentry(const void *a, const void *b)
{
	const struct pentry *x = a, *y = b;

	return x->p.pid < y->p.pid ? -1 : x->p.pid > y->p.pid;
}

static struct pentry *find(struct procfs_monitor *s, uint32_t pid)
{
	struct pentry key = { .p.pid = pid };

	return s->n ? bsearch(&key, s->t, s->n, sizeof(*s->t), cmp_pentry) : NULL;
}

/* The key only at the start of a line (proc.h): a comm of "VmRSS: 999" in
 * the Name line cannot pose as the figure. */
static uint64_t status_bytes(const char *text, const char *key)
{
	uint64_t v;
	return proc_status_value(text, key, &v) == 0 ? v : 0;
}

/* map_count: the lines of /proc/PID/maps, less the gate VMA the kernel
 * appends there but does not count in mm->map_count (x86_64's [vsyscall]),
 * so that both backends report the figure vm.max_map_count limits. */
static int count_maps(struct procfs_monitor *s, uint32_t pid, uint32_t *ret)
{
	_cleanup_close_ int fd = -1;
	char path[64];
	uint32_t lines = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	bool gate = false;

	while ((n = read(fd, s->buf, s->buf_size)) > 0) {
		for (const char *p = s->buf; (p = memchr(p, '\n', s->buf + n - p)); p++)
			lines++;
		/* The gate VMA is the last line, and a read never splits a line. */
		gate = n >= 11 && memcmp(s->buf + n - 11, "[vsyscall]\n", 11) == 0;
	}
	if (n < 0)
		return -errno;
	if (gate && lines)
		lines--;
	*ret = lines;
	return 0;
}

/* /proc/PID/stat starttime, 0 when the process is gone. */
static uint64_t stat_start(uint32_t pid)
{
	uint64_t t;
	return pid_starttime((pid_t)pid, &t) < 0 ? 0 : t;
}

/* One process's figures now; -ENOENT when it has gone (or is a zombie). */
static int sample_pid(struct procfs_monitor *s, uint32_t pid, struct pentry *ret)
{
	char path[64], text[4096];
	int r;

	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	r = read_file_at(AT_FDCWD, path, text, sizeof(text));
	if (r < 0)
		return r;
	/* A zombie has no mm: no VmRSS line. */
	uint64_t rss;
	if (proc_status_value(text, "VmRSS", &rss) < 0)
		return -ENOENT;
	memset(ret, 0, sizeof(*ret));
	ret->p.pid = pid;
	proc_status_name(text, ret->p.comm, sizeof(ret->p.comm));
	ret->p.ppid = (uint32_t)status_bytes(text, "PPid");
	ret->p.rss_anon_bytes = status_bytes(text, "RssAnon");
	ret->p.rss_file_bytes = status_bytes(text, "RssFile");
	ret->p.rss_shmem_bytes = status_bytes(text, "RssShmem");
	ret->p.swap_bytes = status_bytes(text, "VmSwap");
	ret->p.rss_bytes = rss;
	/* The kernel's own high-water mark catches peaks between samples. */
	ret->p.peak_rss_bytes = status_bytes(text, "VmHWM");
	r = count_maps(s, pid, &ret->p.map_count);
	if (r < 0)
		return r;
	ret->start = stat_start(pid);
	return 0;
}

static int upsert(struct monitor *m, const struct pentry *now)
{
	struct procfs_monitor *s = P(m);
	struct pentry *e = find(s, now->p.pid);

	if (e && e->start != now->start) {
		/* The pid was reused: the old process has exited. */
		monitor_note_exit(m, &e->p);
		*e = (struct pentry){ .p.pid = now->p.pid };
		s->procs_started++;
		e->p = now->p;
	} else if (e) {
		uint32_t peak_maps = e->p.peak_map_count;
		uint64_t peak_rss = e->p.peak_rss_bytes;

		e->p = now->p;
		e->p.peak_map_count = peak_maps;
		if (peak_rss > e->p.peak_rss_bytes)
			e->p.peak_rss_bytes = peak_rss;
	} else {
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct pentry *t = realloc(s->t, cap * sizeof(*t));

			if (!t)
				return -ENOMEM;
			s->t = t;
			s->cap = cap;
		}
		s->t[s->n++] = *now;
		qsort(s->t, s->n, sizeof(*s->t), cmp_pentry);
		s->procs_started++;
		e = find(s, now->p.pid);
	}
	e->start = now->start;
	e->seen = s->gen;
	if (e->p.map_count > e->p.peak_map_count)
		e->p.peak_map_count = e->p.map_count;
	if (e->p.rss_bytes > e->p.peak_rss_bytes)
		e->p.peak_rss_bytes = e->p.rss_bytes;
	if (e->p.map_count > s->peak_map_count) {
		s->peak_map_count = e->p.map_count;
		s->peak_map_pid = e->p.pid;
		memcpy(s->peak_map_comm, e->p.comm, sizeof(s->peak_map_comm));
	}
	if (s->alert_maps && e->p.map_count >= s->alert_maps) {
		s->nr_alerts++;
		m->map_alerts++;
	}
	s->rss_bytes += e->p.rss_bytes;
	s->nr_live++;
	return 0;
}

static int sample_one(pid_t pid, void *userdata)
{
	struct monitor *m = userdata;
	struct pentry now;

	if (sample_pid(P(m), (uint32_t)pid, &now) < 0)
		return 0;   /* gone or a zombie since the list was read */
	return upsert(m, &now);
}

/* Sample every process now; processes not seen any more have exited. */
static int sample(struct monitor *m)
{
	struct procfs_monitor *s = P(m);
	size_t i, j;
	int r;

	s->gen++;
	s->sampled_ns = now_ns();
	s->rss_bytes = 0;
	s->nr_live = 0;
	/* No leaf (no writable cgroup): the workload is our process tree. */
	r = m->cgroup_path[0] ? cgroup_walk_procs(m->cgroup_path, sample_one, m) : proctree_walk(getpid(), sample_one, m);
	if (r < 0)
		return log_errno(r, "monitor: sampling %s failed: %m", m->cgroup_path);
	for (i = j = 0; i < s->n; i++) {
		if (s->t[i].seen != s->gen) {
			monitor_note_exit(m, &s->t[i].p);
			continue;
		}
		s->t[j++] = s->t[i];
	}
	s->n = j;
	if (s->rss_bytes > s->peak_rss_bytes)
		s->peak_rss_bytes = s->rss_bytes;
	if (s->nr_live > s->peak_concurrent)
		s->peak_concurrent = s->nr_live;
	if (s->alert_rss && s->rss_bytes >= s->alert_rss) {
		s->alert_rss = 0;
		s->nr_alerts++;
		m->last_alert_ns = now_ns();
		m->last_alert_rss = s->rss_bytes;
	}
	return 0;
}

static int procfs_fd(struct monitor *m)
{
	return P(m)->timer_fd;
}

static int procfs_dispatch(struct monitor *m)
{
	struct procfs_monitor *s = P(m);
	uint64_t ticks;
	int r;

	/* Non-blocking: nothing due is not an error. */
	if (read(s->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return log_errno(-errno, "monitor: reading the sampling timer failed: %m");
	s->nr_alerts = 0;
	r = sample(m);
	if (r < 0)
		return r;
	return s->nr_alerts;
}

/* A sample for the turn. */
static int procfs_refresh(struct monitor *m, bool urgent)
{
	return sample(m);
}

/* The last sample's figures: no side effects. */
static int procfs_read(struct monitor *m, struct reading *ret)
{
	struct procfs_monitor *s = P(m);
	int r;

	ret->ts_ns = s->sampled_ns;
	ret->rss_bytes = s->rss_bytes;
	ret->peak_rss_bytes = s->peak_rss_bytes;
	ret->nr_procs = s->nr_live;
	ret->procs_started = s->procs_started;
	ret->peak_concurrent = s->peak_concurrent;
	ret->peak_map_count = s->peak_map_count;
	ret->peak_map_pid = s->peak_map_pid;
	memcpy(ret->peak_map_comm, s->peak_map_comm, sizeof(ret->peak_map_comm));
	for (size_t i = 0; i < s->n; i++) {
		if (s->t[i].p.map_count > ret->map_count_max)
			ret->map_count_max = s->t[i].p.map_count;
		r = monitor_out_add(m, &s->t[i].p);
		if (r < 0)
			return r;
	}
	return 0;
}

static int procfs_set_alerts(struct monitor *m, uint64_t rss_bytes, uint32_t map_count)
{
	P(m)->alert_rss = rss_bytes;
	P(m)->alert_maps = map_count;
	return 0;
}

static void procfs_close(struct monitor *m)
{
	struct procfs_monitor *s = P(m);

	if (!s)
		return;
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	free(s->t);
	free(s->buf);
	free(s);
	m->backend = NULL;
}

static const struct monitor_ops procfs_ops = {
	.name = "procfs",
	.fd = procfs_fd,
	.dispatch = procfs_dispatch,
	.refresh = procfs_refresh,
	.read = procfs_read,
	.set_alerts = procfs_set_alerts,
	.close = procfs_close,
};

int monitor_procfs_open(struct monitor *m)
{
	unsigned period = m->opts.period_ms ? m->opts.period_ms : DEFAULT_PERIOD_MS;
	struct itimerspec its = {
		.it_interval = { period / 1000, (period % 1000) * 1000000L },
		.it_value = { period / 1000, (period % 1000) * 1000000L },
	};
	struct procfs_monitor *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	m->backend = s;
	m->ops = &procfs_ops;
	s->buf_size = 256 * 1024;
	s->buf = malloc(s->buf_size);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!s->buf || s->timer_fd < 0) {
		r = s->buf ? log_errno(-errno, "monitor: creating the sampling timer failed: %m") : -ENOMEM;
		goto fail;
	}
	if (timerfd_settime(s->timer_fd, 0, &its, NULL) < 0) {
		r = log_errno(-errno, "monitor: arming the sampling timer failed: %m");
		goto fail;
	}
	r = sample(m);
	if (r < 0)
		goto fail;
	return 0;
fail:
	procfs_close(m);
	m->ops = NULL;
	return r;
}
