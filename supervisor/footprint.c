/* footprint: see footprint.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "footprint.h"
#include "log.h"
#include "util.h"

#define MIB (1ull << 20)
#define FP_MIN_BYTES (4 * MIB)          /* lower edge of bucket 1 */
#define FP_FILE_MAX (1u << 20)          /* a table file larger than this is refused */

static bool comm_ok(const char *comm)
{
	/* '=' starts an identity line in the file, '#' a comment. */
	if (!comm || !*comm || *comm == '=' || *comm == '#' || strlen(comm) >= FOOTPRINT_COMM_LEN)
		return false;
	for (const char *c = comm; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

static uint64_t clamp_bytes(uint64_t b)
{
	return b < FOOTPRINT_MAX_BYTES ? b : FOOTPRINT_MAX_BYTES;
}

/* Bucket i holds peaks in [4 MiB * 2^((i-1)/8), 4 MiB * 2^(i/8)); bucket 0
 * everything below 4 MiB; the last one everything above. */
static unsigned bucket_of(uint64_t bytes)
{
	if (bytes < FP_MIN_BYTES)
		return 0;
	unsigned b = 1 + (unsigned)floor(8.0 * log2((double)bytes / (double)FP_MIN_BYTES));
	return b < FOOTPRINT_BUCKETS ? b : FOOTPRINT_BUCKETS - 1;
}

static uint64_t bucket_top(unsigned b)
{
	return (uint64_t)ceil((double)FP_MIN_BYTES * exp2((double)b / 8.0));
}

const struct fp_cmd *footprint_find_cmd(const struct footprints *t, const char *comm)
{
	for (size_t i = 0; comm && i < t->nr_cmd; i++)
		if (!strncmp(t->cmd[i].comm, comm, FOOTPRINT_COMM_LEN - 1))
			return &t->cmd[i];
	return NULL;
}

const struct fp_id *footprint_find_id(const struct footprints *t, uint64_t id)
{
	for (size_t i = 0; id && i < t->nr_ids; i++)
		if (t->ids[i].id == id)
			return &t->ids[i];
	return NULL;
}

static void hist_add(struct fp_cmd *c, uint64_t peak, uint32_t n)
{
	/* Older peaks fade: past the cap every bucket halves, so the table
	 * follows a build that changed without forgetting its shape. */
	if (c->count + n > FOOTPRINT_HIST_CAP) {
		c->count = 0;
		for (unsigned b = 0; b < FOOTPRINT_BUCKETS; b++)
			c->count += c->hist[b] /= 2;
	}
	c->hist[bucket_of(peak)] += (uint16_t)n;
	c->count += n;
}

static struct fp_cmd *cmd_slot(struct footprints *t, const char *comm)
{
	struct fp_cmd *c = (struct fp_cmd *)footprint_find_cmd(t, comm);
	if (c)
		return c;
	size_t i = t->nr_cmd;
	if (i == FOOTPRINT_MAX_CMDS) {
		/* Full: replace the command seen least often. */
		i = 0;
		for (size_t k = 1; k < t->nr_cmd; k++)
			if (t->cmd[k].count < t->cmd[i].count)
				i = k;
	} else {
		t->nr_cmd++;
	}
	c = &t->cmd[i];
	memset(c, 0, sizeof(*c));
	snprintf(c->comm, sizeof(c->comm), "%s", comm);
	return c;
}

void footprint_learn(struct footprints *t, const char *comm, uint64_t peak)
{
	if (!comm_ok(comm) || !peak)
		return;
	peak = clamp_bytes(peak);
	struct fp_cmd *c = cmd_slot(t, comm);
	/* A running mean over about the last 64 peaks (all values <= 2^40: no
	 * overflow in the differences). */
	uint32_t w = c->count < 63 ? c->count + 1 : 64;
	c->mean_bytes = peak >= c->mean_bytes ? c->mean_bytes + (peak - c->mean_bytes) / w
					      : c->mean_bytes - (c->mean_bytes - peak) / w;
	if (peak > c->max_bytes)
		c->max_bytes = peak;
	hist_add(c, peak, 1);
	t->dirty = true;
}

void footprint_learn_id(struct footprints *t, uint64_t id, const char *comm, uint64_t peak, uint32_t ramp_ms,
			uint32_t dur_ms)
{
	if (!id || !peak)
		return;
	peak = clamp_bytes(peak);
	struct fp_id *f = (struct fp_id *)footprint_find_id(t, id);
	if (!f) {
		size_t i = t->nr_ids;
		if (i == FOOTPRINT_MAX_IDS) {
			i = 0;
			for (size_t k = 1; k < t->nr_ids; k++)
				if (t->ids[k].count < t->ids[i].count)
					i = k;
		} else {
			t->nr_ids++;
		}
		f = &t->ids[i];
		*f = (struct fp_id){ .id = id, .peak_bytes = peak, .ramp_ms = ramp_ms, .dur_ms = dur_ms, .count = 1 };
	} else {
		/* Up at once; down by a quarter of the way a run: one small run
		 * (a no-op rebuild) does not undersize the next real one. */
		f->peak_bytes = peak >= f->peak_bytes ? peak : f->peak_bytes - (f->peak_bytes - peak) / 4;
		f->ramp_ms = ramp_ms;
		f->dur_ms = dur_ms;
		if (f->count < UINT32_MAX)
			f->count++;
	}
	snprintf(f->comm, sizeof(f->comm), "%s", comm_ok(comm) ? comm : "?");
	t->dirty = true;
}

uint64_t footprint_percentile(const struct fp_cmd *c, unsigned pct)
{
	if (!c || !c->count)
		return 0;
	/* The smallest bucket holding at least pct % of the peaks (rounded up). */
	uint64_t need = ((uint64_t)c->count * pct + 99) / 100, seen = 0;
	for (unsigned b = 0; b < FOOTPRINT_BUCKETS; b++) {
		seen += c->hist[b];
		if (seen >= need && seen) {
			uint64_t top = b + 1 < FOOTPRINT_BUCKETS ? bucket_top(b) : c->max_bytes;
			return top < c->max_bytes ? top : c->max_bytes;
		}
	}
	return c->max_bytes;
}

#define FP_GAP_BUCKETS 4   /* half an octave without a peak separates two modes */

uint64_t footprint_mode_top(const struct fp_cmd *c, uint64_t rss)
{
	if (!c || !c->count)
		return 0;
	unsigned b = bucket_of(rss), last = FOOTPRINT_BUCKETS, empty = 0;
	/* Just past a mode's top (the table has seen only some of its jobs
	 * yet): still that mode, not the next one up. */
	if (b > 0 && b < FOOTPRINT_BUCKETS && !c->hist[b] && c->hist[b - 1])
		b--;
	for (; b < FOOTPRINT_BUCKETS; b++) {
		if (c->hist[b]) {
			last = b, empty = 0;
		} else if (last < FOOTPRINT_BUCKETS && ++empty >= FP_GAP_BUCKETS) {
			break;
		}
	}
	if (last == FOOTPRINT_BUCKETS)
		return 0;
	uint64_t top = last + 1 < FOOTPRINT_BUCKETS ? bucket_top(last) : c->max_bytes;
	return top < c->max_bytes ? top : c->max_bytes;
}

uint64_t footprint_expected(const struct footprints *t, const char *comm)
{
	const struct fp_cmd *c = footprint_find_cmd(t, comm);
	if (!c || !c->count)
		return 0;
	return c->count < 3 ? c->max_bytes : footprint_percentile(c, FOOTPRINT_PERCENTILE);
}

uint64_t footprint_mean(const struct footprints *t, const char *comm)
{
	const struct fp_cmd *c = footprint_find_cmd(t, comm);
	return c ? c->mean_bytes : 0;
}

uint64_t footprint_identity(const char *cmdline, size_t len, const char *cwd)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)cmdline[i]) * 0x100000001b3ull;
	h = (h ^ 0xff) * 0x100000001b3ull;   /* a separator no argv byte equals after a NUL */
	for (const char *c = cwd ? cwd : ""; *c; c++)
		h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
	return h ? h : 1;
}

