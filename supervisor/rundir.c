#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

#include "cgroup.h"
#include "jsonutil.h"
#include "log.h"
#include "rundir.h"
#include "util.h"

const char *rundir_root(void)
{
	static char root[PATH_MAX];
	const char *env = getenv("SUPERVISE_RUNTIME_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		snprintf(root, sizeof(root), "%s", env);
	else if (geteuid() == 0)
		snprintf(root, sizeof(root), "/run/supervise");
	else if (xdg && *xdg)
		snprintf(root, sizeof(root), "%s/supervise", xdg);
	else
		snprintf(root, sizeof(root), "/tmp/supervise-%u", (unsigned)geteuid());
	return root;
}

int proc_stat_starttime(const char *text, uint64_t *ret)
{
	/* "PID (comm) S ppid ...": comm may contain ") ", so start after the
	 * last ')'. starttime is field 22; field 3 (state) follows ") ". */
	const char *p = strrchr(text, ')');
	if (!p || p[1] != ' ')
		return -EINVAL;
	p += 2;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	char num[32];
	size_t len = strcspn(p, " \n");
	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, p, len);
	num[len] = '\0';
	return parse_u64(num, ret);
}

bool run_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > RUN_NAME_MAX || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

void run_name_from_command(const char *cmd, char *ret, size_t size)
{
	const char *base = strrchr(cmd, '/');
	base = base && base[1] ? base + 1 : cmd;
	size_t o = 0;
	/* Leave room for a "-NN" suffix within RUN_NAME_MAX. */
	for (const char *p = base; *p && o + 1 < size && o < RUN_NAME_MAX - 4; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-';
		ret[o++] = ok ? c : '_';
	}
	ret[o] = '\0';
	if (o == 0 || ret[0] == '.')
		snprintf(ret, size, "run");
}

int pid_starttime(pid_t pid, uint64_t *ret)
{
	char path[64], text[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int r = read_file_at(AT_FDCWD, path, text, sizeof(text));
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	return proc_stat_starttime(text, ret);
}

bool run_owner_alive(const struct run_info *ri)
{
	uint64_t st;
	if (ri->pid <= 0 || pid_starttime(ri->pid, &st) < 0)
		return false;
	return st == ri->pid_starttime;
}

static int write_run_json(const char *dir, const struct run_info *ri)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "name", json_object_new_string(ri->name));
	json_object_object_add(o, "pid", json_object_new_int(ri->pid));
	json_object_object_add(o, "pid_starttime", json_object_new_uint64(ri->pid_starttime));
	json_object_object_add(o, "cgroup", json_object_new_string(ri->cgroup));
	json_object_object_add(o, "started_unix", json_object_new_int64(ri->started_unix));
	if (ri->budget_bytes)
		json_object_object_add(o, "budget_bytes", json_object_new_uint64(ri->budget_bytes));
	if (ri->backend[0])
		json_object_object_add(o, "backend", json_object_new_string(ri->backend));

	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/run.json", dir);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;
	/* mkstemp + rename: readers in other shells never see a half-written
	 * file, and a full disk says ENOSPC, not EIO. */
	return write_file_atomic(path, text, strlen(text), 0644);
}

int rundir_read(const char *dir, struct run_info *ret)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/run.json", dir);
	_cleanup_(json_object_putp) json_object *o = json_object_from_file(path);
	if (!o)
		return access(path, F_OK) < 0 ? -errno : -EBADMSG;
	json_object *v;
	struct run_info ri = { 0 };
	if (json_object_object_get_ex(o, "name", &v))
		snprintf(ri.name, sizeof(ri.name), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "pid", &v))
		ri.pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "pid_starttime", &v))
		ri.pid_starttime = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "cgroup", &v))
		snprintf(ri.cgroup, sizeof(ri.cgroup), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "started_unix", &v))
		ri.started_unix = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "budget_bytes", &v))
		ri.budget_bytes = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "backend", &v))
		snprintf(ri.backend, sizeof(ri.backend), "%s", json_object_get_string(v));
	*ret = ri;
	return 0;
}

