/* monitor: the bpf backend — register the workload's cgroup with the shared
 * probe set, read its figures from the pinned maps, take exit records from its
 * own ring buffer. */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "util.h"
#include "monitor-internal.h"
#include "probes.h"

/* Adaptive probing (docs/probes.md, "Adaptive probing"). Far from every
 * threshold the figures come from the iter/task sweep alone; the sweep runs
 * again before usage growing at the assumed rate could reach the nearest
 * threshold (half that time: the loop's turn and a sweep take time too).
 * When that time falls under ARM_MS the per-event programs are attached, and
 * crossings are seen as they happen; they are detached again once it is over
 * DISARM_MS (hysteresis: no attach/detach flapping at the edge). The assumed
 * rate is the fastest growth seen lately, never less than 2 GiB/s of RSS per
 * online CPU (a memset of fresh pages runs at ~1-2 GiB/s on one CPU of this
 * machine, and every CPU can fault at once: two 600 MiB jobs starting
 * together on an idle 2-CPU host crossed a 1 GiB/s horizon between two
 * sweeps and were paused only once they held all of it) or 20,000
 * mappings/s: the map_count warning (80 % of vm.max_map_count) leads the
 * limit by a fifth of it, it needs no millisecond reaction, and a floor of
 * 100,000/s had every run sweep 3-4 times a second at 1,000 mappings
 * (bench/steady.py: 0.68 % of a core instead of 0.24 %); a faster grower is
 * caught by its observed rate at the next sweep. */
#define FAST_RSS_PER_CPU (2ull << 30)
#define FAST_MAPS_PER_S  20000ull
#define SWEEP_MIN_MS     50
#define SWEEP_MAX_MS     1000   /* as before adaptive probing: a peak held 1 s is seen */
#define ARMED_SWEEP_MS   1000   /* armed: the sweep only re-syncs */
#define ARM_MS           200
#define DISARM_MS        1000
#define STALE_CHECK_MS   10000  /* how often an unarmed run looks for a killed run's arm */
/* A run's first fresh readings come at the fastest pace: a workload grows
 * most as it starts (exec, libraries, a build's first jobs), and until two
 * sweeps apart nothing is known of its rate. maps-test 50000 reaches its
 * peak in ~0.1 s and holds it 0.3 s: seen growing, it is armed in time. */
#define YOUNG_SWEEPS     10

struct bpf_monitor {
	struct probes probes;       /* probes.thresholds_fd: only user space writes it */
	uint64_t alert_seq;         /* arming count of the RSS alert */
	int rb_fd;
	struct ring_buffer *rb;
	uint64_t last_sweep_ns;
	int nr_events;

	/* Adaptive probing. */
	uint64_t rss_alert, map_alert;     /* what set_alerts armed (0: off) */
	bool swept;                        /* this turn's reading follows a sweep */
	bool always_armed;                 /* sweep_ms < 0: tracepoints only */
	bool want_armed;                   /* our wish, as written in "thresholds" */
	bool settled;                      /* the links match the wish (probes_arm succeeded) */
	uint64_t last_ns, last_rss;        /* the last fresh reading */
	uint32_t last_maps;
	double rss_rate, maps_rate;        /* fastest growth seen lately, per second */
	unsigned sweep_every_ms;           /* the cadence now */
	uint64_t stale_check_ns;
	unsigned nr_fresh;                 /* fresh readings so far (YOUNG_SWEEPS) */
};

const char *monitor_bpf_unavailable(void)
{
	static const char *cached;
	static bool probed;
	char buf[4096];
	const char *p;
	uint64_t caps = 0;
	uint32_t id = 0;

	if (probed)
		return cached;
	probed = true;
	if (read_file_at(AT_FDCWD, "/proc/self/status", buf, sizeof(buf)) > 0 &&
	    (p = strstr(buf, "CapEff:")))
		caps = strtoull(p + 7, NULL, 16);
	/* Loading tracing programs needs CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN. */
	if (!(caps & (1ULL << 21)) && !((caps & (1ULL << 39)) && (caps & (1ULL << 38))))
		return cached = "not root (loading the BPF probes needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)";
	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
		return cached = "the kernel has no BTF (/sys/kernel/btf/vmlinux is missing)";
	if (bpf_prog_get_next_id(0, &id) == -ENOSYS)
		return cached = "BPF is disabled in this kernel (bpf(2) returns ENOSYS)";
	return cached = NULL;
}

