/* footprints-cmd: see footprints-cmd.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "footprint.h"
#include "footprints-cmd.h"
#include "log.h"
#include "status.h"
#include "util.h"

#define LIST_IDS_MAX 40

/* A table entry's comm or a path may hold any byte but '\0': escape what a
 * terminal could take for a control sequence. */
static const char *esc(const char *s, char *buf, size_t size)
{
	size_t o = 0;
	for (const unsigned char *c = (const unsigned char *)s; *c && o + 5 < size; c++)
		o += (size_t)snprintf(buf + o, size - o, *c > ' ' && *c < 0x7f && *c != '\\' ? "%c" : "\\x%02x", *c);
	buf[o] = '\0';
	return buf;
}

static int cmp_cmd(const void *a, const void *b)
{
	const struct fp_cmd *x = *(const struct fp_cmd *const *)a, *y = *(const struct fp_cmd *const *)b;
	return (x->count < y->count) - (x->count > y->count);
}

static int cmp_id(const void *a, const void *b)
{
	const struct fp_id *x = *(const struct fp_id *const *)a, *y = *(const struct fp_id *const *)b;
	return (x->peak_bytes < y->peak_bytes) - (x->peak_bytes > y->peak_bytes);
}

static void list_table(const char *title, const char *path, const struct footprints *t)
{
	static const struct fp_cmd *cmds[FOOTPRINT_MAX_CMDS];
	static const struct fp_id *ids[FOOTPRINT_MAX_IDS];
	char p[PATH_MAX * 4], a[32], b[32], c[32], name[FOOTPRINT_COMM_LEN * 4];

	printf("%s: %s\n", title, esc(path, p, sizeof(p)));
	if (!t->nr_cmd && !t->nr_ids) {
		printf("  (nothing learned)\n");
		return;
	}
	for (size_t i = 0; i < t->nr_cmd; i++)
		cmds[i] = &t->cmd[i];
	qsort(cmds, t->nr_cmd, sizeof(cmds[0]), cmp_cmd);
	printf("  %-16s %7s %10s %10s %10s\n", "COMMAND", "PEAKS", "MEAN", "P90", "MAX");
	for (size_t i = 0; i < t->nr_cmd; i++)
		printf("  %-16s %7" PRIu32 " %10s %10s %10s\n", esc(cmds[i]->comm, name, sizeof(name)), cmds[i]->count,
		       format_bytes(cmds[i]->mean_bytes, a, sizeof(a)),
		       format_bytes(footprint_percentile(cmds[i], FOOTPRINT_PERCENTILE), b, sizeof(b)),
		       format_bytes(cmds[i]->max_bytes, c, sizeof(c)));
	if (!t->nr_ids)
		return;
	for (size_t i = 0; i < t->nr_ids; i++)
		ids[i] = &t->ids[i];
	qsort(ids, t->nr_ids, sizeof(ids[0]), cmp_id);
	printf("  %-16s %-16s %10s %8s %6s   (%zu jobs, largest first)\n", "JOB", "COMMAND", "PEAK", "RAMP", "RUNS",
	       t->nr_ids);
	for (size_t i = 0; i < t->nr_ids && i < LIST_IDS_MAX; i++)
		printf("  %016" PRIx64 " %-16s %10s %7.1fs %6" PRIu32 "\n", ids[i]->id, esc(ids[i]->comm, name, sizeof(name)),
		       format_bytes(ids[i]->peak_bytes, a, sizeof(a)), ids[i]->ramp_ms / 1000.0, ids[i]->count);
	if (t->nr_ids > LIST_IDS_MAX)
		printf("  ... %zu more\n", t->nr_ids - LIST_IDS_MAX);
}

int footprints_command(const struct config *c)
{
	char project[PATH_MAX], global[PATH_MAX], cwd[PATH_MAX], e[PATH_MAX * 4];
	int r;

	if ((r = footprint_project_path(project, sizeof(project))) < 0 ||
	    (r = footprint_global_path(global, sizeof(global))) < 0) {
		log_errno(r, "footprints: no cache directory is known (%m): set SUPERVISE_CACHE_DIR, "
			     "XDG_CACHE_HOME or HOME, or pass --footprints FILE");
		return EXIT_SUPERVISE_FAILURE;
	}
	bool one = streq(project, global);

	if (c->clear) {
		if (footprint_remove(project) < 0 || (c->global && !one && footprint_remove(global) < 0))
			return EXIT_SUPERVISE_FAILURE;
		printf("footprints: cleared %s\n", esc(project, e, sizeof(e)));
		if (c->global && !one)
			printf("footprints: cleared %s\n", esc(global, e, sizeof(e)));
		return 0;
	}

	static struct footprints t;
	char title[PATH_MAX * 4 + 64];
	if (c->footprints)
		snprintf(title, sizeof(title), "project table (--footprints)");
	else
		snprintf(title, sizeof(title), "project table (working directory %s)",
			 getcwd(cwd, sizeof(cwd)) ? esc(cwd, e, sizeof(e)) : "?");
	if (footprint_load(&t, project) < 0)
		return EXIT_SUPERVISE_FAILURE;
	list_table(title, project, &t);
	if (one)
		return 0;
	if (footprint_load(&t, global) < 0)
		return EXIT_SUPERVISE_FAILURE;
	printf("\n");
	list_table("global table (commands of every project)", global, &t);
	return 0;
}
