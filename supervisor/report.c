/* report: the HTML page from a --log file. Samples become polylines, other
 * events vertical markers; everything is scaled here into a fixed viewBox so
 * the page renders the same in any browser without a line of script. */
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "jsonutil.h"
#include "log.h"
#include "report.h"
#include "status.h"
#include "util.h"

void report_escape(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default:
			/* Control bytes (a hostile comm) become U+FFFD. */
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputs("&#xFFFD;", out);
			else
				fputc(*s, out);
		}
	}
}

struct point {
	double t, v;
};

struct series {
	char label[64];
	const char *color;
	bool dashed;
	struct point *p;
	size_t n, cap;
	double peak;
};

struct marker {
	double t;
	const char *kind;   /* pause, resume, kill, set, tokens, threshold, map_count */
	char text[160];
};

struct report {
	json_object *start, *exit;
	double t0, t_end;
	struct series rss, budget, target, in_use;
	struct series *procs;       /* map_count per pid (top processes) */
	size_t nr_procs;
	struct marker *m;
	size_t nr_m, cap_m;
	size_t lines, bad_lines, samples;
};

static void add_point(struct series *s, double t, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct point *p = realloc(s->p, cap * sizeof(*p));
		if (!p)
			return;
		s->p = p, s->cap = cap;
	}
	s->p[s->n++] = (struct point){ t, v };
	if (v > s->peak)
		s->peak = v;
}

static void add_marker(struct report *r, double t, const char *kind, const char *text)
{
	if (r->nr_m == r->cap_m) {
		size_t cap = r->cap_m ? r->cap_m * 2 : 32;
		struct marker *m = realloc(r->m, cap * sizeof(*m));
		if (!m)
			return;
		r->m = m, r->cap_m = cap;
	}
	struct marker *m = &r->m[r->nr_m++];
	m->t = t;
	m->kind = kind;
	snprintf(m->text, sizeof(m->text), "%s", text);
}

static bool get_num(json_object *o, const char *key, double *ret)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return false;
	*ret = json_object_get_double(v);
	return true;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static struct series *proc_series(struct report *r, uint64_t pid, const char *comm)
{
	char label[64];
	snprintf(label, sizeof(label), "%s %" PRIu64, comm ? comm : "?", pid);
	for (size_t i = 0; i < r->nr_procs; i++)
		if (streq(r->procs[i].label, label))
			return &r->procs[i];
	struct series *p = realloc(r->procs, (r->nr_procs + 1) * sizeof(*p));
	if (!p)
		return NULL;
	r->procs = p;
	p = &r->procs[r->nr_procs++];
	*p = (struct series){ 0 };
	snprintf(p->label, sizeof(p->label), "%s", label);
	return p;
}

static void take_sample(struct report *r, json_object *o, double t)
{
	double v;
	r->samples++;
	if (get_num(o, "rss_bytes", &v))
		add_point(&r->rss, t, v);
	add_point(&r->budget, t, get_num(o, "budget_bytes", &v) ? v : NAN);
	json_object *tk, *top;
	if (json_object_object_get_ex(o, "tokens", &tk) && json_object_is_type(tk, json_type_object)) {
		if (get_num(tk, "target", &v))
			add_point(&r->target, t, v);
		if (get_num(tk, "in_use", &v))
			add_point(&r->in_use, t, v);
	}
	if (json_object_object_get_ex(o, "top", &top) && json_object_is_type(top, json_type_array))
		for (size_t i = 0; i < json_object_array_length(top); i++) {
			json_object *e = json_object_array_get_idx(top, i);
			double pid, maps;
			if (!e || !get_num(e, "pid", &pid) || !get_num(e, "map_count", &maps))
				continue;
			struct series *s = proc_series(r, (uint64_t)pid, get_str(e, "comm"));
			if (s)
				add_point(s, t, maps);
		}
}