void footprint_estimate(const struct footprints *project, const struct footprints *global, uint64_t id,
			const char *comm, struct fp_estimate *ret)
{
	*ret = (struct fp_estimate){ .source = FP_NONE };
	const struct fp_id *f = project ? footprint_find_id(project, id) : NULL;
	if (f) {
		*ret = (struct fp_estimate){ .bytes = f->peak_bytes, .ramp_ms = f->ramp_ms, .dur_ms = f->dur_ms,
					     .source = FP_IDENTITY };
		return;
	}
	const struct fp_cmd *c = project ? footprint_find_cmd(project, comm) : NULL;
	if (c && c->count >= 3) {
		ret->bytes = footprint_expected(project, comm);
		ret->source = FP_COMMAND;
		return;
	}
	uint64_t g = global ? footprint_expected(global, comm) : 0;
	uint64_t p = c ? footprint_expected(project, comm) : 0;
	if (g || p) {
		/* Few peaks in the project: the larger of what either table says. */
		ret->bytes = g > p ? g : p;
		ret->source = g > p ? FP_GLOBAL_COMMAND : FP_COMMAND;
	}
}

_Static_assert(FOOTPRINT_PERCENTILE == 90, "footprint_source_name says p90");

const char *footprint_source_name(enum fp_source s)
{
	switch (s) {
	case FP_IDENTITY:
		return "this job's last run";
	case FP_COMMAND:
		return "its command's p90";
	case FP_GLOBAL_COMMAND:
		return "its command's p90 (global table)";
	case FP_NONE:
		break;
	}
	return "nothing learned: the default";
}

