#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/sysinfo.h>

#include "cgroup.h"
#include "log.h"
#include "path.h"
#include "util.h"

static const struct {
	const char *name;
	unsigned bit;
} controllers[] = {
	{ "memory", CGROUP_MEMORY },
	{ "cpu", CGROUP_CPU },
	{ "pids", CGROUP_PIDS },
};

/* --- pure parsers ---------------------------------------------------------- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(const char *in, size_t len, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < size; i++) {
		if (in[i] == '\\' && i + 3 < len &&
		    in[i + 1] >= '0' && in[i + 1] <= '7' && in[i + 2] >= '0' && in[i + 2] <= '7' &&
		    in[i + 3] >= '0' && in[i + 3] <= '7') {
			out[o++] = (char)((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 + (in[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
}

int cgroup_parse_mountinfo(const char *mountinfo, char *ret, size_t size)
{
	/* 41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
	 * Field 5 is the mount point; the filesystem type follows " - ". */
	for (const char *line = mountinfo; line && *line;) {
		const char *eol = strchrnul(line, '\n');
		const char *sep = strstr(line, " - ");
		if (sep && sep < eol && strncmp(sep + 3, "cgroup2 ", 8) == 0) {
			const char *f = line;
			for (int i = 0; i < 4 && f < eol; i++) {
				f = memchr(f, ' ', eol - f);
				if (!f)
					break;
				f++;
			}
			if (f && f < eol) {
				const char *end = memchr(f, ' ', eol - f);
				if (end) {
					unescape_octal(f, end - f, ret, size);
					return 0;
				}
			}
		}
		line = *eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

int cgroup_parse_proc_cgroup(const char *text, char *ret, size_t size)
{
	for (const char *line = text; line && *line;) {
		const char *eol = strchrnul(line, '\n');
		if (strncmp(line, "0::", 3) == 0) {
			size_t len = eol - (line + 3);
			if (len == 0 || len >= size)
				return -EINVAL;
			memcpy(ret, line + 3, len);
			ret[len] = '\0';
			return 0;
		}
		line = *eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line;) {
		const char *eol = strchrnul(line, '\n');
		if ((size_t)(eol - line) > klen && strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			char num[32];
			size_t len = eol - (line + klen + 1);
			if (len == 0 || len >= sizeof(num))
				return -EINVAL;
			memcpy(num, line + klen + 1, len);
			num[len] = '\0';
			return parse_u64(num, ret);
		}
		line = *eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

unsigned cgroup_parse_controllers(const char *text)
{
	unsigned mask = 0;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", text);
	char *save = NULL;
	for (char *tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		for (size_t i = 0; i < ELEMENTSOF(controllers); i++)
			if (streq(tok, controllers[i].name))
				mask |= controllers[i].bit;
	return mask;
}

const char *cgroup_controller_names(unsigned mask, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(controllers); i++)
		if (mask & controllers[i].bit)
			o += snprintf(buf + o, o < size ? size - o : 0, "%s%s", o ? ", " : "", controllers[i].name);
	return buf;
}

/* --- host ------------------------------------------------------------------ */

int cgroup_v2_mount(const char **ret)
{
	static char mount[PATH_MAX];
	static int cached = -1;

	if (cached < 0) {
		/* mountinfo can be large on busy hosts; 256 KiB covers thousands of mounts. */
		size_t size = 256 * 1024;
		_cleanup_free_ char *buf = malloc(size);
		if (!buf)
			return -ENOMEM;
		int r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", buf, size);
		if (r < 0)
			return log_errno(r, "cgroup: reading /proc/self/mountinfo failed: %m");
		r = cgroup_parse_mountinfo(buf, mount, sizeof(mount));
		if (r < 0)
			return log_errno(r, "cgroup: no cgroup v2 filesystem is mounted; mount one with "
					    "'mount -t cgroup2 none /sys/fs/cgroup' (or /sys/fs/cgroup/unified on hybrid hosts)");
		cached = 0;
	}
	*ret = mount;
	return 0;
}

int cgroup_of_pid(pid_t pid, char *ret, size_t size)
{
	const char *mount;
	int r = cgroup_v2_mount(&mount);
	if (r < 0)
		return r;
	char path[64], text[4096], rel[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	r = read_file_at(AT_FDCWD, path, text, sizeof(text));
	if (r < 0)
		return r;
	r = cgroup_parse_proc_cgroup(text, rel, sizeof(rel));
	if (r < 0)
		return r;
	snprintf(ret, size, "%s%s", mount, streq(rel, "/") ? "" : rel);
	return 0;
}

/* Is path (canonical) the mount or below it? */
static bool inside_mount(const char *path, const char *mount)
{
	size_t mlen = strlen(mount);
	if (streq(mount, "/"))
		return path[0] == '/';
	return strncmp(path, mount, mlen) == 0 && (path[mlen] == '/' || path[mlen] == '\0');
}

static bool on_cgroup2(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

int cgroup_resolve_base(const char *arg, char *ret, size_t size)
{
	const char *mount;
	int r = cgroup_v2_mount(&mount);
	if (r < 0)
		return r;

	if (!arg) {
		r = cgroup_of_pid(getpid(), ret, size);
		if (r < 0)
			return log_errno(r, "cgroup: cannot read this process's cgroup from /proc/self/cgroup: %m");
		return 0;
	}
	if (arg[0] != '/')
		return log_errno(-EINVAL, "cgroup: --cgroup-base '%s' is not an absolute path; give a path "
					  "inside %s (or relative to its root, starting with /)", arg, mount);
	char joined[PATH_MAX];
	size_t mlen = strlen(mount);
	int n;
	if (strncmp(arg, mount, mlen) == 0 && (arg[mlen] == '/' || arg[mlen] == '\0'))
		n = snprintf(joined, sizeof(joined), "%s", arg);
	else
		n = snprintf(joined, sizeof(joined), "%s%s", streq(mount, "/") ? "" : mount, arg);
	if (n < 0 || (size_t)n >= sizeof(joined))
		return log_errno(-ENAMETOOLONG, "cgroup: --cgroup-base is too long a path");

	/* The real path: ".." or a symlink must not lead out of the v2 mount
	 * (to a v1 hierarchy, or to a directory another user controls). */
	char real[PATH_MAX];
	if (!realpath(joined, real))
		return log_errno(-ENOENT, "cgroup: --cgroup-base %s does not exist (%m); create it (mkdir) or "
					  "pick an existing cgroup v2 directory under %s", joined, mount);
	if (!inside_mount(real, mount) || !on_cgroup2(real))
		return log_errno(-EINVAL, "cgroup: --cgroup-base %s is %s, which is not inside the cgroup v2 "
					  "mount %s; give a cgroup v2 directory under %s (without '..')",
				 arg, real, mount, mount);
	struct stat st;
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return log_errno(-ENOTDIR, "cgroup: --cgroup-base %s is not a directory", real);
	if (strlen(real) >= size)
		return log_errno(-ENAMETOOLONG, "cgroup: --cgroup-base %s is too long a path", real);
	snprintf(ret, size, "%s", real);
	return 0;
}

int cgroup_available(const char *base, unsigned *ret)
{
	char path[PATH_MAX], text[512];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", base);
	int r = read_file_at(AT_FDCWD, path, text, sizeof(text));
	if (r < 0)
		return r;
	*ret = cgroup_parse_controllers(text);
	return 0;
}

uint64_t cgroup_memory_reference(const char *base)
{
	struct sysinfo si;
	uint64_t ref = sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit : 0;
	const char *mount;
	if (cgroup_v2_mount(&mount) < 0)
		return ref;

	/* Walk up from base to the mount: the lowest memory.max applies. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", base);
	size_t mlen = strlen(mount);
	while (strlen(dir) > mlen) {
		uint64_t max;
		if (cgroup_read_u64(dir, "memory.max", &max) == 0 && max < ref)
			ref = max;
		if (path_parent(dir, dir, sizeof(dir)) < 0)
			break;
	}
	return ref;
}

/* --- lifecycle ------------------------------------------------------------- */

int cgroup_leaf_path(const char *base, const char *name, const char *id, char *ret, size_t size)
{
	int n = snprintf(ret, size, "%s/supervise/%s-%s", base, name, id);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int enable_controllers(const char *dir, unsigned want)
{
	unsigned have;
	int r = cgroup_available(dir, &have);
	if (r < 0)
		return r;
	char buf[64], path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	for (size_t i = 0; i < ELEMENTSOF(controllers); i++) {
		if (!(want & have & controllers[i].bit))
			continue;
		/* One controller per write: one refusal must not hide the others. */
		snprintf(buf, sizeof(buf), "+%s", controllers[i].name);
		r = write_file_at(AT_FDCWD, path, buf);
		if (r < 0)
			log_errno_level(LOG_WARN, r, "cgroup: enabling %s in %s failed: %m%s", controllers[i].name, path,
					r == -EBUSY ? " (the cgroup holds processes; pass --cgroup-base to a "
						      "delegated subtree without processes)" : "");
	}
	return 0;
}

int cgroup_create(const char *leaf_path, unsigned want, struct cgroup *ret)
{
	struct cgroup cg = { .fd = -1 };
	snprintf(cg.path, sizeof(cg.path), "%s", leaf_path);
	char base[PATH_MAX];
	if (path_parent(leaf_path, cg.parent, sizeof(cg.parent)) < 0 || path_parent(cg.parent, base, sizeof(base)) < 0)
		return -EINVAL;

	/* Another supervisor may remove <base>/supervise between our mkdirs
	 * when its last leaf goes: then the leaf's mkdir says ENOENT; retry. */
	int r = 0;
	for (int attempt = 0; attempt < 10; attempt++) {
		if (want)
			enable_controllers(base, want);
		if (mkdir(cg.parent, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		if (want)
			enable_controllers(cg.parent, want);
		if (mkdir(cg.path, 0755) == 0) {
			r = 0;
			break;
		}
		r = -errno;
		if (r != -ENOENT)
			break;
	}
	if (r < 0)
		return log_errno(r, "cgroup: creating %s failed: %m%s", cg.path,
				 r == -EACCES || r == -EPERM || r == -EROFS
					 ? "; run as root or pass --cgroup-base to a subtree delegated to you" : "");

	cg.fd = open(cg.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg.fd < 0) {
		r = -errno;
		rmdir(cg.path);
		return log_errno(r, "cgroup: opening %s failed: %m", cg.path);
	}
	struct stat st;
	if (fstat(cg.fd, &st) == 0)
		cg.id = st.st_ino;
	unsigned have = 0;
	if (cgroup_available(cg.path, &have) == 0)
		cg.controllers = have;
	*ret = cg;
	return 0;
}

static int write_limit(struct cgroup *cg, const char *file, const char *value)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", cg->path, file);
	int r = write_file_at(AT_FDCWD, path, value);
	if (r < 0)
		return log_errno(r, "cgroup: writing '%s' to %s failed: %m", value, path);
	log_debug("cgroup: %s = %s", path, value);
	return 0;
}

int cgroup_apply_limits(struct cgroup *cg, const struct cgroup_limits *l, unsigned *ret_unenforced)
{
	unsigned wanted = 0, missing;
	char v[64];
	int r;

	if (l->memory_max || l->memory_high)
		wanted |= CGROUP_MEMORY;
	if (l->cpu_quota_us)
		wanted |= CGROUP_CPU;
	if (l->pids_max)
		wanted |= CGROUP_PIDS;
	missing = wanted & ~cg->controllers;

	if ((cg->controllers & CGROUP_MEMORY) && l->memory_high) {
		snprintf(v, sizeof(v), "%" PRIu64, l->memory_high);
		if ((r = write_limit(cg, "memory.high", v)) < 0)
			return r;
	}
	if ((cg->controllers & CGROUP_MEMORY) && l->memory_max) {
		snprintf(v, sizeof(v), "%" PRIu64, l->memory_max);
		if ((r = write_limit(cg, "memory.max", v)) < 0)
			return r;
	}
	if ((cg->controllers & CGROUP_CPU) && l->cpu_quota_us) {
		snprintf(v, sizeof(v), "%" PRIu64 " %" PRIu64, l->cpu_quota_us, l->cpu_period_us);
		if ((r = write_limit(cg, "cpu.max", v)) < 0)
			return r;
	}
	if ((cg->controllers & CGROUP_PIDS) && l->pids_max) {
		snprintf(v, sizeof(v), "%" PRIu64, l->pids_max);
		if ((r = write_limit(cg, "pids.max", v)) < 0)
			return r;
	}
	*ret_unenforced = missing;
	return 0;
}

int cgroup_read_keyed(const char *cgroup_path, const char *file, const char *key, uint64_t *ret)
{
	char path[PATH_MAX], text[4096];
	snprintf(path, sizeof(path), "%s/%s", cgroup_path, file);
	int r = read_file_at(AT_FDCWD, path, text, sizeof(text));
	if (r < 0)
		return r;
	return cgroup_parse_keyed(text, key, ret);
}

int cgroup_read_u64(const char *cgroup_path, const char *file, uint64_t *ret)
{
	char path[PATH_MAX], text[64];
	snprintf(path, sizeof(path), "%s/%s", cgroup_path, file);
	int r = read_file_at(AT_FDCWD, path, text, sizeof(text));
	if (r < 0)
		return r;
	text[strcspn(text, "\n")] = '\0';
	return parse_u64(text, ret);   /* "max" is -EINVAL: no limit */
}

int cgroup_populated(const char *cgroup_path)
{
	uint64_t v;
	int r = cgroup_read_keyed(cgroup_path, "cgroup.events", "populated", &v);
	return r < 0 ? r : v != 0;
}

static int walk_procs(const char *dir, int depth, int (*fn)(pid_t, void *), void *userdata)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, "cgroup.procs");
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		/* A child cgroup may have been removed since it was listed. */
		return depth == 0 ? -errno : 0;
	int pid, r;
	while (fscanf(f, "%d", &pid) == 1)
		if ((r = fn((pid_t)pid, userdata)) < 0)
			return r;
	if (depth >= 32)
		return 0;
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return depth == 0 ? -errno : 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((r = walk_procs(path, depth + 1, fn, userdata)) < 0)
			return r;
	}
	return 0;
}

int cgroup_walk_procs(const char *cgroup_path, int (*fn)(pid_t pid, void *userdata), void *userdata)
{
	return walk_procs(cgroup_path, 0, fn, userdata);
}

static int sigkill_pid(pid_t pid, void *userdata)
{
	kill(pid, SIGKILL);
	return 0;
}

int cgroup_kill(const char *cgroup_path)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cgroup.kill", cgroup_path);
	int r = write_file_at(AT_FDCWD, path, "1");
	if (r == -ENOENT && access(cgroup_path, F_OK) == 0) {
		/* Kernels before 5.14 have no cgroup.kill: freeze so nothing
		 * forks behind our back, kill each process, thaw to let them die. */
		char freeze[PATH_MAX];
		snprintf(freeze, sizeof(freeze), "%s/cgroup.freeze", cgroup_path);
		write_file_at(AT_FDCWD, freeze, "1");
		r = cgroup_walk_procs(cgroup_path, sigkill_pid, NULL);
		write_file_at(AT_FDCWD, freeze, "0");
	}
	if (r < 0 && r != -ENOENT)
		return log_errno(r, "cgroup: killing the processes of %s failed: %m", cgroup_path);
	return 0;
}

int cgroup_wait_empty(const char *cgroup_path, int timeout_ms, void (*reap)(void *), void *userdata)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cgroup.events", cgroup_path);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;

	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		if (reap)
			reap(userdata);
		char text[256];
		ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
		if (n < 0)
			return -errno;
		text[n] = '\0';
		uint64_t populated = 1;
		if (cgroup_parse_keyed(text, "populated", &populated) == 0 && populated == 0)
			return 0;
		uint64_t now = now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		/* cgroup.events signals changes with POLLPRI; the short cap lets
		 * the subreaper collect zombies that keep the cgroup populated. */
		struct pollfd p = { .fd = fd, .events = POLLPRI };
		int left = (int)((deadline - now) / 1000000ull) + 1;
		poll(&p, 1, left < 50 ? left : 50);
	}
}

int cgroup_remove_tree(const char *cgroup_path)
{
	/* Children first: a workload may have made cgroups of its own below. */
	_cleanup_closedir_ DIR *d = opendir(cgroup_path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		char child[PATH_MAX];
		snprintf(child, sizeof(child), "%s/%s", cgroup_path, de->d_name);
		cgroup_remove_tree(child);
	}
	/* rmdir can say EBUSY for a moment after the last task exits, while the
	 * kernel finishes tearing the css down. */
	for (int i = 0; i < 100; i++) {
		if (rmdir(cgroup_path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		usleep(10000);
	}
	return -EBUSY;
}

/* The leaf's tree, then the shared parent when this was its last leaf (a
 * sibling still running makes that ENOTEMPTY/EBUSY, which is fine). */
static int remove_leaf(const char *cgroup_path)
{
	int r = cgroup_remove_tree(cgroup_path);
	if (r < 0)
		return log_errno(r, "cgroup: removing %s failed: %m", cgroup_path);
	char parent[PATH_MAX];
	if (path_parent(cgroup_path, parent, sizeof(parent)) == 0 && rmdir(parent) < 0 && errno != ENOTEMPTY &&
	    errno != EBUSY && errno != ENOENT)
		log_debug("cgroup: removing %s: %m", parent);
	return 0;
}

int cgroup_destroy(struct cgroup *cg)
{
	closep(&cg->fd);
	cg->fd = -1;
	return remove_leaf(cg->path);
}

int cgroup_kill_remove(const char *cgroup_path, const struct cgroup_teardown *t)
{
	static const struct cgroup_teardown none = { .timeout_ms = 2000 };
	if (!t)
		t = &none;
	if (access(cgroup_path, F_OK) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (cgroup_populated(cgroup_path) > 0) {
		log_info("cgroup: killing what is left in %s", cgroup_path);
		cgroup_kill(cgroup_path);
	}
	if (cgroup_wait_empty(cgroup_path, t->timeout_ms, t->reap, t->userdata) == -ETIMEDOUT)
		log_warn("cgroup: %s still has processes %d ms after cgroup.kill", cgroup_path, t->timeout_ms);
	if (t->emptied)
		t->emptied(t->userdata);
	return remove_leaf(cgroup_path);
}

int cgroup_enable_later(struct cgroup *cg, unsigned want)
{
	unsigned avail = 0;
	char base[PATH_MAX];
	int r;

	if (!(want & ~cg->controllers))
		return 0;
	if ((r = cgroup_available(cg->parent, &avail)) < 0)
		return r;
	if (!(avail & want))
		return 0;
	/* The parents hold no processes (the supervisor runs in its own leaf). */
	if (path_parent(cg->parent, base, sizeof(base)) == 0)
		enable_controllers(base, want);
	enable_controllers(cg->parent, want);
	return cgroup_available(cg->path, &cg->controllers);
}

int cgroup_read_text(const char *cgroup_path, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", cgroup_path, file);
	return read_file_at(AT_FDCWD, path, buf, size);
}

/* cpu.max is "QUOTA PERIOD" or "max PERIOD". */
int cgroup_parse_cpu_max(const char *text, double *ret)
{
	uint64_t quota, period;
	if (strncmp(text, "max", 3) == 0) {
		*ret = 0;
		return 0;
	}
	if (sscanf(text, "%" SCNu64 " %" SCNu64, &quota, &period) != 2 || !period)
		return -EINVAL;
	*ret = (double)quota / (double)period;
	return 0;
}

double cgroup_cpu_quota(const char *cgroup_path)
{
	const char *mount;
	double lowest = 0;
	char dir[PATH_MAX], text[64];

	if (cgroup_v2_mount(&mount) < 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s", cgroup_path);
	/* The tightest quota of the leaf and its ancestors up to the mount. */
	while (strlen(dir) > strlen(mount)) {
		double q;
		if (cgroup_read_text(dir, "cpu.max", text, sizeof(text)) >= 0 && cgroup_parse_cpu_max(text, &q) == 0 &&
		    q > 0 && (lowest == 0 || q < lowest))
			lowest = q;
		if (path_parent(dir, dir, sizeof(dir)) < 0)
			break;
	}
	return lowest;
}

/* --- validation ------------------------------------------------------------ */

int cgroup_validate_leaf(const char *path)
{
	const char *mount;
	if (cgroup_v2_mount(&mount) < 0)
		return -EPERM;
	char real[PATH_MAX];
	if (!realpath(path, real))
		return errno == ENOENT ? -ENOENT : -EPERM;
	/* Canonical already: what we would kill is what the path names. */
	if (!streq(real, path) || !inside_mount(real, mount) || !on_cgroup2(real))
		return -EPERM;
	const char *leaf = strrchr(real, '/');
	if (!leaf || leaf == real || !leaf[1])
		return -EPERM;
	const char *parent = leaf - 1;
	while (parent > real && *parent != '/')
		parent--;
	if (strncmp(parent, "/supervise/", 11) != 0)
		return -EPERM;
	return 0;
}