static void take_event(struct report *r, const char *ev, json_object *o, double t)
{
	char text[160], a[32];
	double v, w;
	/* Events between rate-limited samples carry the RSS of their moment. */
	if (get_num(o, "rss_bytes", &v) && !streq(ev, "map_count"))
		add_point(&r->rss, t, v);
	if (streq(ev, "pause")) {
		snprintf(text, sizeof(text), "pause (%s RSS)", get_num(o, "rss_bytes", &v) ? format_bytes(v, a, sizeof(a)) : "?");
	} else if (streq(ev, "resume")) {
		snprintf(text, sizeof(text), "resume");
	} else if (streq(ev, "kill")) {
		snprintf(text, sizeof(text), "kill: %s by %s", get_str(o, "reason") ?: "?", get_str(o, "by") ?: "?");
	} else if (streq(ev, "set")) {
		snprintf(text, sizeof(text), "set%s%s", get_num(o, "budget_bytes", &v) ? " --mem " : "",
			 get_num(o, "budget_bytes", &v) ? format_bytes(v, a, sizeof(a)) : "");
	} else if (streq(ev, "tokens")) {
		snprintf(text, sizeof(text), "tokens %g -> %g", get_num(o, "from", &v) ? v : 0, get_num(o, "to", &w) ? w : 0);
	} else if (streq(ev, "threshold")) {
		snprintf(text, sizeof(text), "RSS %s %g%% of budget", get_str(o, "direction") ?: "?",
			 get_num(o, "percent", &v) ? v : 0);
	} else if (streq(ev, "map_count")) {
		snprintf(text, sizeof(text), "map_count %s %g%% of vm.max_map_count (%s)", get_str(o, "direction") ?: "?",
			 get_num(o, "percent", &v) ? v : 0, get_str(o, "comm") ?: "?");
	} else {
		return;
	}
	/* The kind outlives the parsed line: one of our own constant strings. */
	static const char *const kinds[] = { "pause", "resume", "kill", "set", "tokens", "threshold", "map_count" };
	for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
		if (streq(ev, kinds[i]))
			add_marker(r, t, kinds[i], text);
}

static int parse(struct report *r, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool first = true;
	while ((n = getline(&line, &cap, f)) > 0) {
		r->lines++;
		json_object *o = json_tokener_parse(line);
		const char *ev = o && json_object_is_type(o, json_type_object) ? get_str(o, "event") : NULL;
		double t;
		if (!ev || !get_num(o, "mono", &t)) {
			r->bad_lines++;
			json_object_put(o);
			continue;
		}
		if (first)
			r->t0 = t, first = false;
		t -= r->t0;
		if (t > r->t_end)
			r->t_end = t;
		if (streq(ev, "start") && !r->start) {
			r->start = o;
			continue;
		}
		if (streq(ev, "exit") && !r->exit) {
			r->exit = o;
			continue;
		}
		if (streq(ev, "sample"))
			take_sample(r, o, t);
		else
			take_event(r, ev, o, t);
		json_object_put(o);
	}
	free(line);
	return r->lines > r->bad_lines ? 0 : -EBADMSG;
}

/* ---- SVG ------------------------------------------------------------------- */

#define W 860.0
#define H 276.0
#define ML 78.0
#define MR 16.0
#define MT 30.0
#define MB 34.0

static const char *const palette[] = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf" };

static void fmt_value(double v, bool bytes, char *buf, size_t size)
{
	if (bytes)
		format_bytes((uint64_t)v, buf, size);
	else
		snprintf(buf, size, "%g", v);
}