/* "COMM MEAN MAX COUNT [B:N]..." (a line of the first format has no buckets:
 * its mean and max seed the histogram). */
static void parse_cmd(struct footprints *t, char *line)
{
	char comm[FOOTPRINT_COMM_LEN + 1];
	uint64_t mean, max;
	uint32_t count;
	int off = 0;
	if (sscanf(line, "%16s %" SCNu64 " %" SCNu64 " %" SCNu32 "%n", comm, &mean, &max, &count, &off) != 4 ||
	    !comm_ok(comm) || !mean || max < mean || footprint_find_cmd(t, comm) || t->nr_cmd == FOOTPRINT_MAX_CMDS)
		return;
	struct fp_cmd *c = &t->cmd[t->nr_cmd];
	memset(c, 0, sizeof(*c));
	snprintf(c->comm, sizeof(c->comm), "%s", comm);
	c->mean_bytes = clamp_bytes(mean);
	c->max_bytes = clamp_bytes(max);
	unsigned b, n;
	int used;
	for (char *s = line + off; sscanf(s, " %u:%u%n", &b, &n, &used) == 2; s += used) {
		if (b >= FOOTPRINT_BUCKETS || !n)
			return;   /* damaged: drop the whole line */
		n = n < FOOTPRINT_HIST_CAP ? n : FOOTPRINT_HIST_CAP;
		if (c->count + n > FOOTPRINT_HIST_CAP)
			break;
		c->hist[b] += (uint16_t)n;
		c->count += n;
	}
	if (!c->count) {
		hist_add(c, c->mean_bytes, 1);
		hist_add(c, c->max_bytes, 1);
	}
	(void)count;   /* the histogram's own sum is what counts */
	t->nr_cmd++;
}

/* "=ID PEAK RAMP_MS COUNT COMM [DUR_MS]" */
static void parse_id(struct footprints *t, const char *line)
{
	char comm[FOOTPRINT_COMM_LEN + 1];
	uint64_t id, peak;
	uint32_t ramp, count, dur = 0;
	if (sscanf(line, "=%16" SCNx64 " %" SCNu64 " %" SCNu32 " %" SCNu32 " %16s %" SCNu32, &id, &peak, &ramp, &count,
		   comm, &dur) < 5 ||
	    !id || !peak || footprint_find_id(t, id) || t->nr_ids == FOOTPRINT_MAX_IDS)
		return;
	struct fp_id *f = &t->ids[t->nr_ids++];
	*f = (struct fp_id){ .id = id, .peak_bytes = clamp_bytes(peak), .ramp_ms = ramp < 86400000 ? ramp : 86400000,
			     .dur_ms = dur < 86400000 ? dur : 86400000, .count = count };
	snprintf(f->comm, sizeof(f->comm), "%s", comm_ok(comm) ? comm : "?");
}

void footprint_parse(struct footprints *t, const char *text)
{
	memset(t, 0, sizeof(*t));
	for (const char *l = text; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		char line[1024];
		if (len < sizeof(line) && l[0] != '#') {
			memcpy(line, l, len);
			line[len] = '\0';
			if (line[0] == '=')
				parse_id(t, line);
			else
				parse_cmd(t, line);
		}
		l = nl ? nl + 1 : NULL;
	}
}