static inline struct bpf_monitor *B(struct monitor *m)
{
	return m->backend;
}

/* A process's RSS from its member figures: rss_bytes is what it has put in
 * the workload's sum, which moves in quanta (bpf/track.bpf.c, RSS_QUANTUM). */
static uint64_t rss_of_members(const track_s64 *m)
{
	uint64_t s = 0;
	for (int i = 0; i < TRACK_NR_MEMBERS; i++)
		if (i != TRACK_SWAP && m[i] > 0)
			s += m[i];
	return s;
}

static void proc_from_event(const struct track_event *e, struct proc_reading *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->pid = e->pid;
	ret->ppid = e->ppid;
	memcpy(ret->comm, e->comm, sizeof(ret->comm));
	ret->comm[sizeof(ret->comm) - 1] = '\0';
	ret->rss_bytes = rss_of_members(e->member_bytes);
	ret->rss_file_bytes = e->member_bytes[TRACK_FILE] > 0 ? e->member_bytes[TRACK_FILE] : 0;
	ret->rss_anon_bytes = e->member_bytes[TRACK_ANON] > 0 ? e->member_bytes[TRACK_ANON] : 0;
	ret->rss_shmem_bytes = e->member_bytes[TRACK_SHMEM] > 0 ? e->member_bytes[TRACK_SHMEM] : 0;
	ret->swap_bytes = e->member_bytes[TRACK_SWAP] > 0 ? e->member_bytes[TRACK_SWAP] : 0;
	ret->peak_rss_bytes = e->peak_rss_bytes;
	ret->map_count = e->map_count;
	ret->peak_map_count = e->peak_map_count;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct monitor *m = ctx;
	const struct track_event *e = data;
	struct proc_reading p;

	if (size < sizeof(*e) || e->version != TRACK_VERSION || e->workload != m->cgroup_id)
		return 0;
	B(m)->nr_events++;
	/* A process that exits without exec'ing after it was cloned in from
	 * outside (supervise's own child when the exec failed) held a copy of
	 * supervise's figures, not the workload's. */
	if (e->type == TRACK_EV_EXIT && !(e->flags & TRACK_PROC_FORKED_IN)) {
		proc_from_event(e, &p);
		monitor_note_exit(m, &p);
	} else if (e->type == TRACK_EV_RSS_ALERT) {
		m->last_alert_ns = e->ts_ns;
		m->last_alert_rss = e->workload_rss_bytes;
	}
	if (e->type == TRACK_EV_MAP_ALERT)
		m->map_alerts++;
	if (e->type == TRACK_EV_EXEC)
		m->execs++;
	return 0;
}

static int bpf_fd(struct monitor *m)
{
	return ring_buffer__epoll_fd(B(m)->rb);
}

static int bpf_dispatch(struct monitor *m)
{
	int r;

	B(m)->nr_events = 0;
	r = ring_buffer__consume(B(m)->rb);
	if (r < 0)
		return log_errno(r, "monitor: reading the event ring buffer failed: %m");
	return B(m)->nr_events;
}

static void proc_from_map(const struct track_proc *t, struct proc_reading *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->pid = t->pid;
	ret->ppid = t->ppid;
	memcpy(ret->comm, t->comm, sizeof(ret->comm));
	ret->comm[sizeof(ret->comm) - 1] = '\0';
	ret->rss_bytes = rss_of_members(t->member_bytes);
	ret->rss_file_bytes = t->member_bytes[TRACK_FILE] > 0 ? t->member_bytes[TRACK_FILE] : 0;
	ret->rss_anon_bytes = t->member_bytes[TRACK_ANON] > 0 ? t->member_bytes[TRACK_ANON] : 0;
	ret->rss_shmem_bytes = t->member_bytes[TRACK_SHMEM] > 0 ? t->member_bytes[TRACK_SHMEM] : 0;
	ret->swap_bytes = t->member_bytes[TRACK_SWAP] > 0 ? t->member_bytes[TRACK_SWAP] : 0;
	ret->peak_rss_bytes = t->peak_rss_bytes;
	ret->map_count = t->map_count;
	ret->peak_map_count = t->peak_map_count;
}

