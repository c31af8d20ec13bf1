#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonutil.h"
#include "log.h"
#include "rundir.h"
#include "summary.h"
#include "util.h"

#define SUMMARY_TOP 10

static json_object *u64_or_null(bool has, uint64_t v)
{
	return has ? json_object_new_uint64(v) : NULL;
}

static void print_sandbox(const struct sandbox_report *sb, FILE *f)
{
	char comm[ESCAPED_SIZE(sizeof(sb->denied[0].comm))];
	if (!sb->active)
		return;
	fprintf(f, "supervise:   sandbox: %s%s%s, caps %s%s%s\n", sb->filter ? "filter " : "no syscall filter",
		sb->filter ? sb->filter : "", sb->filter ? "" : "", sb->caps, sb->user ? ", user " : "",
		sb->user ? sb->user : "");
	if (!sb->filter)
		return;
	if (!sb->reported) {
		fprintf(f, "supervise:   sandbox: denied calls are not counted on this kernel\n");
		return;
	}
	if (!sb->nr_denied) {
		fprintf(f, "supervise:   sandbox: nothing denied\n");
		return;
	}
	fprintf(f, "supervise:   sandbox: %s:", streq(sb->action, "log") ? "would deny (log)" : "denied");
	for (size_t i = 0; i < sb->nr_denied; i++) {
		const struct sandbox_denied *d = &sb->denied[i];
		fprintf(f, "%s %s%s%s%s \u00d7%" PRIu64 " by %s (pid %d)", i ? "," : "", d->syscall,
			streq(d->arch, "x86_64") ? "" : " (", streq(d->arch, "x86_64") ? "" : d->arch,
			streq(d->arch, "x86_64") ? "" : ")", d->count, escape_text(d->comm, comm, sizeof(comm)), d->pid);
	}
	if (sb->denied_other)
		fprintf(f, ", %" PRIu64 " more", sb->denied_other);
	fputc('\n', f);
}

void summary_print(const struct run_summary *s, FILE *f)
{
	const struct reading *r = s->final;
	char a[32], b[32];
	/* The run's name comes from the command's basename, comm from the
	 * workload: both escaped on their way to a terminal. */
	char name[ESCAPED_SIZE(RUN_NAME_MAX + 1)], comm[ESCAPED_SIZE(sizeof(r->peak_map_comm))];

	if (!r)
		return;
	/* procfs samples every 100 ms: a process that lived less may be missed. */
	bool sampled = s->backend && streq(s->backend, "procfs");
	fprintf(f, "supervise: %s: exit %d%s%s%s after %.2f s, %s%u process%s (at most %u at once), backend %s\n",
		escape_text(s->name, name, sizeof(name)), s->exit_status, s->killed_by ? " (killed by " : "",
		s->killed_by ? s->killed_by : "", s->killed_by ? ")" : "", s->wall_seconds, sampled ? "at least " : "",
		r->procs_started, r->procs_started == 1 ? "" : "es", r->peak_concurrent, s->backend ? s->backend : "-");
	if (s->has_budget)
		fprintf(f, "supervise:   memory: peak %s summed RSS of budget %s (%.0f%%, enforced by %s)%s\n",
			format_bytes(r->peak_rss_bytes, a, sizeof(a)), format_bytes(s->budget_bytes, b, sizeof(b)),
			100.0 * r->peak_rss_bytes / s->budget_bytes, s->enforced_by,
			s->oom_kills ? ", OOM kills!" : "");
	else
		fprintf(f, "supervise:   memory: peak %s summed RSS (no budget)\n",
			format_bytes(r->peak_rss_bytes, a, sizeof(a)));
	if (s->has_cgroup_peak)
		fprintf(f, "supervise:   cgroup: memory.peak %s\n", format_bytes(s->peak_cgroup_bytes, a, sizeof(a)));
	if (r->peak_map_pid)
		fprintf(f, "supervise:   maps: peak %u of vm.max_map_count %" PRIu64 " (%.1f%%), held by %s (pid %u)\n",
			r->peak_map_count, s->max_map_count,
			s->max_map_count ? 100.0 * r->peak_map_count / s->max_map_count : 0.0,
			escape_text(r->peak_map_comm, comm, sizeof(comm)),
			r->peak_map_pid);
	if (s->jobs.style && strcmp(s->jobs.style, "none")) {
		fprintf(f, "supervise:   jobs: %s jobserver, target %u to %u, at most %u job%s at once, %u pause%s, "
			"%u token%s re-minted\n",
			s->jobs.style, s->jobs.tokens_min, s->jobs.tokens_max, s->jobs.peak_concurrent,
			s->jobs.peak_concurrent == 1 ? "" : "s", s->jobs.paused, s->jobs.paused == 1 ? "" : "s",
			s->jobs.reminted, s->jobs.reminted == 1 ? "" : "s");
		if (s->jobs.progress_resumes)
			fprintf(f, "supervise:   jobs: %u paused job%s resumed by the progress rule (the workload had "
				"stalled waiting for %s)\n",
				s->jobs.progress_resumes, s->jobs.progress_resumes == 1 ? "" : "s",
				s->jobs.progress_resumes == 1 ? "it" : "them");
	}
	size_t n = r->nr_proc_readings < 5 ? r->nr_proc_readings : 5;
	if (n) {
		fprintf(f, "supervise:   heaviest:");
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s %s %s (pid %u)", i ? "," : "", escape_text(r->procs[i].comm, comm, sizeof(comm)),
				format_bytes(r->procs[i].peak_rss_bytes, a, sizeof(a)), r->procs[i].pid);
		fputc('\n', f);
	}
	print_sandbox(&s->sandbox, f);
}

