/* eventlog: the JSONL event log of a run. */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "eventlog.h"
#include "jsonutil.h"
#include "log.h"
#include "util.h"

struct eventlog {
	int fd;
	char path[4096];
	bool have_last;
	struct workload_state last;     /* at the last sample (r.procs not kept) */
	uint64_t last_sample_ns;
	/* what the derived events compare with: the previous reading */
	bool have_prev;
	int rss_band, map_band;
	unsigned target, pauses, paused_jobs;
	uint64_t budget;
};

static const uint64_t MIN_NS = EVENTLOG_SAMPLE_MIN_S * 1000000000ull;
static const uint64_t MAX_NS = EVENTLOG_SAMPLE_MAX_S * 1000000000ull;

bool eventlog_sample_due(uint64_t now_ns, uint64_t last_ns, bool changed)
{
	if (!last_ns)
		return true;
	uint64_t age = now_ns > last_ns ? now_ns - last_ns : 0;
	return age >= MAX_NS || (changed && age >= MIN_NS);
}

static bool moved(uint64_t a, uint64_t b, uint64_t abs_min, unsigned pct)
{
	uint64_t d = a > b ? a - b : b - a;
	uint64_t rel = (a > b ? a : b) * pct / 100;
	return d >= abs_min && d >= rel;
}

bool eventlog_changed(const struct workload_state *last, const struct workload_state *now)
{
	if (last->have_reading != now->have_reading)
		return true;
	if (!now->have_reading)
		return false;
	return moved(last->r.rss_bytes, now->r.rss_bytes, 1 << 20, 2) || last->r.nr_procs != now->r.nr_procs ||
	       moved(last->r.map_count_max, now->r.map_count_max, 1, 5) ||
	       last->tokens_target != now->tokens_target || last->tokens_in_use != now->tokens_in_use ||
	       last->pauses != now->pauses || last->paused_jobs != now->paused_jobs;
}

int eventlog_band(uint64_t value, uint64_t limit)
{
	if (!limit)
		return 0;
	double p = 100.0 * value / limit;
	return p >= 100 ? 4 : p >= 90 ? 3 : p >= 80 ? 2 : p >= 50 ? 1 : 0;
}

static const unsigned band_floor[] = { 0, 50, 80, 90, 100 };

int eventlog_open(const char *path, struct eventlog **ret)
{
	/* O_NOFOLLOW: a symlink planted at PATH must not redirect our writes;
	 * O_APPEND: one write(2) per line lands whole even with a tail reader. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return log_errno(-errno, "eventlog: cannot open --log %s: %m", path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return log_errno(-EINVAL, "eventlog: --log %s is not a regular file; give a file path", path);
	}
	struct eventlog *el = calloc(1, sizeof(*el));
	if (!el) {
		close(fd);
		return -ENOMEM;
	}
	el->fd = fd;
	snprintf(el->path, sizeof(el->path), "%s", path);
	*ret = el;
	return 0;
}

/* Seconds with µs, printed as such (not json-c's 17 significant digits). */
static json_object *seconds(struct timespec ts)
{
	char s[32];
	snprintf(s, sizeof(s), "%lld.%06ld", (long long)ts.tv_sec, ts.tv_nsec / 1000);
	return json_object_new_double_s(ts.tv_sec + ts.tv_nsec / 1e9, s);
}

static void write_line(struct eventlog *el, const char *event, json_object *obj)
{
	_cleanup_(json_object_putp) json_object *line = json_object_new_object();
	struct timespec mono, wall;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &wall);
	json_object_object_add(line, "event", json_object_new_string(event));
	json_object_object_add(line, "version", json_object_new_int(EVENTLOG_VERSION));
	json_object_object_add(line, "mono", seconds(mono));
	json_object_object_add(line, "wall", seconds(wall));
	if (obj) {
		json_object_object_foreach(obj, k, v)
			json_object_object_add(line, k, json_object_get(v));
		json_object_put(obj);
	}
	if (!el || el->fd < 0)
		return;
	size_t len;
	const char *text = json_object_to_json_string_length(line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
							    &len);
	_cleanup_free_ char *buf = malloc(len + 1);
	if (!buf)
		return;
	memcpy(buf, text, len);
	buf[len] = '\n';
	ssize_t n;
	while ((n = write(el->fd, buf, len + 1)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)(len + 1)) {
		log_errno(n < 0 ? -errno : -EIO, "eventlog: writing %s failed: %m; no more events are logged", el->path);
		closep(&el->fd);
		el->fd = -1;
	}
}

void eventlog_event(struct eventlog *el, const char *event, json_object *obj)
{
	if (!el) {
		json_object_put(obj);
		return;
	}
	write_line(el, event, obj);
}