struct collect {
	uint64_t cgroup_id;
	struct reading *r;
	int (*add)(void *userdata, const struct proc_reading *p);
	void *userdata;
};

static int collect_one(uint64_t key, const struct track_proc *t, void *userdata)
{
	struct collect *c = userdata;
	struct proc_reading p;

	if (t->workload != c->cgroup_id)
		return 0;
	proc_from_map(t, &p);
	c->r->nr_procs++;
	/* A copy of an outsider's mm (see TRACK_PROC_FORKED_IN) is listed with
	 * its own figures but is not the workload's largest. */
	if (!(t->flags & TRACK_PROC_FORKED_IN) && p.map_count > c->r->map_count_max)
		c->r->map_count_max = p.map_count;
	return c->add(c->userdata, &p);
}

/* Totals from the workload's entry, live processes from "procs". */
static int collect(const struct probes *pr, uint64_t cgroup_id, struct reading *ret,
		   int (*add)(void *userdata, const struct proc_reading *p), void *userdata)
{
	struct collect c = { .cgroup_id = cgroup_id, .r = ret, .add = add, .userdata = userdata };
	struct track_workload w;
	int r;

	r = bpf_map_lookup_elem(pr->workloads_fd, &cgroup_id, &w);
	if (r < 0)
		return r;
	ret->ts_ns = now_ns();
	ret->rss_bytes = w.rss_bytes > 0 ? (uint64_t)w.rss_bytes : 0;
	ret->peak_rss_bytes = w.peak_rss_bytes;
	ret->procs_started = w.procs_started;
	ret->peak_concurrent = w.peak_concurrent;
	ret->peak_map_count = w.peak_map_count;
	ret->peak_map_pid = w.peak_map_pid;
	memcpy(ret->peak_map_comm, w.peak_map_comm, sizeof(ret->peak_map_comm));
	ret->peak_map_comm[sizeof(ret->peak_map_comm) - 1] = '\0';
	ret->sum_max_correction_bytes = w.sum_max_correction;
	return probes_for_each_proc(pr->procs_fd, collect_one, &c);
}

static int add_to_monitor(void *userdata, const struct proc_reading *p)
{
	return monitor_out_add(userdata, p);
}

/* The ring buffer drained, and the sweep when due (exact RSS, processes
 * moved in from outside, the workload's sum recomputed). */
static int bpf_refresh(struct monitor *m, bool urgent)
{
	struct bpf_monitor *b = B(m);
	uint64_t now = now_ns();
	int r;

	b->swept = false;
	if (!urgent && !b->always_armed && now - b->last_sweep_ns >= (uint64_t)b->sweep_every_ms * 1000000) {
		r = probes_sweep(&b->probes, NULL);
		if (r < 0)
			return r;
		b->last_sweep_ns = now;
		b->swept = true;
	}
	r = bpf_dispatch(m);
	return r < 0 ? r : 0;
}

static int bpf_read(struct monitor *m, struct reading *ret)
{
	struct bpf_monitor *b = B(m);
	int r = collect(&b->probes, m->cgroup_id, ret, add_to_monitor, m);
	if (r < 0)
		return log_errno(r, "monitor: reading the pinned maps failed: %m");
	return 0;
}

/* The thresholds have a map of their own that BPF only reads: writing the
 * whole value races with nothing (the workload's counters, which BPF adds to
 * atomically, are never rewritten from here). Each call arms the RSS alert
 * afresh: it fires once per call. */