static json_object *sandbox_json(const struct sandbox_report *sb)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "filter", sb->filter ? json_object_new_string(sb->filter) : NULL);
	json_object_object_add(o, "action", sb->action ? json_object_new_string(sb->action) : NULL);
	json_object_object_add(o, "caps", json_object_new_string(sb->caps ? sb->caps : "inherited"));
	json_object_object_add(o, "user", sb->user ? json_object_new_string(sb->user) : NULL);
	json_object_object_add(o, "reported", json_object_new_boolean(sb->reported));
	json_object *denied = json_object_new_array();
	for (size_t i = 0; i < sb->nr_denied; i++) {
		const struct sandbox_denied *d = &sb->denied[i];
		json_object *e = json_object_new_object();
		json_object_object_add(e, "syscall", json_object_new_string(d->syscall));
		json_object_object_add(e, "arch", json_object_new_string(d->arch));
		json_object_object_add(e, "count", json_object_new_uint64(d->count));
		json_object_object_add(e, "pid", json_object_new_int(d->pid));
		json_object_object_add(e, "comm", json_object_new_string(d->comm));
		json_object_array_add(denied, e);
	}
	json_object_object_add(o, "denied", denied);
	json_object_object_add(o, "denied_other", json_object_new_uint64(sb->denied_other));
	return o;
}