/* A "nice" step (1, 2, 5 × 10^k) for about n ticks over span. */
static double nice_step(double span, int n)
{
	double raw = span / n, mag = pow(10, floor(log10(raw)));
	double f = raw / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

static void chart(FILE *out, const char *id, const char *title, struct series **s, size_t ns, bool bytes,
		  const struct report *r)
{
	double ymax = 0, xmax = r->t_end > 0 ? r->t_end : 1;
	for (size_t i = 0; i < ns; i++)
		for (size_t j = 0; j < s[i]->n; j++)
			if (!isnan(s[i]->p[j].v) && s[i]->p[j].v > ymax)
				ymax = s[i]->p[j].v;
	if (bytes && ymax > 0) {
		/* Byte ticks on powers of two read better: 256MiB, 512MiB. */
		double step = pow(2, ceil(log2(ymax / 4)));
		ymax = step * ceil(ymax / step);
	} else {
		ymax = ymax > 0 ? nice_step(ymax, 4) * ceil(ymax / nice_step(ymax, 4)) : 1;
	}
	double pw = W - ML - MR, ph = H - MT - MB;
#define X(t) (ML + (t) / xmax * pw)
#define Y(v) (MT + ph - (v) / ymax * ph)
	fprintf(out, "<section><h2>%s</h2>\n<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
		     "role=\"img\" aria-label=\"%s\">\n", title, id, W, H, title);
	fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" class=\"plot\"/>\n", ML, MT, pw, ph);
	double ystep = bytes ? ymax / 4 : nice_step(ymax, 4);
	for (double v = 0; v <= ymax * 1.0001; v += ystep) {
		char lab[32];
		fmt_value(v, bytes, lab, sizeof(lab));
		fprintf(out, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
			     "<text class=\"ytick\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
			ML, ML + pw, Y(v), Y(v), ML - 6, Y(v) + 4, lab);
	}
	double xstep = nice_step(xmax, 6);
	for (double t = 0; t <= xmax * 1.0001; t += xstep)
		fprintf(out, "<text class=\"xtick\" x=\"%.1f\" y=\"%.1f\">%gs</text>\n", X(t), H - MB + 16, t);
	for (size_t i = 0; i < r->nr_m; i++)
		fprintf(out, "<line class=\"mark %s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"><title>%.1fs: %s</title></line>\n",
			r->m[i].kind, X(r->m[i].t), X(r->m[i].t), MT, MT + ph, r->m[i].t, r->m[i].kind);
	for (size_t i = 0; i < ns; i++) {
		bool pen = false;
		if (!s[i]->n)
			continue;
		fprintf(out, "<path class=\"series\" stroke=\"%s\"%s d=\"", s[i]->color,
			s[i]->dashed ? " stroke-dasharray=\"6 4\"" : "");
		for (size_t j = 0; j < s[i]->n; j++) {
			if (isnan(s[i]->p[j].v)) {
				pen = false;
				continue;
			}
			/* Steps: a value holds until the next reading. */
			if (pen)
				fprintf(out, " H%.1f V%.1f", X(s[i]->p[j].t), Y(s[i]->p[j].v));
			else
				fprintf(out, "%sM%.1f %.1f", j ? " " : "", X(s[i]->p[j].t), Y(s[i]->p[j].v));
			pen = true;
		}
		/* The last value holds to the end of the log. */
		if (pen)
			fprintf(out, " H%.1f", X(xmax));
		fputs("\"/>\n", out);
	}
	double lx = ML + 8;
	for (size_t i = 0; i < ns; i++) {
		/* Above the plot: a line at the budget would run through it. */
		fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"3\" fill=\"%s\"/>"
			     "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">", lx, MT - 14, s[i]->color, lx + 16, MT - 10);
		report_escape(out, s[i]->label);
		fputs("</text>\n", out);
		lx += 24 + 7 * strlen(s[i]->label);
	}
	fputs("</svg></section>\n", out);
#undef X
#undef Y
}