static int bpf_set_alerts(struct monitor *m, uint64_t rss_bytes, uint32_t map_count)
{
	struct bpf_monitor *b = B(m);
	struct track_thresholds t = { .version = TRACK_VERSION, .map_alert = map_count,
				      .rss_alert_bytes = rss_bytes, .rss_alert_seq = ++b->alert_seq,
				      .armed = b->want_armed };
	int r = bpf_map_update_elem(b->probes.thresholds_fd, &m->cgroup_id, &t, BPF_ANY);
	if (r < 0)
		return log_errno(r, "monitor: setting alerts failed: %m");
	b->rss_alert = rss_bytes;
	b->map_alert = map_count;
	/* A threshold moved: the next turn paces by it, not in two seconds. */
	b->sweep_every_ms = SWEEP_MIN_MS;
	return 0;
}

/* How soon (ms) usage at the assumed rate could reach threshold from now_v. */
/* The floor of the assumed RSS growth: every online CPU faulting at once. */
static double fast_rss_per_s(void)
{
	static double rate;
	if (!rate) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		rate = (double)FAST_RSS_PER_CPU * (n > 0 ? (double)n : 1.0);
	}
	return rate;
}

static double ms_to(uint64_t threshold, uint64_t now_v, double rate, double floor_rate)
{
	if (!threshold)
		return 1e12;
	if (now_v >= threshold)
		return 0;
	return (double)(threshold - now_v) * 1000.0 / (rate > floor_rate ? rate : floor_rate);
}

static void set_wish(struct monitor *m, bool want, bool blocking)
{
	struct bpf_monitor *b = B(m);
	int r;

	if (want == b->want_armed && b->settled)
		return;
	b->want_armed = want;
	r = probes_arm(&b->probes, m->cgroup_id, want, blocking);
	/* -EAGAIN: another supervise holds the set's lock; again next turn. */
	b->settled = r == 0;
	if (r == 0)
		log_debug("monitor: per-event probes %s for this workload", want ? "wanted" : "not wanted");
}

/* Pace the sweeps and arm or disarm from the turn's reading. */
static void bpf_observe(struct monitor *m, const struct reading *rd)
{
	struct bpf_monitor *b = B(m);
	uint64_t now = rd->ts_ns;
	bool fresh = b->swept || (b->want_armed && b->settled);
	double ms;

	if (b->always_armed) {
		if (!b->settled)
			set_wish(m, true, false);
		return;
	}
	/* Growth only counts between fresh figures: between two sweeps an
	 * unarmed reading holds still. The fastest growth halves at each
	 * fresh reading that does not renew it. */
	if (fresh && b->last_ns && now > b->last_ns) {
		double dt = (now - b->last_ns) / 1e9;
		double rr = rd->rss_bytes > b->last_rss ? (rd->rss_bytes - b->last_rss) / dt : 0;
		double mr = rd->map_count_max > b->last_maps ? (rd->map_count_max - b->last_maps) / dt : 0;

		b->rss_rate = rr > b->rss_rate / 2 ? rr : b->rss_rate / 2;
		b->maps_rate = mr > b->maps_rate / 2 ? mr : b->maps_rate / 2;
	}
	if (fresh) {
		b->nr_fresh++;
		b->last_ns = now;
		b->last_rss = rd->rss_bytes;
		b->last_maps = rd->map_count_max;
	}
	ms = ms_to(m->urgent_rss ? m->urgent_rss : b->rss_alert, rd->rss_bytes, b->rss_rate, fast_rss_per_s());
	double mms = ms_to(b->map_alert, rd->map_count_max, b->maps_rate, FAST_MAPS_PER_S);
	if (mms < ms)
		ms = mms;
	set_wish(m, ms < ARM_MS || (b->want_armed && ms < DISARM_MS), false);
	if (b->want_armed && b->settled)
		b->sweep_every_ms = ARMED_SWEEP_MS;
	else
		b->sweep_every_ms = ms / 2 < SWEEP_MIN_MS ? SWEEP_MIN_MS : ms / 2 > SWEEP_MAX_MS ? SWEEP_MAX_MS : (unsigned)(ms / 2);
	if (b->nr_fresh < YOUNG_SWEEPS && !(b->want_armed && b->settled))
		b->sweep_every_ms = SWEEP_MIN_MS;
	if (m->opts.sweep_ms > 0 && (unsigned)m->opts.sweep_ms < b->sweep_every_ms)
		b->sweep_every_ms = m->opts.sweep_ms;
	/* A supervise SIGKILLed while armed leaves the programs attached
	 * until someone settles the links again: look now and then. */
	if (!b->want_armed && now - b->stale_check_ns >= (uint64_t)STALE_CHECK_MS * 1000000) {
		b->stale_check_ns = now;
		if (probes_armed() && probes_arm(&b->probes, m->cgroup_id, false, false) == 0)
			log_debug("monitor: settled the per-event probes after a run that ended while armed");
	}
}

