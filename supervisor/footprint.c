/* footprint: see footprint.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "footprint.h"
#include "log.h"
#include "util.h"

static struct footprint *find(const struct footprints *t, const char *comm)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strncmp(t->e[i].comm, comm, FOOTPRINT_COMM_LEN - 1))
			return (struct footprint *)&t->e[i];
	return NULL;
}

static bool comm_ok(const char *comm)
{
	/* A leading # would be saved as a comment line and lost on the next load. */
	if (!comm || !*comm || *comm == '#')
		return false;
	for (const char *c = comm; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

void footprint_learn(struct footprints *t, const char *comm, uint64_t peak)
{
	if (!comm_ok(comm) || !peak)
		return;
	struct footprint *f = find(t, comm);
	if (!f) {
		size_t i = t->n;
		if (i == FOOTPRINT_MAX) {
			/* Full: replace the entry seen least often. */
			i = 0;
			for (size_t k = 1; k < t->n; k++)
				if (t->e[k].count < t->e[i].count)
					i = k;
		} else {
			t->n++;
		}
		f = &t->e[i];
		memset(f, 0, sizeof(*f));
		snprintf(f->comm, sizeof(f->comm), "%s", comm);
		f->ewma_bytes = f->max_bytes = peak;
		f->count = 1;
		t->dirty = true;
		return;
	}
	/* A running mean over about the last 64 peaks: the first ones count
	 * fully (a plain mean), later ones with weight 1/64, so heavy jobs
	 * that happen to finish last do not pull the average job up by much
	 * more than their share. */
	uint32_t w = f->count + 1 < 64 ? f->count + 1 : 64;
	f->ewma_bytes = peak >= f->ewma_bytes ? f->ewma_bytes + (peak - f->ewma_bytes) / w
					      : f->ewma_bytes - (f->ewma_bytes - peak) / w;
	/* The largest peak fades toward the average, so one freak run does not
	 * size every later build; a new larger peak takes over at once. */
	f->max_bytes = peak > f->max_bytes ? peak : f->max_bytes - (f->max_bytes - f->ewma_bytes) / 8;
	if (f->count < UINT32_MAX)
		f->count++;
	t->dirty = true;
}

uint64_t footprint_expected(const struct footprints *t, const char *comm)
{
	const struct footprint *f = comm ? find(t, comm) : NULL;
	if (!f)
		return 0;
	return f->ewma_bytes / 2 + f->max_bytes / 2;
}

void footprint_parse(struct footprints *t, const char *text)
{
	memset(t, 0, sizeof(*t));
	for (const char *l = text; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		char line[256], comm[FOOTPRINT_COMM_LEN + 1];
		uint64_t ewma, max;
		uint32_t count;
		if (len < sizeof(line) && l[0] != '#') {
			memcpy(line, l, len);
			line[len] = '\0';
			if (sscanf(line, "%16s %" SCNu64 " %" SCNu64 " %" SCNu32, comm, &ewma, &max, &count) == 4 &&
			    strlen(comm) < FOOTPRINT_COMM_LEN && comm_ok(comm) && ewma && max >= ewma &&
			    !find(t, comm) && t->n < FOOTPRINT_MAX) {
				struct footprint *f = &t->e[t->n++];
				snprintf(f->comm, sizeof(f->comm), "%s", comm);
				f->ewma_bytes = ewma, f->max_bytes = max, f->count = count;
			}
		}
		l = nl ? nl + 1 : NULL;
	}
}

int footprint_format(const struct footprints *t, char *buf, size_t size)
{
	size_t o = 0;
	int n = snprintf(buf, size, "# supervise footprints: comm ewma_bytes max_bytes count\n");
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	o = n;
	for (size_t i = 0; i < t->n; i++) {
		const struct footprint *f = &t->e[i];
		n = snprintf(buf + o, size - o, "%s %" PRIu64 " %" PRIu64 " %" PRIu32 "\n", f->comm, f->ewma_bytes,
			     f->max_bytes, f->count);
		if (n < 0 || (size_t)n >= size - o)
			return -ENOSPC;
		o += n;
	}
	return (int)o;
}

int footprint_path(char *buf, size_t size)
{
	const char *e = getenv("SUPERVISE_CACHE_DIR");
	if (e && *e)
		snprintf(buf, size, "%s/footprints", e);
	else if (geteuid() == 0)
		snprintf(buf, size, "/var/cache/supervise/footprints");
	else if ((e = getenv("XDG_CACHE_HOME")) && *e)
		snprintf(buf, size, "%s/supervise/footprints", e);
	else if ((e = getenv("HOME")) && *e)
		snprintf(buf, size, "%s/.cache/supervise/footprints", e);
	else
		return -ENOENT;
	return 0;
}

int footprint_load(struct footprints *t)
{
	char path[PATH_MAX];
	static char text[FOOTPRINT_MAX * 80 + 128];
	memset(t, 0, sizeof(*t));
	if (footprint_path(path, sizeof(path)) < 0)
		return 0;
	int n = read_file_at(AT_FDCWD, path, text, sizeof(text));
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return log_errno(n, "footprint: reading %s failed: %m; starting from --job-mem", path);
	footprint_parse(t, text);
	log_debug("footprint: %zu learned footprints from %s", t->n, path);
	return 0;
}

static int mkdir_parents(char *path)
{
	for (char *s = path + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		int r = mkdir(path, 0755);
		*s = '/';
		if (r < 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

int footprint_save(const struct footprints *t)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	static char text[FOOTPRINT_MAX * 80 + 128];
	if (!t->dirty || footprint_path(path, sizeof(path)) < 0)
		return 0;
	int n = footprint_format(t, text, sizeof(text));
	if (n < 0)
		return log_errno(n, "footprint: the table does not fit its buffer");
	if (mkdir_parents(path) < 0)
		return log_errno(-errno, "footprint: creating the directory of %s failed: %m", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return log_errno(-errno, "footprint: cannot write %s: %m", tmp);
	if (write(fd, text, n) != n) {
		int r = -errno;
		unlink(tmp);
		return log_errno(r ? r : -EIO, "footprint: writing %s failed: %m", tmp);
	}
	/* rename: a concurrent supervise reads either the old or the new table. */
	if (rename(tmp, path) < 0) {
		int r = -errno;
		unlink(tmp);
		return log_errno(r, "footprint: renaming %s failed: %m", tmp);
	}
	return 0;
}