void eventlog_start(struct eventlog *el, json_object *obj)
{
	eventlog_event(el, "start", obj);
}

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static json_object *sample_obj(const struct workload_state *w, uint64_t max_map_count)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "rss_bytes", w->have_reading ? u64(w->r.rss_bytes) : NULL);
	json_object_object_add(o, "budget_bytes", w->info.budget_bytes ? u64(w->info.budget_bytes) : NULL);
	json_object_object_add(o, "map_count_max", w->have_reading ? u64(w->r.map_count_max) : NULL);
	json_object_object_add(o, "max_map_count", u64(max_map_count));
	json_object_object_add(o, "processes", w->have_reading ? u64(w->r.nr_procs) : NULL);
	if (w->has_tokens) {
		json_object_object_add(o, "tokens", tokens_json(w));
		json_object_object_add(o, "paused", u64(w->paused_jobs));
	}
	if (w->has_psi)
		json_object_object_add(o, "psi_memory_some_avg10", json_object_new_double(w->psi_some_avg10));
	/* The three heaviest processes: enough for the report's map_count chart
	 * without making every line grow with the workload. */
	json_object *top = json_object_new_array();
	for (size_t i = 0; w->have_reading && i < w->r.nr_proc_readings && i < 3; i++)
		json_object_array_add(top, proc_reading_json(&w->r.procs[i]));
	json_object_object_add(o, "top", top);
	return o;
}

static void derived_events(struct eventlog *el, const struct workload_state *w, uint64_t max_map_count)
{
	int rss_band = w->have_reading ? eventlog_band(w->r.rss_bytes, w->info.budget_bytes) : el->rss_band;
	int map_band = w->have_reading ? eventlog_band(w->r.map_count_max, max_map_count) : el->map_band;
	if (!el->have_prev) {
		el->have_prev = true;
		el->rss_band = el->map_band = 0;
		el->target = w->tokens_target;
		el->budget = w->info.budget_bytes;
	}
	if (rss_band != el->rss_band) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "what", json_object_new_string("rss"));
		json_object_object_add(o, "direction", json_object_new_string(rss_band > el->rss_band ? "up" : "down"));
		json_object_object_add(o, "percent", u64(band_floor[rss_band > el->rss_band ? rss_band : el->rss_band]));
		json_object_object_add(o, "rss_bytes", u64(w->r.rss_bytes));
		json_object_object_add(o, "budget_bytes", u64(w->info.budget_bytes));
		eventlog_event(el, "threshold", o);
		el->rss_band = rss_band;
	}
	if (map_band != el->map_band) {
		const struct proc_reading *p = NULL;
		for (size_t i = 0; i < w->r.nr_proc_readings; i++)
			if (!p || w->r.procs[i].map_count > p->map_count)
				p = &w->r.procs[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "direction", json_object_new_string(map_band > el->map_band ? "up" : "down"));
		json_object_object_add(o, "percent", u64(band_floor[map_band > el->map_band ? map_band : el->map_band]));
		json_object_object_add(o, "map_count", u64(w->r.map_count_max));
		json_object_object_add(o, "max_map_count", u64(max_map_count));
		if (p) {
			json_object_object_add(o, "pid", u64(p->pid));
			json_object_object_add(o, "comm", json_object_new_string(p->comm));
		}
		eventlog_event(el, "map_count", o);
		el->map_band = map_band;
	}
	if (w->has_tokens && w->tokens_target != el->target) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "from", u64(el->target));
		json_object_object_add(o, "to", u64(w->tokens_target));
		json_object_object_add(o, "rss_bytes", w->have_reading ? u64(w->r.rss_bytes) : NULL);
		eventlog_event(el, "tokens", o);
		el->target = w->tokens_target;
	}
	if (w->pauses > el->pauses) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "count", u64(w->pauses - el->pauses));
		json_object_object_add(o, "pauses", u64(w->pauses));
		json_object_object_add(o, "rss_bytes", w->have_reading ? u64(w->r.rss_bytes) : NULL);
		eventlog_event(el, "pause", o);
	}
	if (w->paused_jobs < el->paused_jobs) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "count", u64(el->paused_jobs - w->paused_jobs));
		json_object_object_add(o, "rss_bytes", w->have_reading ? u64(w->r.rss_bytes) : NULL);
		eventlog_event(el, "resume", o);
	}
	el->pauses = w->pauses;
	el->paused_jobs = w->paused_jobs;
}

void eventlog_observe(struct eventlog *el, const struct workload_state *w, uint64_t mono_ns)
{
	if (!el || el->fd < 0)
		return;
	uint64_t max_map_count = read_max_map_count();
	derived_events(el, w, max_map_count);
	bool changed = !el->have_last || eventlog_changed(&el->last, w);
	if (!eventlog_sample_due(mono_ns, el->last_sample_ns, changed))
		return;
	eventlog_event(el, "sample", sample_obj(w, max_map_count));
	el->last = *w;
	el->last.r.procs = NULL;
	el->last.r.nr_proc_readings = 0;
	el->have_last = true;
	el->last_sample_ns = mono_ns;
}

void eventlog_close(struct eventlog *el)
{
	if (!el)
		return;
	closep(&el->fd);
	free(el);
}
