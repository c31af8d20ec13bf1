/* top: frames of livestate as text lines (shared by the screen and -b) or
 * JSON. The screen is ncurses: it handles the terminal's size, resize
 * (KEY_RESIZE), restoring the terminal on exit and on SIGINT/SIGTERM. */
#include <curses.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "jsonutil.h"
#include "log.h"
#include "rundir.h"
#include "status.h"
#include "top.h"
#include "util.h"

void top_sanitize(const char *in, char *out, size_t size)
{
	size_t n = 0;
	for (; *in && n + 1 < size; in++)
		out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[n] = '\0';
}

enum sort_key { SORT_RSS, SORT_NAME, SORT_MAPS, SORT_BUDGET };
static const char *const sort_names[] = { "rss", "name", "maps", "budget%" };

/* The previous frame's RSS per workload, for the trend column. */
struct prev {
	char name[RUN_NAME_MAX + 1];
	uint64_t rss;
};

struct top {
	struct livestate ls;
	struct prev *prev;
	size_t nr_prev;
	double prev_at, now_at;
	enum sort_key sort;
	size_t selected;            /* index into ls.w after sorting */
	bool detail;                /* the selected workload's processes */
	char selected_name[RUN_NAME_MAX + 1];
};

static double budget_pct(const struct workload_state *w)
{
	return w->info.budget_bytes && w->have_reading ? 100.0 * w->r.rss_bytes / w->info.budget_bytes : -1;
}

/* The peak over the run: a process that neared the limit and ended still
 * tells the operator how close the workload comes. */
static double maps_pct(const struct workload_state *w, uint64_t max)
{
	return max && w->have_reading ? 100.0 * w->r.peak_map_count / max : -1;
}

static enum sort_key cmp_key;
static uint64_t cmp_max_maps;

static int cmp(const void *a, const void *b)
{
	const struct workload_state *x = a, *y = b;
	double dx = 0, dy = 0;
	switch (cmp_key) {
	case SORT_NAME:
		return strcmp(x->info.name, y->info.name);
	case SORT_RSS:
		dx = x->have_reading ? (double)x->r.rss_bytes : -1, dy = y->have_reading ? (double)y->r.rss_bytes : -1;
		break;
	case SORT_MAPS:
		dx = maps_pct(x, cmp_max_maps), dy = maps_pct(y, cmp_max_maps);
		break;
	case SORT_BUDGET:
		dx = budget_pct(x), dy = budget_pct(y);
		break;
	}
	if (dx != dy)
		return dx < dy ? 1 : -1;
	return strcmp(x->info.name, y->info.name);
}

/* rss change per second since the previous frame, 0 when unknown. */
static double trend(const struct top *t, const struct workload_state *w)
{
	for (size_t i = 0; i < t->nr_prev; i++)
		if (streq(t->prev[i].name, w->info.name) && t->now_at > t->prev_at && w->have_reading)
			return ((double)w->r.rss_bytes - (double)t->prev[i].rss) / (t->now_at - t->prev_at);
	return 0;
}

static void remember(struct top *t)
{
	free(t->prev);
	t->prev = calloc(t->ls.n + 1, sizeof(*t->prev));
	t->nr_prev = 0;
	for (size_t i = 0; t->prev && i < t->ls.n; i++) {
		if (!t->ls.w[i].have_reading)
			continue;
		snprintf(t->prev[t->nr_prev].name, sizeof(t->prev->name), "%s", t->ls.w[i].info.name);
		t->prev[t->nr_prev++].rss = t->ls.w[i].r.rss_bytes;
	}
	t->prev_at = t->now_at;
}

static int refresh_state(struct top *t)
{
	if (t->ls.w)
		remember(t);
	livestate_free(&t->ls);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t->now_at = ts.tv_sec + ts.tv_nsec / 1e9;
	int r = livestate_read(&t->ls);
	if (r < 0)
		return r;
	cmp_key = t->sort;
	cmp_max_maps = t->ls.host.max_map_count;
	if (t->ls.n > 1)
		qsort(t->ls.w, t->ls.n, sizeof(*t->ls.w), cmp);
	/* The selection follows the workload, not the row. */
	t->selected = 0;
	for (size_t i = 0; i < t->ls.n; i++)
		if (streq(t->ls.w[i].info.name, t->selected_name))
			t->selected = i;
	if (t->ls.n == 0)
		t->detail = false;
	else
		snprintf(t->selected_name, sizeof(t->selected_name), "%s", t->ls.w[t->selected].info.name);
	return 0;
}

/* ---- text lines ------------------------------------------------------------ */