static unsigned bpf_next_ms(const struct monitor *m)
{
	const struct bpf_monitor *b = m->backend;
	return b->always_armed ? 0 : b->sweep_every_ms;
}

/* Drop the thresholds of workloads no longer registered (a supervisor that
 * was killed), and start this one's at "off". */
static int open_thresholds(struct bpf_monitor *b, uint64_t cgroup_id)
{
	uint64_t key, next, *prev = NULL;
	struct track_workload w;
	struct track_thresholds off = { .version = TRACK_VERSION };
	int fd = b->probes.thresholds_fd;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(b->probes.workloads_fd, &key, &w) < 0)
			bpf_map_delete_elem(fd, &key);
	}
	int r = bpf_map_update_elem(fd, &cgroup_id, &off, BPF_ANY);
	return r < 0 ? log_errno(r, "monitor: registering thresholds failed: %m") : 0;
}

static void bpf_close(struct monitor *m)
{
	struct bpf_monitor *b = B(m);

	if (!b)
		return;
	/* Our wish goes first: unregister settles the links for the rest. */
	if (b->probes.thresholds_fd >= 0)
		bpf_map_delete_elem(b->probes.thresholds_fd, &m->cgroup_id);
	probes_unregister(&b->probes, m->cgroup_id);
	ring_buffer__free(b->rb);
	if (b->rb_fd >= 0)
		close(b->rb_fd);
	free(b);
	m->backend = NULL;
}

static const struct monitor_ops bpf_ops = {
	.name = "bpf",
	.fd = bpf_fd,
	.dispatch = bpf_dispatch,
	.refresh = bpf_refresh,
	.read = bpf_read,
	.set_alerts = bpf_set_alerts,
	.observe = bpf_observe,
	.next_ms = bpf_next_ms,
	.close = bpf_close,
};

int monitor_bpf_open(struct monitor *m)
{
	struct bpf_monitor *b;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->probes = (struct probes)PROBES_INIT;
	b->always_armed = m->opts.sweep_ms < 0;
	b->sweep_every_ms = SWEEP_MIN_MS;
	m->backend = b;
	m->ops = &bpf_ops;
	probes_log_init();

	b->rb_fd = -1;
	r = probes_register(m->cgroup_id, &b->probes, &b->rb_fd);
	if (r < 0)
		goto fail;
	/* This workload's own ring buffer (the probes find it through its
	 * registration). */
	b->rb = ring_buffer__new(b->rb_fd, on_event, m, NULL);
	if (!b->rb) {
		r = log_errno(-errno, "monitor: opening the event ring buffer failed: %m");
		goto fail;
	}
	/* Drop what an ended run left in it (on_event keeps only ours). */
	ring_buffer__consume(b->rb);
	r = open_thresholds(b, m->cgroup_id);
	if (r < 0)
		goto fail;
	if (b->always_armed) {
		r = probes_arm(&b->probes, m->cgroup_id, true, true);
		if (r < 0)
			goto fail;
		b->want_armed = b->settled = true;
	}
	/* Processes already in the cgroup (or moved in before launch). */
	r = probes_sweep(&b->probes, NULL);
	if (r < 0)
		goto fail;
	b->last_sweep_ns = now_ns();
	return 0;
fail:
	bpf_close(m);
	m->ops = NULL;
	return r;
}

