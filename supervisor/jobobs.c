/* jobobs: see jobobs.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "jobobs.h"
#include "log.h"
#include "util.h"

int tokens_format(const struct tokens_state *t, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%u %u %u %u\n", t->target, t->available, t->in_use, t->paused);
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

int tokens_parse(const char *text, struct tokens_state *ret)
{
	struct tokens_state t;
	char end;
	/* Exactly four numbers on one line: anything else is not ours. */
	if (sscanf(text, "%u %u %u %u%c", &t.target, &t.available, &t.in_use, &t.paused, &end) != 5 || end != '\n')
		return -EINVAL;
	*ret = t;
	return 0;
}

int tokens_read(const char *dir, struct tokens_state *ret)
{
	char path[PATH_MAX], buf[128];
	snprintf(path, sizeof(path), "%s/" TOKENS_FILE, dir);
	ssize_t n = read_file_at(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return tokens_parse(buf, ret);
}

void jobobs_open(struct jobobs *o, const char *run_dir, bool status_line)
{
	*o = (struct jobobs){ .status_line = status_line };
	snprintf(o->run_dir, sizeof(o->run_dir), "%s", run_dir);
	const char *dl = getenv("SUPERVISE_DECISION_LOG");
	if (dl && *dl)
		o->decision_log = fopen(dl, "ae");
}

void jobobs_tokens(struct jobobs *o, const struct tokens_state *t)
{
	char line[64], path[PATH_MAX + 16];
	if (tokens_format(t, line, sizeof(line)) < 0 || streq(line, o->tokens_line))
		return;
	snprintf(o->tokens_line, sizeof(o->tokens_line), "%s", line);
	snprintf(path, sizeof(path), "%s/" TOKENS_FILE, o->run_dir);
	/* A fresh temp name and rename (util.c): never through a planted link. */
	int r = write_file_atomic(path, line, strlen(line), 0644);
	if (r < 0)
		log_debug("jobserver: updating %s failed: %s", path, strerror(-r));
}

/* Carriage return, no newline: the workload's next line overwrites it. */
void jobobs_status(struct jobobs *o, uint64_t now, size_t jobs, unsigned target, uint64_t rss, uint64_t budget,
		   unsigned paused)
{
	if (!o->status_line || now - o->status_ns < 250000000ull)
		return;
	o->status_ns = now;
	char a[32], b[32];
	if (budget)
		fprintf(stderr, "\rsupervise: jobs %zu/%u, memory %s of %s, %u paused\033[K\r", jobs, target,
			format_bytes(rss, a, sizeof(a)), format_bytes(budget, b, sizeof(b)), paused);
	else
		fprintf(stderr, "\rsupervise: jobs %zu/%u, memory %s\033[K\r", jobs, target,
			format_bytes(rss, a, sizeof(a)));
	o->status_shown = true;
}

void jobobs_status_end(struct jobobs *o)
{
	if (o->status_shown)
		fputs("\r\033[K", stderr);
	o->status_shown = false;
}

void jobobs_decision(struct jobobs *o, unsigned target, int action, uint64_t rss, uint64_t alert_ns)
{
	if (!o->decision_log)
		return;
	uint64_t applied = now_ns();
	fprintf(o->decision_log, "%" PRIu64 " target=%u action=%d rss=%" PRIu64 " alert_latency_ns=%" PRId64 "\n",
		applied, target, action, rss, alert_ns ? (int64_t)(applied - alert_ns) : (int64_t)-1);
}

void jobobs_close(struct jobobs *o)
{
	jobobs_status_end(o);
	if (o->decision_log)
		fclose(o->decision_log);
	o->decision_log = NULL;
}