int footprint_format(const struct footprints *t, char *buf, size_t size)
{
	size_t o = 0;
#define PUT(...)                                                     \
	do {                                                         \
		int n_ = snprintf(buf + o, size - o, __VA_ARGS__);   \
		if (n_ < 0 || (size_t)n_ >= size - o)                \
			return -ENOSPC;                              \
		o += (size_t)n_;                                     \
	} while (0)
	PUT("# supervise footprints v2: COMM MEAN MAX COUNT BUCKET:N... | =ID PEAK RAMP_MS COUNT COMM DUR_MS\n");
	for (size_t i = 0; i < t->nr_cmd; i++) {
		const struct fp_cmd *c = &t->cmd[i];
		PUT("%s %" PRIu64 " %" PRIu64 " %" PRIu32, c->comm, c->mean_bytes, c->max_bytes, c->count);
		for (unsigned b = 0; b < FOOTPRINT_BUCKETS; b++)
			if (c->hist[b])
				PUT(" %u:%u", b, (unsigned)c->hist[b]);
		PUT("\n");
	}
	for (size_t i = 0; i < t->nr_ids; i++) {
		const struct fp_id *f = &t->ids[i];
		PUT("=%016" PRIx64 " %" PRIu64 " %" PRIu32 " %" PRIu32 " %s %" PRIu32 "\n", f->id, f->peak_bytes,
		    f->ramp_ms, f->count, f->comm, f->dur_ms);
	}
#undef PUT
	return (int)o;
}

/* --- files ------------------------------------------------------------------ */

static const char *explicit_file;

void footprint_use_file(const char *path)
{
	explicit_file = path && *path ? path : NULL;
}

int footprint_dir(char *buf, size_t size)
{
	const char *e = getenv("SUPERVISE_CACHE_DIR");
	int n;
	if (e && *e)
		n = snprintf(buf, size, "%s", e);
	else if (geteuid() == 0)
		n = snprintf(buf, size, "/var/cache/supervise");
	else if ((e = getenv("XDG_CACHE_HOME")) && *e)
		n = snprintf(buf, size, "%s/supervise", e);
	else if ((e = getenv("HOME")) && *e)
		n = snprintf(buf, size, "%s/.cache/supervise", e);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= size - 32 ? -ENAMETOOLONG : 0;
}

int footprint_global_path(char *buf, size_t size)
{
	int r = footprint_dir(buf, size);
	if (r < 0)
		return r;
	strcat(buf, "/footprints");   /* footprint_dir left 32 bytes */
	return 0;
}

int footprint_project_path(char *buf, size_t size)
{
	if (explicit_file) {
		int n = snprintf(buf, size, "%s", explicit_file);
		return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
	}
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	int r = footprint_dir(buf, size);
	if (r < 0)
		return r;
	size_t l = strlen(buf);
	snprintf(buf + l, size - l, "/footprints.%016" PRIx64, footprint_identity("", 0, cwd));
	return 0;
}

/* Split path into its directory (into dir) and last component. */
static const char *split(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, size, ".");
		return path;
	}
	snprintf(dir, size, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	return slash + 1;
}