/* --- for other processes: supervise stat, supervise gc --------------------- */

struct peek {
	struct proc_reading *procs;
	size_t n, cap;
};

static int add_to_peek(void *userdata, const struct proc_reading *p)
{
	struct peek *pk = userdata;

	if (pk->n == pk->cap) {
		size_t cap = pk->cap ? pk->cap * 2 : 64;
		struct proc_reading *n = realloc(pk->procs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		pk->procs = n;
		pk->cap = cap;
	}
	pk->procs[pk->n++] = *p;
	return 0;
}

int monitor_peek(uint64_t cgroup_id, struct reading *ret)
{
	struct probes pr = PROBES_INIT;
	struct peek pk = {};
	int r;

	memset(ret, 0, sizeof(*ret));
	r = probes_open_pinned(&pr);
	if (r < 0)
		return r;
	r = collect(&pr, cgroup_id, ret, add_to_peek, &pk);
	probes_close(&pr);
	if (r < 0) {
		free(pk.procs);
		return r;
	}
	ret->procs = pk.procs;
	ret->nr_proc_readings = pk.n;
	return 0;
}

/* Many workloads in one pass over the procs map: a scrape of W workloads
 * then copies the map once, not W times. */
struct peek_many {
	const uint64_t *ids;
	size_t n;
	struct reading *r;
	struct peek *pk;
	int *found;
};

static int peek_many_one(uint64_t key, const struct track_proc *t, void *userdata)
{
	struct peek_many *pm = userdata;
	for (size_t i = 0; i < pm->n; i++) {
		if (!pm->found[i] || t->workload != pm->ids[i])
			continue;
		struct proc_reading p;
		proc_from_map(t, &p);
		pm->r[i].nr_procs++;
		if (!(t->flags & TRACK_PROC_FORKED_IN) && p.map_count > pm->r[i].map_count_max)
			pm->r[i].map_count_max = p.map_count;
		return add_to_peek(&pm->pk[i], &p);
	}
	return 0;
}

int monitor_peek_many(const uint64_t *cgroup_ids, size_t n, struct reading *ret, int *ret_found)
{
	struct probes pr = PROBES_INIT;
	struct track_workload w;
	int r;

	memset(ret, 0, n * sizeof(*ret));
	r = probes_open_pinned(&pr);
	if (r < 0)
		return r;
	_cleanup_free_ struct peek *pk = calloc(n + 1, sizeof(*pk));
	if (!pk) {
		probes_close(&pr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		ret_found[i] = bpf_map_lookup_elem(pr.workloads_fd, &cgroup_ids[i], &w) == 0;
		if (!ret_found[i])
			continue;
		ret[i].ts_ns = now_ns();
		ret[i].rss_bytes = w.rss_bytes > 0 ? (uint64_t)w.rss_bytes : 0;
		ret[i].peak_rss_bytes = w.peak_rss_bytes;
		ret[i].procs_started = w.procs_started;
		ret[i].peak_concurrent = w.peak_concurrent;
		ret[i].peak_map_count = w.peak_map_count;
		ret[i].peak_map_pid = w.peak_map_pid;
		memcpy(ret[i].peak_map_comm, w.peak_map_comm, sizeof(ret[i].peak_map_comm));
		ret[i].peak_map_comm[sizeof(ret[i].peak_map_comm) - 1] = '\0';
	}
	struct peek_many pm = { .ids = cgroup_ids, .n = n, .r = ret, .pk = pk, .found = ret_found };
	r = probes_for_each_proc(pr.procs_fd, peek_many_one, &pm);
	probes_close(&pr);
	for (size_t i = 0; i < n; i++) {
		if (r < 0) {
			free(pk[i].procs);
			continue;
		}
		ret[i].procs = pk[i].procs;
		ret[i].nr_proc_readings = pk[i].n;
	}
	return r < 0 ? r : 0;
}

int monitor_gc(void)
{
	return probes_gc();
}

const char *monitor_pin_dir(void)
{
	return probes_pin_dir();
}