typedef void (*emit_fn)(void *ctx, int attr, const char *line);
enum { A_PLAIN, A_HEAD, A_SEL };

static void fmt_pct(double v, char *buf, size_t size)
{
	if (v < 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.*f%%", v < 10 ? 1 : 0, v);
}

static void fmt_trend(double bps, char *buf, size_t size)
{
	char b[32];
	if (fabs(bps) < 4096)
		snprintf(buf, size, "=");
	else
		snprintf(buf, size, "%c%s/s", bps > 0 ? '+' : '-', format_bytes((uint64_t)fabs(bps), b, sizeof(b)));
}

static void header_lines(const struct top *t, emit_fn emit, void *ctx)
{
	char line[512], a[32], b[32], c[32], tm[16];
	uint64_t rss = 0, budgets = 0;
	for (size_t i = 0; i < t->ls.n; i++) {
		rss += t->ls.w[i].have_reading ? t->ls.w[i].r.rss_bytes : 0;
		budgets += t->ls.w[i].info.budget_bytes;
	}
	time_t now = time(NULL);
	strftime(tm, sizeof(tm), "%H:%M:%S", localtime(&now));
	snprintf(line, sizeof(line), "supervise top - %s  %zu workload%s  sort: %s", tm, t->ls.n,
		 t->ls.n == 1 ? "" : "s", sort_names[t->sort]);
	emit(ctx, A_PLAIN, line);
	snprintf(line, sizeof(line), "RSS %s of budgets %s  MemAvailable %s  vm.max_map_count %" PRIu64,
		 format_bytes(rss, a, sizeof(a)), budgets ? format_bytes(budgets, b, sizeof(b)) : "-",
		 format_bytes(t->ls.host.mem_available_bytes, c, sizeof(c)), t->ls.host.max_map_count);
	emit(ctx, A_PLAIN, line);
}

#define ROW_FMT "%-16.16s %-6s %8s %9s %6s %-9s %6s %6s %3s %5s"

static void workload_lines(const struct top *t, bool mark_selected, emit_fn emit, void *ctx)
{
	char line[512];
	snprintf(line, sizeof(line), ROW_FMT, "NAME", "BACKND", "RSS", "TREND", "BUDG%", "ENFORCED", "MAPS%", "JOBS",
		 "PSD", "PSI10");
	emit(ctx, A_HEAD, line);
	for (size_t i = 0; i < t->ls.n; i++) {
		const struct workload_state *w = &t->ls.w[i];
		char name[RUN_NAME_MAX + 1], rss[32], tr[32], bp[16], mp[16], jobs[16], psd[8], psi[16];
		top_sanitize(w->info.name, name, sizeof(name));
		if (w->have_reading)
			format_bytes(w->r.rss_bytes, rss, sizeof(rss));
		else
			snprintf(rss, sizeof(rss), "?");
		fmt_trend(trend(t, w), tr, sizeof(tr));
		fmt_pct(budget_pct(w), bp, sizeof(bp));
		fmt_pct(maps_pct(w, t->ls.host.max_map_count), mp, sizeof(mp));
		if (w->has_tokens) {
			snprintf(jobs, sizeof(jobs), "%u/%u", w->tokens_in_use, w->tokens_target);
			snprintf(psd, sizeof(psd), "%u", w->paused_jobs);
		} else {
			snprintf(jobs, sizeof(jobs), "-");
			snprintf(psd, sizeof(psd), "-");
		}
		if (w->has_psi)
			snprintf(psi, sizeof(psi), "%.2f", w->psi_some_avg10);
		else
			snprintf(psi, sizeof(psi), "-");
		snprintf(line, sizeof(line), ROW_FMT, name, w->backend, rss, tr, bp, w->enforced_by, mp, jobs, psd, psi);
		emit(ctx, mark_selected && i == t->selected ? A_SEL : A_PLAIN, line);
	}
}

static void process_lines(const struct workload_state *w, size_t max, emit_fn emit, void *ctx)
{
	char line[512], name[RUN_NAME_MAX + 1];
	top_sanitize(w->info.name, name, sizeof(name));
	if (!w->have_reading) {
		snprintf(line, sizeof(line), "%s: its usage cannot be read now (pinned maps or /proc)", name);
		emit(ctx, A_PLAIN, line);
		return;
	}
	snprintf(line, sizeof(line), "%s: %u process%s, supervisor pid %d, cgroup %.200s", name, w->r.nr_procs,
		 w->r.nr_procs == 1 ? "" : "es", (int)w->info.pid, w->info.cgroup);
	emit(ctx, A_PLAIN, line);
	snprintf(line, sizeof(line), "%8s  %-16s %10s %8s %5s", "PID", "COMM", "RSS", "MAPS", "STATE");
	emit(ctx, A_HEAD, line);
	for (size_t i = 0; i < w->r.nr_proc_readings && i < max; i++) {
		const struct proc_reading *p = &w->r.procs[i];
		char comm[MONITOR_COMM_LEN + 1], rss[32];
		top_sanitize(p->comm, comm, sizeof(comm));
		snprintf(line, sizeof(line), "%8" PRIu32 "  %-16s %10s %8" PRIu32 " %5c", p->pid, comm,
			 format_bytes(p->rss_bytes, rss, sizeof(rss)), p->map_count, proc_state(p->pid, NULL));
		emit(ctx, A_PLAIN, line);
	}
}

static void no_workloads_lines(emit_fn emit, void *ctx)
{
	char line[512];
	emit(ctx, A_PLAIN, "");
	emit(ctx, A_PLAIN, "No workloads are running under supervise on this host.");
	snprintf(line, sizeof(line), "(run directories: %.400s)", rundir_root());
	emit(ctx, A_PLAIN, line);
	emit(ctx, A_PLAIN, "Start one with: supervise [--mem SIZE] -- COMMAND");
}

/* ---- -b: plain frames ------------------------------------------------------ */

static void emit_stdout(void *ctx, int attr, const char *line)
{
	puts(line);
}

static void batch_frame(const struct top *t)
{
	header_lines(t, emit_stdout, NULL);
	if (t->ls.n == 0) {
		no_workloads_lines(emit_stdout, NULL);
	} else {
		putchar('\n');
		workload_lines(t, false, emit_stdout, NULL);
		for (size_t i = 0; i < t->ls.n; i++) {
			putchar('\n');
			process_lines(&t->ls.w[i], 10, emit_stdout, NULL);
		}
	}
	putchar('\n');
	fflush(stdout);
}

static void json_frame(const struct top *t)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "time", json_object_new_int64(time(NULL)));
	json_object *h = json_object_new_object();
	json_object_object_add(h, "max_map_count", json_object_new_uint64(t->ls.host.max_map_count));
	json_object_object_add(h, "mem_available_bytes", json_object_new_uint64(t->ls.host.mem_available_bytes));
	json_object_object_add(h, "mem_total_bytes", json_object_new_uint64(t->ls.host.mem_total_bytes));
	json_object_object_add(o, "host", h);
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < t->ls.n; i++) {
		const struct workload_state *w = &t->ls.w[i];
		json_object *e = json_object_new_object();
		json_object_object_add(e, "name", json_object_new_string(w->info.name));
		json_object_object_add(e, "pid", json_object_new_int(w->info.pid));
		json_object_object_add(e, "cgroup", json_object_new_string(w->info.cgroup));
		json_object_object_add(e, "backend", json_object_new_string(w->backend));
		json_object_object_add(e, "enforced_by", json_object_new_string(w->enforced_by));
		json_object_object_add(e, "budget_bytes",
				       w->info.budget_bytes ? json_object_new_uint64(w->info.budget_bytes) : NULL);
		json_object_object_add(e, "uptime_seconds", json_object_new_int64(w->uptime_s));
		if (w->have_reading) {
			json_object_object_add(e, "rss_bytes", json_object_new_uint64(w->r.rss_bytes));
			json_object_object_add(e, "rss_bytes_per_second", json_object_new_double(trend(t, w)));
			json_object_object_add(e, "map_count_max", json_object_new_uint64(w->r.map_count_max));
			json_object_object_add(e, "peak_map_count", json_object_new_uint64(w->r.peak_map_count));
			json_object_object_add(e, "nr_processes", json_object_new_int(w->r.nr_procs));
		} else {
			json_object_object_add(e, "rss_bytes", NULL);
		}
		if (w->has_tokens) {
			json_object_object_add(e, "tokens", tokens_json(w));
			json_object_object_add(e, "paused_jobs", json_object_new_int(w->paused_jobs));
		}
		json_object_object_add(e, "psi_memory_some_avg10", w->has_psi ? json_object_new_double(w->psi_some_avg10) : NULL);
		json_object *procs = json_object_new_array();
		for (size_t j = 0; w->have_reading && j < w->r.nr_proc_readings; j++)
			json_object_array_add(procs, proc_reading_json(&w->r.procs[j]));
		json_object_object_add(e, "processes", procs);
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "workloads", arr);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run_batch(struct top *t, const struct config *c, double delay)
{
	/* A reader that went away (top -b | head) ends us quietly. */
	signal(SIGPIPE, SIG_DFL);
	for (unsigned i = 0; !c->iterations || i < c->iterations; i++) {
		if (i)
			sleep_s(delay);
		if (refresh_state(t) < 0)
			return EXIT_SUPERVISE_FAILURE;
		if (c->json)
			json_frame(t);
		else
			batch_frame(t);
	}
	return 0;
}

