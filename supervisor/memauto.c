/* memauto: see memauto.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "cgroup.h"
#include "log.h"
#include "memauto.h"
#include "path.h"
#include "proc.h"
#include "util.h"

#define MIB (1ull << 20)

uint64_t memauto_reserve(uint64_t limit)
{
	uint64_t r = 64 * MIB + limit / 32;
	return r < limit / 2 ? r : limit / 2;
}

const char *memauto_source_name(enum memauto_source s)
{
	return s == MEMAUTO_CGROUP ? "cgroup" : "meminfo";
}

int memauto_parse_limit(const char *text, uint64_t *ret)
{
	char buf[32];
	size_t n = strcspn(text, "\n");
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (streq(buf, "max"))
		return -ERANGE;
	uint64_t v;
	int r = parse_u64(buf, &v);
	if (r < 0)
		return r;
	/* v1 says "no limit" with LONG_MAX rounded down to a page. */
	if (v >= (1ull << 62))
		return -ERANGE;
	*ret = v;
	return 0;
}

/* Field i (0-based) of a mountinfo line, up to the next blank. */
static const char *field(const char *line, const char *eol, int i, size_t *ret_len)
{
	const char *f = line;
	for (; i > 0 && f; i--) {
		f = memchr(f, ' ', eol - f);
		if (f)
			f++;
	}
	if (!f || f >= eol)
		return NULL;
	const char *end = memchr(f, ' ', eol - f);
	*ret_len = (end ? end : eol) - f;
	return f;
}

static int copy_field(const char *f, size_t len, char *ret, size_t size)
{
	if (len == 0 || len >= size)
		return -ENAMETOOLONG;
	memcpy(ret, f, len);
	ret[len] = '\0';
	return 0;
}