/* ---- page ------------------------------------------------------------------ */

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:920px;color:#222}"
	"h1{font-size:22px}h2{font-size:16px;margin:18px 0 6px}"
	"table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}"
	"svg{width:100%;height:auto;background:#fff}.plot{fill:#fafafa;stroke:#ccc}"
	".grid{stroke:#e4e4e4}.ytick{font-size:11px;text-anchor:end;fill:#555}"
	".xtick{font-size:11px;text-anchor:middle;fill:#555}.legend{font-size:12px;fill:#333}"
	".series{fill:none;stroke-width:2}.mark{stroke-width:1.5;opacity:.8}"
	".pause{stroke:#ff7f0e}.resume{stroke:#2ca02c}.kill{stroke:#d62728;stroke-width:3}"
	".set{stroke:#9467bd}.tokens{stroke:#bbb;stroke-dasharray:2 3}.threshold{stroke:#e377c2}"
	".map_count{stroke:#8c564b}.note{color:#666}";

static void row(FILE *out, const char *k, const char *v)
{
	fputs("<tr><th>", out);
	report_escape(out, k);
	fputs("</th><td>", out);
	report_escape(out, v);
	fputs("</td></tr>\n", out);
}

static json_object *path(json_object *o, const char *a, const char *b)
{
	json_object *v = NULL;
	if (!o || !json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, b, &v)))
		return NULL;
	return v;
}