int rundir_update(const char *dir, const struct run_info *info)
{
	int r = write_run_json(dir, info);
	if (r < 0)
		return log_errno(r, "rundir: updating %s/run.json failed: %m", dir);
	return 0;
}

int rundir_remove(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	for (struct dirent *de; (de = readdir(d));) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		/* Subdirectories are not ours to make; files (run.json, the
		 * jobserver fifo, the advice page) are. */
		unlinkat(dirfd(d), de->d_name, 0);
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Kill and remove what a dead owner left: its leaf, then its run directory
 * (in that order, so a run directory always outlives its leaf). */
static void collect_dead(const char *dir, const struct run_info *ri)
{
	if (ri->cgroup[0] && access(ri->cgroup, F_OK) == 0) {
		cgroup_kill(ri->cgroup);
		cgroup_wait_empty(ri->cgroup, 2000, NULL, NULL);
		cgroup_remove_tree(ri->cgroup);
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", ri->cgroup);
		char *slash = strrchr(parent, '/');
		if (slash) {
			*slash = '\0';
			rmdir(parent);   /* <base>/supervise, when it was the last leaf */
		}
	}
	rundir_remove(dir);
	log_warn("gc: removed %s (cgroup %s) left by supervisor pid %d, which is gone",
		ri->name[0] ? ri->name : dir, ri->cgroup[0] ? ri->cgroup : "-", (int)ri->pid);
}

int rundir_claim(struct run_info *info, bool explicit_name, const char *base, const char *id,
		 char *ret_dir, size_t size)
{
	const char *root = rundir_root();
	int r = mkdir_p(root, 0755);
	if (r < 0)
		return log_errno(r, "rundir: creating %s failed: %m; set SUPERVISE_RUNTIME_DIR to a writable directory", root);

	char wanted[RUN_NAME_MAX + 1];
	snprintf(wanted, sizeof(wanted), "%s", info->name);
	for (int n = 1; n < 1000; n++) {
		if (n > 1) {
			char suffix[16];
			int slen = snprintf(suffix, sizeof(suffix), "-%d", n);
			snprintf(info->name, sizeof(info->name), "%.*s%s", RUN_NAME_MAX - slen, wanted, suffix);
		}
		snprintf(ret_dir, size, "%s/%s", root, info->name);
		r = cgroup_leaf_path(base, info->name, id, info->cgroup, sizeof(info->cgroup));
		if (r < 0)
			return log_errno(r, "rundir: the cgroup path under %s is too long", base);
		if (mkdir(ret_dir, 0755) == 0) {
			r = write_run_json(ret_dir, info);
			if (r < 0) {
				rundir_remove(ret_dir);
				return log_errno(r, "rundir: writing %s/run.json failed: %m", ret_dir);
			}
			return 0;
		}
		if (errno != EEXIST)
			return log_errno(-errno, "rundir: creating %s failed: %m", ret_dir);

		struct run_info other;
		r = rundir_read(ret_dir, &other);
		if (r == 0 && !run_owner_alive(&other)) {
			collect_dead(ret_dir, &other);
			n--;            /* try the same name again */
			continue;
		}
		/* r < 0: another supervisor is between its mkdir and its
		 * run.json, or the entry is broken: either way, not ours. */
		if (explicit_name && r == 0)
			return log_errno(-EEXIST, "rundir: the name '%s' is in use by a running supervise (pid %d); "
						  "choose another --name", info->name, (int)other.pid);
		if (explicit_name)
			return log_errno(-EEXIST, "rundir: the name '%s' is being claimed by another supervise that "
						  "is starting; choose another --name", info->name);
	}
	return log_errno(-EEXIST, "rundir: no free name for '%s' in %s", wanted, root);
}

/* The owner mark on a leaf: an xattr, so that a supervisor using another
 * runtime directory (another user, a test) is still recognised by gc. */
#define OWNER_XATTR "user.supervise.owner"

int rundir_mark_leaf(const char *leaf, const struct run_info *ri)
{
	char v[64];
	int n = snprintf(v, sizeof(v), "%d %" PRIu64, (int)ri->pid, ri->pid_starttime);
	if (setxattr(leaf, OWNER_XATTR, v, n, 0) < 0)
		return log_errno_level(LOG_DEBUG, -errno, "rundir: marking %s with its owner failed: %m", leaf);
	return 0;
}

/* 1: the leaf's marked owner runs; 0: it is gone; -ENODATA: no mark. */
static int leaf_owner_alive(const char *leaf)
{
	char v[64];
	ssize_t n = getxattr(leaf, OWNER_XATTR, v, sizeof(v) - 1);
	if (n < 0)
		return -ENODATA;
	v[n] = '\0';
	struct run_info ri = { 0 };
	int pid;
	if (sscanf(v, "%d %" SCNu64, &pid, &ri.pid_starttime) != 2)
		return -ENODATA;
	ri.pid = pid;
	return run_owner_alive(&ri);
}

int rundir_foreach(int (*cb)(const char *dir, const struct run_info *ri, void *userdata), void *userdata)
{
	const char *root = rundir_root();
	_cleanup_closedir_ DIR *d = opendir(root);
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", root, de->d_name);
		struct run_info ri;
		if (rundir_read(dir, &ri) < 0)
			continue;
		int r = cb(dir, &ri, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

struct gc_walk {
	char (*leaves)[NAME_MAX + 1];
	int nleaves;
	const char *sdir;
	int removed;
};

static int gc_one(const char *dir, const struct run_info *ri, void *userdata)
{
	struct gc_walk *w = userdata;
	if (!run_owner_alive(ri)) {
		collect_dead(dir, ri);
		w->removed++;
		return 0;
	}
	/* A live run: its leaf is not a candidate. */
	for (int i = 0; i < w->nleaves; i++) {
		char leaf[PATH_MAX];
		snprintf(leaf, sizeof(leaf), "%s/%s", w->sdir, w->leaves[i]);
		if (streq(leaf, ri->cgroup))
			w->leaves[i][0] = '\0';
	}
	return 0;
}

int rundir_gc(const char *base)
{
	int removed = 0;
	/* List unclaimed-leaf candidates before reading run directories: a run
	 * creates its run directory before its leaf and removes it after, so a
	 * leaf listed here whose run directory is missing below is stale. */
	char leaves[64][NAME_MAX + 1];
	int nleaves = 0;
	char sdir[PATH_MAX] = "";
	if (base) {
		snprintf(sdir, sizeof(sdir), "%s/supervise", base);
		_cleanup_closedir_ DIR *d = opendir(sdir);
		for (struct dirent *de; d && (de = readdir(d)) && nleaves < 64;)
			if (de->d_type == DT_DIR && de->d_name[0] != '.')
				snprintf(leaves[nleaves++], sizeof(leaves[0]), "%s", de->d_name);
	}

	struct gc_walk w = { .leaves = leaves, .nleaves = nleaves, .sdir = sdir };
	rundir_foreach(gc_one, &w);
	removed += w.removed;

	for (int i = 0; i < nleaves; i++) {
		if (!leaves[i][0])
			continue;
		char leaf[PATH_MAX];
		snprintf(leaf, sizeof(leaf), "%s/%s", sdir, leaves[i]);
		if (access(leaf, F_OK) < 0)
			continue;
		/* Kill only what a dead owner provably left. A leaf without a mark
		 * (a kernel without cgroupfs xattrs) is removed only when empty and old. */
		int alive = leaf_owner_alive(leaf);
		if (alive == 1)
			continue;
		if (alive < 0) {
			/* Unmarked: a supervisor may be between its mkdir and its
			 * mark; give it a minute, and never kill what runs inside. */
			struct stat st;
			if (cgroup_populated(leaf) != 0 || stat(leaf, &st) < 0 || time(NULL) - st.st_ctime < 60)
				continue;
		}
		cgroup_kill(leaf);
		cgroup_wait_empty(leaf, 2000, NULL, NULL);
		if (cgroup_remove_tree(leaf) == 0) {
			removed++;
			log_warn("gc: removed %s, which no running supervise owns", leaf);
		}
	}
	if (sdir[0])
		rmdir(sdir);
	return removed;
}
