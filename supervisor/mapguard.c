#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "log.h"
#include "mapguard.h"
#include "util.h"

#define SYSCTL_PATH "/proc/sys/vm/max_map_count"
#define STEP 65536ull
/* How far ahead the suggestion looks at the observed growth. */
#define HORIZON_S 600.0

void mapguard_thresholds(uint64_t limit, uint32_t *ret_warn, uint32_t *ret_last)
{
	*ret_warn = (uint32_t)(limit * MAPGUARD_WARN_PCT / 100);
	*ret_last = (uint32_t)(limit * MAPGUARD_LAST_PCT / 100);
}

static uint64_t round_up(uint64_t v)
{
	return (v + STEP - 1) / STEP * STEP;
}

uint64_t mapguard_suggest(uint64_t limit, uint32_t count, double rate_per_s, uint64_t ram_mib, bool *ret_capped)
{
	double need = (double)count + (rate_per_s > 0 ? rate_per_s * HORIZON_S : 0);
	uint64_t want = need > 2.0 * count ? (uint64_t)need : 2ull * count;
	uint64_t upper = 4 * ram_mib;

	want = round_up(want);
	if (want <= limit)
		want = round_up(limit + 1);
	*ret_capped = false;
	if (upper > limit && want > upper) {
		*ret_capped = true;
		want = upper;
	}
	return want;
}

struct proc_track {
	uint32_t pid;
	char comm[MONITOR_COMM_LEN];
	uint64_t first_ns, seen_gen;
	uint32_t first_count;
	int level;                    /* 0 none, 1 warned at 80 %, 2 at 95 % */
};

struct mapguard {
	struct mapguard_options o;
	char path[256];
	uint64_t limit;
	uint64_t gen;
	bool hold;
	uint32_t armed;
	struct proc_track *t;
	size_t n, cap;
};

static uint64_t read_limit(const struct mapguard *g)
{
	char buf[64];
	uint64_t v;
	if (read_file_at(AT_FDCWD, g->path, buf, sizeof(buf)) < 0)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	return parse_u64(buf, &v) < 0 ? 0 : v;
}

int mapguard_new(const struct mapguard_options *o, struct mapguard **ret)
{
	struct mapguard *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->o = *o;
	snprintf(g->path, sizeof(g->path), "%s", o->sysctl_path ? o->sysctl_path : SYSCTL_PATH);
	g->o.sysctl_path = g->path;
	g->limit = read_limit(g);
	*ret = g;
	return 0;
}

uint32_t mapguard_alert_threshold(struct mapguard *g)
{
	uint32_t warn, last;
	mapguard_thresholds(g->limit, &warn, &last);
	g->armed = warn;
	return warn;
}

/* The table is kept sorted by pid: a reading of 1,000 processes looks each
 * up in log time, not by a scan of the table (which cost 1,000,000 compares
 * a reading). A pid reused by another command starts afresh. */
static struct proc_track *track(struct mapguard *g, const struct proc_reading *p, uint64_t now)
{
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->t[mid].pid < p->pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct proc_track *e = lo < g->n ? &g->t[lo] : NULL;
	if (e && e->pid == p->pid && !strcmp(e->comm, p->comm))
		return e;
	if (!e || e->pid != p->pid) {
		if (g->n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 64;
			struct proc_track *t = realloc(g->t, cap * sizeof(*t));
			if (!t)
				return NULL;
			g->t = t;
			g->cap = cap;
		}
		memmove(&g->t[lo + 1], &g->t[lo], (g->n - lo) * sizeof(*g->t));
		g->n++;
	}
	e = &g->t[lo];
	memset(e, 0, sizeof(*e));
	e->pid = p->pid;
	memcpy(e->comm, p->comm, sizeof(e->comm));
	e->first_ns = now;
	e->first_count = p->map_count;
	return e;
}

static uint64_t ram_mib(void)
{
	struct sysinfo si;
	if (sysinfo(&si) < 0)
		return 0;
	return (uint64_t)si.totalram * si.mem_unit >> 20;
}

static void raise_limit(struct mapguard *g, uint64_t value)
{
	char buf[32];
	uint64_t old = g->limit;
	snprintf(buf, sizeof(buf), "%" PRIu64, value);
	int r = write_file_at(AT_FDCWD, g->path, buf);
	if (r < 0) {
		log_errno_level(LOG_WARN, r, "maps: cannot raise vm.max_map_count to %" PRIu64 " (--raise-map-count): "
			        "writing %s: %m; run supervise as root (in the initial user namespace) or set it yourself",
				value, g->path);
		return;
	}
	g->limit = read_limit(g);
	log_warn("maps: raised vm.max_map_count from %" PRIu64 " to %" PRIu64 " (--raise-map-count); it stays "
		 "raised after this run", old, g->limit);
}

static void warn(struct mapguard *g, const struct proc_reading *p, const struct proc_track *e, int pct,
		 uint64_t now)
{
	double dt = (now - e->first_ns) / 1e9;
	double rate = dt >= 0.05 && p->map_count > e->first_count ? (p->map_count - e->first_count) / dt : 0;
	uint64_t ram = ram_mib();
	bool capped;
	uint64_t value = mapguard_suggest(g->limit, p->map_count, rate, ram, &capped);
	char growth[64] = "";

	if (rate > 0)
		snprintf(growth, sizeof(growth), ", growing by about %.0f a second", rate);
	log_warn("maps: pid %u (%s) has %u map areas, %d%% of vm.max_map_count %" PRIu64 "%s; at the limit its "
		 "mmap fails with ENOMEM. Raise the limit: sysctl -w vm.max_map_count=%" PRIu64 " (upper reference: "
		 "4 x RAM in MiB = %" PRIu64 "%s)",
		 p->pid, p->comm, p->map_count, pct, g->limit, growth, value, 4 * ram,
		 capped ? "; the growth would need more: a leak of mappings is likely" : "");
	if (g->o.raise && value > g->limit)
		raise_limit(g, value);
}

bool mapguard_check(struct mapguard *g, const struct reading *r)
{
	uint64_t now = r->ts_ns ? r->ts_ns : now_ns();
	uint64_t limit = read_limit(g);
	uint32_t warn_at, last_at;

	if (limit)
		g->limit = limit;
	if (!g->limit)
		return false;
	g->gen++;
	g->hold = false;
	for (size_t i = 0; i < r->nr_proc_readings; i++) {
		const struct proc_reading *p = &r->procs[i];
		if (p->exited)
			continue;
		struct proc_track *e = track(g, p, now);
		if (!e)
			continue;
		e->seen_gen = g->gen;
		mapguard_thresholds(g->limit, &warn_at, &last_at);
		if (p->map_count >= last_at && e->level < 2) {
			e->level = 2;
			warn(g, p, e, MAPGUARD_LAST_PCT, now);
		} else if (p->map_count >= warn_at && e->level < 1) {
			e->level = 1;
			warn(g, p, e, MAPGUARD_WARN_PCT, now);
		}
		mapguard_thresholds(g->limit, &warn_at, &last_at);
		if (p->map_count >= warn_at)
			g->hold = true;
	}
	/* Forget processes that are gone. */
	size_t j = 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->t[i].seen_gen == g->gen)
			g->t[j++] = g->t[i];
	g->n = j;

	mapguard_thresholds(g->limit, &warn_at, &last_at);
	return warn_at != g->armed;
}

bool mapguard_hold(const struct mapguard *g)
{
	return g->hold;
}

uint64_t mapguard_limit(const struct mapguard *g)
{
	return g->limit;
}

void mapguard_free(struct mapguard *g)
{
	if (!g)
		return;
	free(g->t);
	free(g);
}