static const char *bytes_or(json_object *v, char *buf, size_t size, const char *none)
{
	if (!v || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return none;
	return format_bytes((uint64_t)json_object_get_double(v), buf, size);
}

static void summary_table(FILE *out, const struct report *r)
{
	char a[64], cmd[1024] = "";
	json_object *sum = path(r->exit, "summary", NULL);
	json_object *argv = path(r->start, "command", NULL);
	for (size_t i = 0, o = 0; argv && json_object_is_type(argv, json_type_array) && i < json_object_array_length(argv) && o < sizeof(cmd); i++)
		o += snprintf(cmd + o, sizeof(cmd) - o, "%s%s", i ? " " : "", json_object_get_string(json_object_array_get_idx(argv, i)));
	fputs("<section><h2>Summary</h2><table>\n", out);
	row(out, "command", cmd);
	row(out, "cgroup", get_str(r->start ? r->start : sum, "cgroup") ?: "?");
	row(out, "backend", r->start ? get_str(r->start, "backend") ?: "?" : "?");
	json_object *v = path(r->exit, "exit_status", NULL);
	snprintf(a, sizeof(a), "%s", v ? json_object_get_string(v) : "(no exit event: the run did not end, or supervise was killed)");
	row(out, "exit status", a);
	v = path(r->exit, "wall_seconds", NULL);
	snprintf(a, sizeof(a), "%.1f s", v ? json_object_get_double(v) : r->t_end);
	row(out, "wall time", a);
	row(out, "memory budget", bytes_or(path(sum, "memory", "budget_bytes"), a, sizeof(a), "none"));
	row(out, "enforced by", path(sum, "memory", "enforced_by") ? json_object_get_string(path(sum, "memory", "enforced_by")) : "?");
	row(out, "peak RSS (summed)", bytes_or(path(sum, "memory", "peak_rss_bytes"), a, sizeof(a), "?"));
	v = path(sum, "maps", "peak_map_count");
	snprintf(a, sizeof(a), "%s of vm.max_map_count %s", v ? json_object_get_string(v) : "?",
		 path(sum, "maps", "max_map_count") ? json_object_get_string(path(sum, "maps", "max_map_count")) : "?");
	row(out, "peak map_count", a);
	v = path(sum, "processes", "started");
	row(out, "processes started", v ? json_object_get_string(v) : "?");
	v = path(sum, "jobs", "style");
	if (v && strcmp(json_object_get_string(v), "none")) {
		snprintf(a, sizeof(a), "%s style, tokens %s..%s, %s pause(s), %s re-minted", json_object_get_string(v),
			 json_object_get_string(path(sum, "jobs", "tokens_min")), json_object_get_string(path(sum, "jobs", "tokens_max")),
			 json_object_get_string(path(sum, "jobs", "paused")), json_object_get_string(path(sum, "jobs", "reminted")));
		row(out, "jobserver", a);
	}
	fputs("</table></section>\n", out);
}

static void peak_table(FILE *out, const struct report *r)
{
	json_object *top = path(path(r->exit, "summary", NULL), "top", NULL);
	fputs("<section><h2>Per-process peaks</h2>\n", out);
	if (!top || !json_object_is_type(top, json_type_array) || !json_object_array_length(top)) {
		fputs("<p class=\"note\">No exit event with a process table in this log.</p></section>\n", out);
		return;
	}
	fputs("<table><tr><th>pid</th><th>command</th><th>peak RSS</th><th>peak map_count</th></tr>\n", out);
	for (size_t i = 0; i < json_object_array_length(top); i++) {
		json_object *e = json_object_array_get_idx(top, i);
		char a[32];
		fprintf(out, "<tr><td class=\"n\">%s</td><td>", json_object_get_string(path(e, "pid", NULL)));
		report_escape(out, get_str(e, "comm") ?: "?");
		fprintf(out, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
			bytes_or(path(e, "peak_rss_bytes", NULL), a, sizeof(a), "?"),
			path(e, "peak_map_count", NULL) ? json_object_get_string(path(e, "peak_map_count", NULL)) : "?");
	}
	fputs("</table></section>\n", out);
}

static void events_table(FILE *out, const struct report *r)
{
	fputs("<section><h2>Events</h2>\n", out);
	if (!r->nr_m) {
		fputs("<p class=\"note\">No pauses, resumes, kills, token changes, thresholds or set requests.</p></section>\n", out);
		return;
	}
	fputs("<table><tr><th>time</th><th>event</th></tr>\n", out);
	for (size_t i = 0; i < r->nr_m; i++) {
		fprintf(out, "<tr><td class=\"n\">%.1f s</td><td><span class=\"%s\">", r->m[i].t, r->m[i].kind);
		report_escape(out, r->m[i].text);
		fputs("</span></td></tr>\n", out);
	}
	fputs("</table></section>\n", out);
}

static int by_peak(const void *a, const void *b)
{
	const struct series *x = a, *y = b;
	return x->peak < y->peak ? 1 : x->peak > y->peak ? -1 : 0;
}

int report_render(FILE *f, const char *log_name, FILE *out)
{
	struct report r = { 0 };
	if (parse(&r, f) < 0) {
		json_object_put(r.start);
		json_object_put(r.exit);
		return log_errno(-EBADMSG, "report: %s holds no supervise events (%zu line%s, none parsed); give a file "
					   "written by supervise --log", log_name, r.lines, r.lines == 1 ? "" : "s");
	}
	const char *name = r.start ? get_str(r.start, "name") : NULL;
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width\"><title>supervise report: ", out);
	report_escape(out, name ?: log_name);
	fprintf(out, "</title><style>%s</style></head><body>\n<h1>supervise report: ", css);
	report_escape(out, name ?: "?");
	fputs("</h1>\n<p class=\"note\">From ", out);
	report_escape(out, log_name);
	fprintf(out, ": %zu events, %zu samples over %.1f s", r.lines - r.bad_lines, r.samples, r.t_end);
	if (r.bad_lines)
		fprintf(out, "; %zu line%s could not be read and %s left out", r.bad_lines, r.bad_lines == 1 ? "" : "s",
			r.bad_lines == 1 ? "was" : "were");
	fputs(". Vertical marks: <span class=\"pause\">pause</span>, <span class=\"resume\">resume</span>, "
	      "<span class=\"kill\">kill</span>, <span class=\"set\">set</span>, token changes (grey).</p>\n", out);
	summary_table(out, &r);

	snprintf(r.rss.label, sizeof(r.rss.label), "RSS (summed)");
	r.rss.color = palette[0];
	snprintf(r.budget.label, sizeof(r.budget.label), "budget");
	r.budget.color = palette[1];
	r.budget.dashed = true;
	struct series *mem[] = { &r.rss, &r.budget };
	chart(out, "memory", "Memory against the budget", mem, 2, true, &r);
	snprintf(r.target.label, sizeof(r.target.label), "target");
	r.target.color = palette[3];
	r.target.dashed = true;
	snprintf(r.in_use.label, sizeof(r.in_use.label), "in use");
	r.in_use.color = palette[2];
	if (r.target.n || r.in_use.n) {
		struct series *tok[] = { &r.target, &r.in_use };
		chart(out, "tokens", "Jobserver tokens", tok, 2, false, &r);
	}
	if (r.nr_procs) {
		qsort(r.procs, r.nr_procs, sizeof(*r.procs), by_peak);
		struct series *top[5];
		size_t n = r.nr_procs < 5 ? r.nr_procs : 5;
		for (size_t i = 0; i < n; i++) {
			r.procs[i].color = palette[i % ELEMENTSOF(palette)];
			top[i] = &r.procs[i];
		}
		chart(out, "maps", "map_count of the top processes", top, n, false, &r);
	}
	peak_table(out, &r);
	events_table(out, &r);
	fputs("</body></html>\n", out);

	json_object_put(r.start);
	json_object_put(r.exit);
	for (size_t i = 0; i < r.nr_procs; i++)
		free(r.procs[i].p);
	free(r.procs);
	free(r.rss.p), free(r.budget.p), free(r.target.p), free(r.in_use.p);
	free(r.m);
	return ferror(out) ? -EIO : 0;
}