static int mkdir_parents(const char *dir)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", dir);
	for (char *s = p + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		int r = mkdir(p, 0755);
		*s = '/';
		if (r < 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

/* Open the directory a table lives in, refusing one another user could
 * write into (they could plant a symlink or a table that sizes our jobs).
 * Supervise's own cache directory: owned by the euid, mode 0700, created so
 * (one an older supervise made 0755 is tightened).
 * A --footprints FILE's directory (the user's project): owned by the euid or
 * root and writable by no one else. */
static int open_dir(const char *path, bool create, const char **ret_name)
{
	char dir[PATH_MAX], ours[PATH_MAX];
	*ret_name = split(path, dir, sizeof(dir));
	if (!**ret_name || streq(*ret_name, ".") || streq(*ret_name, ".."))
		return log_errno(-EINVAL, "footprint: '%s' does not name a file", path);
	bool own = footprint_dir(ours, sizeof(ours)) == 0 && streq(dir, ours);
	if (own && create) {
		if (mkdir_parents(dir) < 0 || (mkdir(dir, 0700) < 0 && errno != EEXIST))
			return log_errno(-errno, "footprint: creating %s failed: %m", dir);
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : log_errno(-errno, "footprint: opening %s failed: %m", dir);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return log_errno(r, "footprint: stat of %s failed: %m", dir);
	}
	uid_t me = geteuid();
	/* Ours, from an older supervise that made it 0755: nobody else could
	 * write into it, so tightening it is enough. */
	if (own && st.st_uid == me && !(st.st_mode & 0022) && (st.st_mode & 07777) != 0700 && fchmod(fd, 0700) == 0)
		st.st_mode = (st.st_mode & ~07777) | 0700;
	if (own && (st.st_uid != me || (st.st_mode & 07777) != 0700)) {
		close(fd);
		return log_errno(-EPERM,
				 "footprint: %s is owned by uid %u with mode %04o; it must be owned by uid %u with mode "
				 "0700 (another user could plant a table or a symlink there). Fix: chown %u %s && "
				 "chmod 700 %s, or set SUPERVISE_CACHE_DIR to a directory of your own; running without "
				 "learned footprints",
				 dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)me, (unsigned)me, dir,
				 dir);
	}
	if (!own && ((st.st_uid != me && st.st_uid != 0) || (st.st_mode & 0022))) {
		close(fd);
		return log_errno(-EPERM,
				 "footprint: the directory of %s (%s, uid %u, mode %04o) can be written by another user; "
				 "put the --footprints file in a directory owned by you (or root) that only its owner "
				 "can write",
				 path, dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	}
	return fd;
}

int footprint_load(struct footprints *t, const char *path)
{
	static char text[FP_FILE_MAX + 1];
	const char *name;
	memset(t, 0, sizeof(*t));
	_cleanup_close_ int dfd = open_dir(path, false, &name);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	/* Not a FIFO, not a symlink, not /dev/zero: a regular file of bounded size. */
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : log_errno(-errno, "footprint: opening %s failed: %m; not using it", path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FP_FILE_MAX)
		return log_errno(-EINVAL, "footprint: %s is not a regular file of at most %u bytes; not using it", path,
				 FP_FILE_MAX);
	size_t n = 0;
	for (ssize_t k; n < FP_FILE_MAX && (k = read(fd, text + n, FP_FILE_MAX - n)) != 0; n += (size_t)k)
		if (k < 0) {
			if (errno == EINTR)
				k = 0;
			else
				return log_errno(-errno, "footprint: reading %s failed: %m; not using it", path);
		}
	text[n] = '\0';
	footprint_parse(t, text);
	log_debug("footprint: %zu commands and %zu jobs learned, from %s", t->nr_cmd, t->nr_ids, path);
	return 0;
}

int footprint_save(const struct footprints *t, const char *path)
{
	static char text[FP_FILE_MAX];
	const char *name;
	if (!t->dirty)
		return 0;
	int n = footprint_format(t, text, sizeof(text));
	if (n < 0)
		return log_errno(n, "footprint: the table does not fit %u bytes", FP_FILE_MAX);
	_cleanup_close_ int dfd = open_dir(path, true, &name);
	if (dfd < 0)
		return dfd == -ENOENT ? log_errno(dfd, "footprint: the directory of %s does not exist", path) : dfd;
	/* A fresh name, created exclusively: nothing planted is followed or reused. */
	char tmp[64];
	uint64_t rnd = 0;
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 16; tries++) {
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)tries;
		snprintf(tmp, sizeof(tmp), ".footprints.tmp.%016" PRIx64, rnd);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return log_errno(-errno, "footprint: cannot create a temporary file beside %s: %m", path);
	}
	if (fd < 0)
		return log_errno(-EEXIST, "footprint: no free temporary name beside %s", path);
	ssize_t w = write(fd, text, (size_t)n);
	int r = w == n ? 0 : w < 0 ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	/* rename: a concurrent supervise reads either the old or the new table. */
	if (!r && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		return log_errno(r, "footprint: writing %s failed: %m", path);
	}
	return 0;
}

int footprint_remove(const char *path)
{
	const char *name;
	_cleanup_close_ int dfd = open_dir(path, false, &name);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return log_errno(-errno, "footprint: removing %s failed: %m", path);
	return 0;
}