char *summary_json(const struct run_summary *s)
{
	const struct reading *f = s->final;
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "name", json_object_new_string(s->name ? s->name : ""));
	json_object *cmd = json_object_new_array();
	for (char *const *a = s->command; a && *a; a++)
		json_object_array_add(cmd, json_object_new_string(*a));
	json_object_object_add(o, "command", cmd);
	json_object_object_add(o, "cgroup", s->cgroup ? json_object_new_string(s->cgroup) : NULL);
	json_object_object_add(o, "backend", s->backend ? json_object_new_string(s->backend) : NULL);
	json_object_object_add(o, "exit_status", json_object_new_int(s->exit_status));
	/* Who ended it: 137 alone cannot tell an OOM kill from ours or anyone's. */
	json_object *ex = json_object_new_object();
	json_object_object_add(ex, "killed_by", s->killed_by ? json_object_new_string(s->killed_by) : NULL);
	json_object_object_add(o, "exit", ex);
	/* Millisecond precision: json-c's default prints 17 digits of binary noise. */
	char wall[32];
	snprintf(wall, sizeof(wall), "%.3f", s->wall_seconds);
	json_object_object_add(o, "wall_seconds", json_object_new_double_s(s->wall_seconds, wall));

	json_object *mem = json_object_new_object();
	json_object_object_add(mem, "budget_bytes", u64_or_null(s->has_budget, s->budget_bytes));
	json_object_object_add(mem, "budget_source",
			       s->has_budget && s->budget_source ? json_object_new_string(s->budget_source) : NULL);
	json_object_object_add(mem, "enforced_by", json_object_new_string(s->enforced_by ? s->enforced_by : "none"));
	json_object_object_add(mem, "peak_rss_bytes", u64_or_null(f, f ? f->peak_rss_bytes : 0));
	json_object_object_add(mem, "peak_cgroup_bytes", u64_or_null(s->has_cgroup_peak, s->peak_cgroup_bytes));
	json_object_object_add(mem, "oom_kills", json_object_new_uint64(s->oom_kills));
	/* The largest correction the bpf sweep made to the summed RSS (expected 0). */
	json_object_object_add(mem, "max_sum_correction_bytes", u64_or_null(f, f ? f->sum_max_correction_bytes : 0));
	json_object_object_add(o, "memory", mem);

	json_object *maps = json_object_new_object();
	json_object_object_add(maps, "max_map_count", json_object_new_uint64(s->max_map_count));
	json_object_object_add(maps, "peak_map_count", u64_or_null(f, f ? f->peak_map_count : 0));
	json_object_object_add(maps, "peak_pid", f && f->peak_map_pid ? json_object_new_int(f->peak_map_pid) : NULL);
	json_object_object_add(maps, "peak_comm",
			       f && f->peak_map_pid ? json_object_new_string(f->peak_map_comm) : NULL);
	json_object_object_add(o, "maps", maps);

	json_object *procs = json_object_new_object();
	json_object_object_add(procs, "started", u64_or_null(f, f ? f->procs_started : 0));
	/* The procfs backend samples: its count is a lower bound. */
	json_object_object_add(procs, "started_exact",
			       f ? json_object_new_boolean(!(s->backend && streq(s->backend, "procfs"))) : NULL);
	json_object_object_add(procs, "peak_concurrent", u64_or_null(f, f ? f->peak_concurrent : 0));
	json_object_object_add(o, "processes", procs);

	/* Without --jobs no tokens were handed out: style "none", zeros. */
	json_object *jobs = json_object_new_object();
	json_object_object_add(jobs, "style", json_object_new_string(s->jobs.style ? s->jobs.style : "none"));
	json_object_object_add(jobs, "tokens_min", json_object_new_int(s->jobs.tokens_min));
	json_object_object_add(jobs, "tokens_max", json_object_new_int(s->jobs.tokens_max));
	json_object_object_add(jobs, "paused", json_object_new_int(s->jobs.paused));
	json_object_object_add(jobs, "reminted", json_object_new_int(s->jobs.reminted));
	json_object_object_add(jobs, "peak_concurrent", json_object_new_int(s->jobs.peak_concurrent));
	json_object_object_add(jobs, "progress_resumes", json_object_new_int(s->jobs.progress_resumes));
	json_object_object_add(o, "jobs", jobs);

	json_object *top = json_object_new_array();
	for (size_t i = 0; f && i < f->nr_proc_readings && i < SUMMARY_TOP; i++) {
		const struct proc_reading *p = &f->procs[i];
		json_object *e = json_object_new_object();
		json_object_object_add(e, "pid", json_object_new_int(p->pid));
		json_object_object_add(e, "comm", json_object_new_string(p->comm));
		json_object_object_add(e, "peak_rss_bytes", json_object_new_uint64(p->peak_rss_bytes));
		json_object_object_add(e, "peak_map_count", json_object_new_uint64(p->peak_map_count));
		json_object_array_add(top, e);
	}
	json_object_object_add(o, "top", top);
	json_object_object_add(o, "sandbox", sandbox_json(&s->sandbox));

	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	return text ? strdup(text) : NULL;
}

/* The path check at start failed and said so: the end says nothing more. */
static const char *bad_path;

int summary_check_path(const char *path)
{
	char buf[PATH_MAX];
	struct stat st;
	int r = 0;

	if (!path)
		return 0;
	/* Room for write_file_atomic's ".tmp.XXXXXX". */
	if ((size_t)snprintf(buf, sizeof(buf), "%s.tmp.XXXXXX", path) >= sizeof(buf)) {
		r = log_errno(-ENAMETOOLONG, "summary: --summary-json: the path is longer than %d characters; "
					     "give a shorter one", PATH_MAX - 12);
	} else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		r = log_errno(-EISDIR, "summary: --summary-json %s is a directory; give the path of a file in it", path);
	} else {
		snprintf(buf, sizeof(buf), "%s", path);
		const char *dir = dirname(buf);
		if (access(dir, W_OK) < 0)
			r = log_errno(-errno, "summary: cannot write --summary-json %s: directory %s: %m", path, dir);
	}
	if (r < 0)
		bad_path = path;
	return r;
}

int summary_write(const struct run_summary *s, const char *path)
{
	if (bad_path && streq(bad_path, path))
		return -EINVAL;
	_cleanup_free_ char *text = summary_json(s);
	if (!text)
		return log_errno(-ENOMEM, "summary: building the JSON failed");
	size_t len = strlen(text);
	text[len] = '\n';   /* strdup's NUL becomes the newline: written by length */
	/* The file's mode as a plain open would make it: 0666 less the umask. */
	mode_t um = umask(0);
	umask(um);
	int r = write_file_atomic(path, text, len + 1, 0666 & ~um);
	text[len] = '\0';
	if (r < 0)
		return log_errno(r, "summary: writing --summary-json %s failed: %m", path);
	return 0;
}