/* ---- the screen ------------------------------------------------------------ */

struct screen {
	int row, rows, cols;
};

static void emit_screen(void *ctx, int attr, const char *line)
{
	struct screen *s = ctx;
	if (s->row >= s->rows)
		return;
	int a = attr == A_HEAD ? A_REVERSE : attr == A_SEL ? A_BOLD | A_UNDERLINE : A_NORMAL;
	attron(a);
	mvaddnstr(s->row, 0, line, s->cols);
	if (attr == A_HEAD)
		for (int x = (int)strlen(line); x < s->cols; x++)
			addch(' ');
	attroff(a);
	s->row++;
}

static void draw(const struct top *t)
{
	struct screen s = { 0 };
	getmaxyx(stdscr, s.rows, s.cols);
	erase();
	header_lines(t, emit_screen, &s);
	s.row++;
	if (t->ls.n == 0)
		no_workloads_lines(emit_screen, &s);
	else if (t->detail)
		process_lines(&t->ls.w[t->selected], s.rows > 6 ? (size_t)(s.rows - 6) : 1, emit_screen, &s);
	else
		workload_lines(t, true, emit_screen, &s);
	const char *help = t->detail ? "q quit  s/Enter/Esc back  r/n/m/b sort"
				     : "q quit  Up/Down select  s/Enter processes  r/n/m/b sort by rss/name/maps/budget%";
	attron(A_REVERSE);
	mvaddnstr(s.rows - 1, 0, help, s.cols);
	attroff(A_REVERSE);
	refresh();
}