#define REPORT_MAX_LOG (512 << 20)

int report_command(const struct config *c)
{
	/* The log may come from anyone: a regular file, opened without
	 * following a planted symlink's surprises into a FIFO that blocks. */
	_cleanup_close_ int fd = open(c->report_log, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return log_errno(-errno, "report: cannot open %s: %m", c->report_log), EXIT_SUPERVISE_FAILURE;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return log_errno(-EINVAL, "report: %s is not a regular file; give a file written by --log",
				 c->report_log), EXIT_SUPERVISE_FAILURE;
	/* A log of days of samples is a few tens of MiB; anything far larger is
	 * not one, and would only make the page unusable. */
	if (st.st_size > REPORT_MAX_LOG)
		return log_errno(-EFBIG, "report: %s is %lld MiB, more than a --log file (at most %d MiB is read)",
				 c->report_log, (long long)(st.st_size >> 20), REPORT_MAX_LOG >> 20), EXIT_SUPERVISE_FAILURE;
	_cleanup_fclose_ FILE *in = fdopen(TAKE_FD(fd), "r");
	if (!in)
		return EXIT_SUPERVISE_FAILURE;
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", c->output) >= (int)sizeof(tmp))
		return log_errno(-ENAMETOOLONG, "report: -o %s: path too long", c->output), EXIT_SUPERVISE_FAILURE;
	int ofd = mkostemp(tmp, O_CLOEXEC);
	if (ofd < 0)
		return log_errno(-errno, "report: cannot create %s: %m", tmp), EXIT_SUPERVISE_FAILURE;
	(void)fchmod(ofd, 0644);
	FILE *out = fdopen(ofd, "w");
	int r = out ? report_render(in, c->report_log, out) : -ENOMEM;
	if (out && fclose(out) != 0 && r == 0)
		r = -EIO;
	if (!out)
		close(ofd);
	if (r == 0 && rename(tmp, c->output) < 0)
		r = log_errno(-errno, "report: renaming %s to %s failed: %m", tmp, c->output);
	if (r < 0) {
		unlink(tmp);
		if (r == -EIO)
			log_error("report: writing %s failed", c->output);
		return EXIT_SUPERVISE_FAILURE;
	}
	printf("report: wrote %s\n", c->output);
	return 0;
}