int memauto_parse_v1_mount(const char *mountinfo, const char *controller, char *ret_mount, size_t msize,
			   char *ret_root, size_t rsize)
{
	size_t cl = strlen(controller);
	/* 35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory */
	for (const char *line = mountinfo; line && *line;) {
		const char *eol = strchrnul(line, '\n');
		const char *sep = strstr(line, " - ");
		if (sep && sep < eol && strncmp(sep + 3, "cgroup ", 7) == 0) {
			/* The super options are the last field: look for the controller. */
			const char *opts = memrchr(sep, ' ', eol - sep);
			bool memory = false;
			for (const char *o = opts ? opts + 1 : eol; o < eol;) {
				const char *c = memchr(o, ',', eol - o);
				const char *e = c ? c : eol;
				if ((size_t)(e - o) == cl && memcmp(o, controller, cl) == 0)
					memory = true;
				o = e + 1;
			}
			size_t rl, ml;
			const char *root = field(line, eol, 3, &rl), *mnt = field(line, eol, 4, &ml);
			if (memory && root && mnt)
				return copy_field(mnt, ml, ret_mount, msize) < 0 ? -ENAMETOOLONG
										 : copy_field(root, rl, ret_root, rsize);
		}
		line = *eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

int memauto_parse_v1_cgroup(const char *text, const char *controller, char *ret, size_t size)
{
	size_t cl = strlen(controller);
	/* "4:memory:/a/b", or a list of controllers: "4:cpu,memory:/a". */
	for (const char *line = text; line && *line;) {
		const char *eol = strchrnul(line, '\n');
		const char *c1 = memchr(line, ':', eol - line);
		const char *c2 = c1 ? memchr(c1 + 1, ':', eol - c1 - 1) : NULL;
		if (c2) {
			for (const char *o = c1 + 1; o < c2;) {
				const char *c = memchr(o, ',', c2 - o);
				const char *e = c ? c : c2;
				if ((size_t)(e - o) == cl && memcmp(o, controller, cl) == 0)
					return copy_field(c2 + 1, eol - c2 - 1, ret, size);
				o = e + 1;
			}
		}
		line = *eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

/* The lowest limit in file of dir and each ancestor down to top (inclusive). */
static void walk_up(const char *dir, const char *top, const char *file, struct memauto *best)
{
	char d[PATH_MAX], path[PATH_MAX + 64], text[64];
	snprintf(d, sizeof(d), "%s", dir);
	for (;;) {
		uint64_t v;
		snprintf(path, sizeof(path), "%s/%s", d, file);
		if (read_file_at(AT_FDCWD, path, text, sizeof(text)) > 0 && memauto_parse_limit(text, &v) == 0 &&
		    (best->limit == 0 || v < best->limit)) {
			best->limit = v;
			best->source = MEMAUTO_CGROUP;
			snprintf(best->where, sizeof(best->where), "%s", path);
		}
		if (strlen(d) <= strlen(top) || path_parent(d, d, sizeof(d)) < 0)
			break;
	}
}

/* Our v1 group of a controller as a directory, and the hierarchy's mount
 * point (where walking up stops). -ENOENT when there is no such hierarchy. */
static int v1_dir(const char *controller, char *ret_dir, size_t size, char *ret_mnt, size_t msize)
{
	char mi[65536], text[4096], root[PATH_MAX], cg[PATH_MAX];
	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", mi, sizeof(mi)) < 0 ||
	    memauto_parse_v1_mount(mi, controller, ret_mnt, msize, root, sizeof(root)) < 0 ||
	    read_file_at(AT_FDCWD, "/proc/self/cgroup", text, sizeof(text)) < 0 ||
	    memauto_parse_v1_cgroup(text, controller, cg, sizeof(cg)) < 0)
		return -ENOENT;
	/* Our group relative to what is mounted: a container mounts its own
	 * group as the hierarchy's root. */
	size_t rl = strlen(root);
	const char *rel = streq(root, "/") ? cg : strncmp(cg, root, rl) == 0 ? cg + rl : "";
	if (strstr(rel, "/.."))
		return -EINVAL;
	snprintf(ret_dir, size, "%s%s", ret_mnt, streq(rel, "/") ? "" : rel);
	return 0;
}

static void v1_limits(struct memauto *best)
{
	char dir[PATH_MAX], mnt[PATH_MAX];
	if (v1_dir("memory", dir, sizeof(dir), mnt, sizeof(mnt)) == 0)
		walk_up(dir, mnt, "memory.limit_in_bytes", best);
}

double memauto_v1_cpu_quota(void)
{
	char dir[PATH_MAX], mnt[PATH_MAX], path[PATH_MAX + 32], text[64];
	double lowest = 0;
	if (v1_dir("cpu", dir, sizeof(dir), mnt, sizeof(mnt)) < 0)
		return 0;
	for (;;) {
		long long quota, period;
		snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
		bool q = read_file_at(AT_FDCWD, path, text, sizeof(text)) > 0 && sscanf(text, "%lld", &quota) == 1;
		snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
		bool p = read_file_at(AT_FDCWD, path, text, sizeof(text)) > 0 && sscanf(text, "%lld", &period) == 1;
		/* -1: no quota at this level. */
		if (q && p && quota > 0 && period > 0 && (lowest == 0 || (double)quota / period < lowest))
			lowest = (double)quota / period;
		if (strlen(dir) <= strlen(mnt) || path_parent(dir, dir, sizeof(dir)) < 0)
			break;
	}
	return lowest;
}

int memauto_resolve(struct memauto *ret)
{
	struct memauto m = { .source = MEMAUTO_MEMINFO };
	char own[PATH_MAX], text[8192];
	const char *mount;

	if (cgroup_v2_mount(&mount) == 0 && cgroup_of_pid(getpid(), own, sizeof(own)) == 0)
		walk_up(own, mount, "memory.max", &m);
	v1_limits(&m);

	uint64_t avail;
	int r = read_file_at(AT_FDCWD, "/proc/meminfo", text, sizeof(text));
	if (r < 0 || proc_status_value(text, "MemAvailable", &avail) < 0) {
		if (!m.limit)
			return log_errno(r < 0 ? r : -EINVAL, "memauto: --mem auto: no cgroup memory limit and no "
							      "MemAvailable in /proc/meminfo; give --mem SIZE");
	} else if (!m.limit || avail < m.limit) {
		m.limit = avail;
		m.source = MEMAUTO_MEMINFO;
		snprintf(m.where, sizeof(m.where), "/proc/meminfo MemAvailable");
	}
	m.reserve = memauto_reserve(m.limit);
	m.budget = m.limit - m.reserve;
	*ret = m;
	return 0;
}