static int run_screen(struct top *t, double delay)
{
	if (!initscr()) {
		log_error("top: cannot use this terminal (TERM=%s); try supervise top -b", getenv("TERM") ?: "");
		return EXIT_SUPERVISE_FAILURE;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	int ret = 0;
	bool reread = true;
	for (;;) {
		if (reread && refresh_state(t) < 0) {
			ret = EXIT_SUPERVISE_FAILURE;
			break;
		}
		draw(t);
		/* Wait for a key at most until the next refresh is due. */
		timeout((int)(delay * 1000));
		int ch = getch();
		reread = ch == ERR;
		if (ch == 'q' || ch == 'Q')
			break;
		switch (ch) {
		case 's':
		case '\n':
		case KEY_ENTER:
			t->detail = !t->detail && t->ls.n > 0;
			break;
		case 27: /* Esc */
		case KEY_BACKSPACE:
			t->detail = false;
			break;
		case KEY_UP:
		case 'k':
			if (!t->detail && t->selected > 0)
				t->selected--;
			break;
		case KEY_DOWN:
		case 'j':
			if (!t->detail && t->selected + 1 < t->ls.n)
				t->selected++;
			break;
		case 'r': case 'n': case 'm': case 'b':
			t->sort = ch == 'r' ? SORT_RSS : ch == 'n' ? SORT_NAME : ch == 'm' ? SORT_MAPS : SORT_BUDGET;
			reread = true;
			break;
		case KEY_RESIZE:
			/* ncurses has taken the new size: the next draw fits it. */
			break;
		}
		if (t->ls.n)
			snprintf(t->selected_name, sizeof(t->selected_name), "%s", t->ls.w[t->selected].info.name);
	}
	endwin();
	return ret;
}

int top_command(const struct config *c)
{
	struct top t = { .sort = SORT_RSS };
	double delay = c->delay_s > 0 ? c->delay_s : 2.0;
	int r;
	if (c->batch || c->json) {
		r = run_batch(&t, c, delay);
	} else {
		/* What a pass logs (a run that vanished mid-read) must not scribble
		 * on the screen: stderr goes to /dev/null while it is up; the rows
		 * show '?' for what could not be read. */
		int saved = dup(STDERR_FILENO);
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (saved >= 0 && null >= 0)
			dup2(null, STDERR_FILENO);
		r = run_screen(&t, delay);
		if (saved >= 0 && null >= 0)
			dup2(saved, STDERR_FILENO);
		closep(&saved);
		closep(&null);
	}
	livestate_free(&t.ls);
	free(t.prev);
	return r;
}
