/* rundir: run directories under the runtime root, and the liveness locks
 * that say, in any pid or mount namespace, whether their owner still runs.
 *
 * Liveness: a supervisor holds an exclusive flock on its run directory and on
 * its leaf (inherited by its guard) for as long as it lives. The kernel drops
 * both when the last holder dies, so "the lock can be taken" proves the owner
 * dead wherever it ran; a pid looked up in our own /proc proves nothing (the
 * owner may live in another pid namespace). */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

#include "cgroup.h"
#include "jsonutil.h"
#include "log.h"
#include "proc.h"
#include "rundir.h"
#include "util.h"

/* run.json is a few hundred bytes; anything larger is not ours. */
#define RUN_JSON_MAX (64 * 1024)
/* A claim directory (".claim-*") is locked right after its mkdir: one that is
 * unlocked and this old was left by a starter that died. */
#define CLAIM_STALE_S 10
/* The locks of this process's own run, at fds >= 10 so that the guard can
 * move them to low numbers (rundir_keep_locks) without clobbering one. */
#define LOCK_FD_MIN 10

static int held_run_lock = -1, held_leaf_lock = -1;

static int take_fd_high(int fd)
{
	if (fd < 0 || fd >= LOCK_FD_MIN)
		return fd;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, LOCK_FD_MIN);
	int saved = errno;
	close(fd);
	errno = saved;
	return high;
}

/* --- the runtime root ------------------------------------------------------- */

static int root_path(char *buf, size_t size)
{
	const char *env = getenv("SUPERVISE_RUNTIME_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *what;
	int n;

	if (env && *env) {
		n = snprintf(buf, size, "%s", env);
		what = "SUPERVISE_RUNTIME_DIR";
	} else if (geteuid() == 0) {
		n = snprintf(buf, size, "/run/supervise");
		what = "/run/supervise";
	} else if (xdg && *xdg) {
		n = snprintf(buf, size, "%s/supervise", xdg);
		what = "XDG_RUNTIME_DIR";
	} else {
		n = snprintf(buf, size, "/tmp/supervise-%u", (unsigned)geteuid());
		what = "/tmp/supervise-UID";
	}
	/* Room for "/<name>" and the tombstone names below it. */
	if (n < 0 || (size_t)n + RUN_NAME_MAX + 32 >= size) {
		buf[0] = '\0';
		return log_errno(-ENAMETOOLONG, "rundir: the runtime directory from %s is %d characters long, more "
						"than the %zu a path can hold; set SUPERVISE_RUNTIME_DIR to a shorter path",
				 what, n, size - RUN_NAME_MAX - 33);
	}
	if (buf[0] != '/') {
		buf[0] = '\0';
		return log_errno(-EINVAL, "rundir: the runtime directory from %s is not an absolute path; set "
					  "SUPERVISE_RUNTIME_DIR to one", what);
	}
	return 0;
}

const char *rundir_root(void)
{
	static char root[PATH_MAX];
	static int r = 1;

	if (r > 0)
		r = root_path(root, sizeof(root));
	return root;
}

static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* Open the runtime root, creating it (mode 0700) when asked. It must be a
 * directory owned by the euid that no one else can write: another user who
 * can plant entries in it could make gc kill and remove what they name. */
static int open_root_checked(bool create);

static int open_root(bool create)
{
	/* gc and the claim both open it at start: say what is wrong once. */
	static int refused;
	if (refused)
		return refused;
	int r = open_root_checked(create);
	if (r == -EPERM || r == -ENAMETOOLONG || r == -EINVAL)
		refused = r;
	return r;
}

static int open_root_checked(bool create)
{
	const char *root = rundir_root();
	if (!*root)
		return -ENAMETOOLONG;   /* logged by root_path */
	if (create) {
		int r = mkdir_parents(root);
		if (r < 0)
			return log_errno(r, "rundir: creating the parents of %s failed: %m; set SUPERVISE_RUNTIME_DIR "
					    "to a writable directory", root);
		/* root's is readable by others, who may ls and stat root's runs;
		 * a user's is private. */
		if (mkdir(root, geteuid() == 0 ? 0755 : 0700) < 0 && errno != EEXIST)
			return log_errno(-errno, "rundir: creating %s failed: %m; set SUPERVISE_RUNTIME_DIR to a "
						 "writable directory", root);
	}
	_cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !create)
			return -ENOENT;
		return log_errno(-errno, "rundir: opening %s failed: %m%s", root,
				 errno == ELOOP || errno == ENOTDIR ? " (it is not a directory: a symlink? remove it)" : "");
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return log_errno(-errno, "rundir: stat %s failed: %m", root);
	/* Root's directory is trusted by everyone (root can do anything
	 * anyway): another user may read root's runs in it, never write. */
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return log_errno(-EPERM, "rundir: %s is owned by uid %u, not by you (uid %u): another user may "
					 "have made it to plant runs in it; remove it, or set SUPERVISE_RUNTIME_DIR (or "
					 "XDG_RUNTIME_DIR) to a directory of yours with mode 0700",
				 root, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 022)
		return log_errno(-EPERM, "rundir: %s has mode %04o: others can write in it; 'chmod 700 %s' "
					 "after checking what is in it, or set SUPERVISE_RUNTIME_DIR to a directory of "
					 "yours with mode 0700", root, (unsigned)(st.st_mode & 07777), root);
	return TAKE_FD(fd);
}

int rundir_check_root(void)
{
	int fd = open_root(false);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* The name of dir below the root, or NULL when dir is not <root>/<name>. */
static const char *name_in_root(const char *dir)
{
	const char *root = rundir_root();
	size_t len = strlen(root);
	if (!*root || strncmp(dir, root, len) != 0 || dir[len] != '/')
		return NULL;
	const char *name = dir + len + 1;
	return *name && !strchr(name, '/') ? name : NULL;
}

/* --- pure helpers ------------------------------------------------------------- */

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

/* Try a shared lock on a run directory or leaf: 1 when someone holds it
 * exclusively (its owner lives), 0 when not, -errno when it cannot be asked. */
static int lock_held(int fd)
{
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		return 0;
	}
	return errno == EWOULDBLOCK ? 1 : -errno;
}

bool run_owner_alive(const struct run_info *ri)
{
	/* The lock first: it works from any pid namespace. */
	if (run_name_valid(ri->name)) {
		_cleanup_close_ int root = open_root(false);
		_cleanup_close_ int fd = root < 0 ? -1 :
			openat(root, ri->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && lock_held(fd) == 1)
			return true;
	}
	/* A run of an older supervise, which took no lock. */
	uint64_t st;
	if (ri->pid <= 0 || pid_starttime(ri->pid, &st) < 0)
		return false;
	return st == ri->pid_starttime;
}

/* --- run.json ------------------------------------------------------------------ */

static int write_run_json(int dirfd, const struct run_info *ri)
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

	/* The directory is ours (0700 root, locked): a stale temp file is ours
	 * too, from a write that failed half-way. */
	unlinkat(dirfd, ".run.json.tmp", 0);
	_cleanup_close_ int fd = openat(dirfd, ".run.json.tmp",
					O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += n;
	}
	if (write(fd, "\n", 1) != 1)
		return -errno;
	/* rename: readers in other shells never see a half-written file. */
	if (renameat(dirfd, ".run.json.tmp", dirfd, "run.json") < 0)
		return -errno;
	return 0;
}

/* Read <dir>/run.json through an open run directory. The file was written by
 * whoever could write the directory: a FIFO, a device or a huge file must not
 * hang or exhaust us, and every field is checked before it is used. */
static int read_run_json(int dirfd, struct run_info *ret)
{
	_cleanup_close_ int fd = openat(dirfd, "run.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > RUN_JSON_MAX)
		return -EBADMSG;
	char buf[RUN_JSON_MAX + 1];
	ssize_t len = 0;
	while (len < RUN_JSON_MAX) {
		ssize_t n = read(fd, buf + len, RUN_JSON_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	_cleanup_(json_object_putp) json_object *o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object))
		return -EBADMSG;

	json_object *v;
	struct run_info ri = { 0 };
	const char *s;
	if (!json_object_object_get_ex(o, "name", &v) || !(s = json_object_get_string(v)) || !run_name_valid(s))
		return -EBADMSG;
	snprintf(ri.name, sizeof(ri.name), "%s", s);
	if (json_object_object_get_ex(o, "pid", &v))
		ri.pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "pid_starttime", &v))
		ri.pid_starttime = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "cgroup", &v) && (s = json_object_get_string(v))) {
		/* Never a truncated path: a prefix of a cgroup is another cgroup. */
		if (strlen(s) >= sizeof(ri.cgroup))
			return -EBADMSG;
		snprintf(ri.cgroup, sizeof(ri.cgroup), "%s", s);
	}
	if (json_object_object_get_ex(o, "started_unix", &v))
		ri.started_unix = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "budget_bytes", &v))
		ri.budget_bytes = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "backend", &v) && (s = json_object_get_string(v)))
		snprintf(ri.backend, sizeof(ri.backend), "%s", s);
	*ret = ri;
	return 0;
}

static int open_run_dir(const char *dir)
{
	const char *name = name_in_root(dir);
	if (!name) {
		/* Not below the root (a copy, a test): readable, never trusted
		 * more than its own content says. */
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	_cleanup_close_ int root = open_root(false);
	if (root < 0)
		return root;
	int fd = openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int rundir_read(const char *dir, struct run_info *ret)
{
	_cleanup_close_ int fd = open_run_dir(dir);
	if (fd < 0)
		return fd == -ELOOP || fd == -ENOTDIR ? -EBADMSG : fd;
	return read_run_json(fd, ret);
}

int rundir_update(const char *dir, const struct run_info *info)
{
	_cleanup_close_ int opened = -1;
	int fd = held_run_lock;
	if (fd < 0) {
		opened = open_run_dir(dir);
		if (opened < 0)
			return log_errno(opened, "rundir: opening %s failed: %m", dir);
		fd = opened;
	}
	int r = write_run_json(fd, info);
	if (r < 0)
		return log_errno(r, "rundir: updating %s/run.json failed: %m", dir);
	return 0;
}

/* --- removal ---------------------------------------------------------------- */

/* Unlink what is in an open run directory: files only (run.json, the
 * jobserver fifo, the advice page, the control socket); subdirectories are not
 * ours to make. Through the fd: a symlink swapped in leads nowhere. */
static void empty_dir(int fd)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return;
	_cleanup_closedir_ DIR *d = fdopendir(dup);
	if (!d) {
		close(dup);
		return;
	}
	for (struct dirent *de; (de = readdir(d));)
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			unlinkat(fd, de->d_name, 0);
}

static bool same_inode(int fd, int dirfd, const char *name)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int rundir_remove(const char *dir)
{
	const char *name = name_in_root(dir);
	if (!name)
		return log_errno(-EINVAL, "rundir: %s is not a run directory under %s; not removing it", dir,
				 rundir_root());
	_cleanup_close_ int root = open_root(false);
	if (root < 0)
		return root == -ENOENT ? 0 : root;
	_cleanup_close_ int fd = openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return log_errno(-errno, "rundir: not removing %s: %m%s", dir,
				 errno == ELOOP || errno == ENOTDIR ? " (it was replaced by something that is not our "
								      "directory)" : "");
	}
	/* Our own run: the directory must still be the one we locked. */
	if (held_run_lock >= 0 && !same_inode(held_run_lock, root, name))
		return log_errno(-ESTALE, "rundir: %s is no longer the directory this run made; not removing it", dir);
	empty_dir(fd);
	int r = unlinkat(root, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
	/* Gone: the locks have nothing left to guard. */
	closep(&held_run_lock);
	held_run_lock = -1;
	closep(&held_leaf_lock);
	held_leaf_lock = -1;
	return r;
}

/* --- leaves --------------------------------------------------------------------- */

/* The owner mark on a leaf: an xattr, so that gc can tell a leaf whose owner
 * took its lock ("lock PID START") from one being set up. Old supervise wrote
 * "PID START" and took no lock. */
#define OWNER_XATTR "user.supervise.owner"

int rundir_mark_leaf(const char *leaf, const struct run_info *ri)
{
	int fd = take_fd_high(open(leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
	if (fd < 0)
		return log_errno(-errno, "rundir: opening the leaf %s failed: %m", leaf);
	/* A gc looking at the leaf holds the lock for a moment; anyone who can
	 * open the leaf could hold it for good: then go on unmarked (gc never
	 * kills an unmarked leaf that has processes) rather than hang. */
	int r = -EWOULDBLOCK;
	for (int i = 0; i < 100 && r == -EWOULDBLOCK; i++) {
		r = flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : -errno;
		if (r == -EWOULDBLOCK)
			usleep(20000);
	}
	if (r < 0) {
		close(fd);
		return log_errno_level(LOG_WARN, r, "rundir: locking the leaf %s failed: %m; it goes unmarked", leaf);
	}
	closep(&held_leaf_lock);
	held_leaf_lock = fd;
	/* The mark after the lock: a marked leaf whose lock is free has lost
	 * its owner. */
	char v[64];
	int n = snprintf(v, sizeof(v), "lock %d %" PRIu64, (int)ri->pid, ri->pid_starttime);
	if (fsetxattr(fd, OWNER_XATTR, v, n, 0) < 0)
		return log_errno_level(LOG_DEBUG, -errno, "rundir: marking %s with its owner failed: %m", leaf);
	return 0;
}

int rundir_keep_locks(int first_fd)
{
	int *held[] = { &held_run_lock, &held_leaf_lock };
	for (size_t i = 0; i < ELEMENTSOF(held); i++) {
		if (*held[i] < 0)
			continue;
		if (dup2(*held[i], first_fd) == first_fd) {
			*held[i] = first_fd;
			first_fd++;
		}
	}
	return first_fd;
}

/* What the owner mark of a leaf says, lock aside. 0: the owner took the
 * lock, so a free lock means its holders are gone (or an old-style "PID
 * START" mark whose process is gone); 1: an old-style mark whose process
 * still runs; -ENODATA: no mark. */
static int mark_says(int fd)
{
	char v[64];
	ssize_t n = fgetxattr(fd, OWNER_XATTR, v, sizeof(v) - 1);
	if (n < 0)
		return -ENODATA;
	v[n] = '\0';
	int pid;
	uint64_t start, st;
	if (sscanf(v, "lock %d %" SCNu64, &pid, &start) == 2)
		return 0;
	if (sscanf(v, "%d %" SCNu64, &pid, &start) != 2)
		return -ENODATA;
	return pid > 0 && pid_starttime(pid, &st) == 0 && st == start;
}

int rundir_leaf_alive_fd(int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 1 : -errno;
	int r = mark_says(fd);
	flock(fd, LOCK_UN);
	return r;
}

void rundir_locks_ending(void)
{
	int held[] = { held_run_lock, held_leaf_lock };
	for (size_t i = 0; i < ELEMENTSOF(held); i++)
		if (held[i] >= 0)
			flock(held[i], LOCK_SH | LOCK_NB);
}

/* Take the owner's lock on a run directory or leaf for collecting it. A
 * live owner holds it exclusively: 1 at once. A guard cleaning up after its
 * supervisor holds it shared (rundir_locks_ending): wait for it to finish, a
 * few seconds at most, so that gc right after a SIGKILL finds the work done.
 * 0: we hold it exclusively now. */
static int owner_lock(int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return -errno;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return 1;
	for (int i = 0; i < 300; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		usleep(20000);
	}
	flock(fd, LOCK_UN);
	return 1;
}

/* Kill and remove a leaf whose owner is provably dead. The path came from a
 * file or a directory listing: it must be a leaf of ours on cgroup2 (not a
 * directory another user made in /tmp with a cgroup.procs of their choice). */
static int collect_leaf(const char *leaf, bool require_mark)
{
	if (cgroup_validate_leaf(leaf) < 0)
		return -EPERM;
	_cleanup_close_ int fd = open(leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Held until we are done: a second gc waits its turn. */
	if (owner_lock(fd) != 0)
		return -EBUSY;
	int alive = mark_says(fd);
	if (alive == 1)
		return -EBUSY;
	if (alive < 0 && require_mark) {
		/* Unmarked: a supervisor may be between its mkdir and its
		 * mark; give it a minute, and never kill what runs inside. */
		struct stat st;
		if (cgroup_populated(leaf) != 0 || fstat(fd, &st) < 0 || time(NULL) - st.st_ctime < 60)
			return -EBUSY;
	}
	/* With <base>/supervise when it was the last leaf. */
	int r = cgroup_kill_remove(leaf, NULL);
	return r < 0 ? r : 1;
}

/* --- claiming and collecting names ------------------------------------------ */

static void random_suffix(char *buf, size_t size)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)now_ns() ^ (uint32_t)getpid() << 16;
	snprintf(buf, size, "%08x", v);
}

/* Collect <root>/<name> when its owner is provably dead: take its lock,
 * check the name still leads to the locked directory, rename it to a
 * tombstone (a starter may claim the name at once), kill and remove its leaf,
 * then remove the tombstone. 1: collected, 0: alive or not ours, -errno. */
static int collect_run(int root, const char *name, bool quiet)
{
	_cleanup_close_ int fd = openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	int r = owner_lock(fd);
	if (r != 0)
		return r == 1 ? 0 : r;
	/* Locked, but maybe a directory that another gc already moved away
	 * (and a new run took the name): then the name is not ours to touch. */
	if (!same_inode(fd, root, name))
		return 0;
	struct run_info ri;
	int rr = read_run_json(fd, &ri);
	/* A run of an older supervise took no lock: its pid still counts. */
	uint64_t st;
	if (rr == 0 && ri.pid > 0 && pid_starttime(ri.pid, &st) == 0 && st == ri.pid_starttime)
		return 0;

	char tomb[NAME_MAX + 1], suffix[16];
	random_suffix(suffix, sizeof(suffix));
	snprintf(tomb, sizeof(tomb), ".tomb-%s-%s", suffix, name);
	if (renameat2(root, name, root, tomb, RENAME_NOREPLACE) < 0)
		return -errno;
	if (!same_inode(fd, root, tomb)) {
		/* Not what we locked: put it back and leave it. */
		renameat2(root, tomb, root, name, RENAME_NOREPLACE);
		return 0;
	}
	if (rr == 0 && ri.cgroup[0]) {
		r = collect_leaf(ri.cgroup, false);
		if (r == -EPERM)
			log_warn("gc: run '%s' names %s as its cgroup, which is not a supervise leaf on cgroup2; "
				 "not touching it", name, ri.cgroup);
	}
	empty_dir(fd);
	unlinkat(root, tomb, AT_REMOVEDIR);
	if (!quiet) {
		if (rr == 0)
			log_warn("gc: removed %s (cgroup %s) left by supervisor pid %d, which is gone", ri.name,
				 ri.cgroup[0] ? ri.cgroup : "-", (int)ri.pid);
		else
			log_warn("gc: removed the broken run directory %s/%s, which no running supervise holds",
				 rundir_root(), name);
	}
	return 1;
}

/* A claim or tombstone directory left by a supervise or gc that died. */
static void collect_leftover(int root, const char *name)
{
	_cleanup_close_ int fd = openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return;
	if (strncmp(name, ".claim-", 7) == 0 && time(NULL) - st.st_mtime < CLAIM_STALE_S)
		return;
	if (!same_inode(fd, root, name))
		return;
	empty_dir(fd);
	unlinkat(root, name, AT_REMOVEDIR);
}

/* Make a complete run directory under a private name, locked, and only then
 * give it its name: nobody ever sees a half-made run. */
static int make_claim(int root, const struct run_info *info, char *ret_tmp, size_t size, int *ret_fd)
{
	char suffix[16];
	random_suffix(suffix, sizeof(suffix));
	snprintf(ret_tmp, size, ".claim-%s", suffix);
	/* 0700 until it is locked: another user who can read the root must
	 * not take the lock first (and make the claim fail). */
	if (mkdirat(root, ret_tmp, 0700) < 0)
		return -errno;
	int fd = take_fd_high(openat(root, ret_tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;
		if (fd >= 0)
			close(fd);
		unlinkat(root, ret_tmp, AT_REMOVEDIR);
		return r;
	}
	int r = write_run_json(fd, info);
	/* Locked: now others may read it (ls, stat) as the root allows. */
	if (r == 0 && fchmod(fd, 0755) < 0)
		r = -errno;
	if (r < 0) {
		empty_dir(fd);
		unlinkat(root, ret_tmp, AT_REMOVEDIR);
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int rundir_claim(struct run_info *info, bool explicit_name, const char *base, const char *id,
		 char *ret_dir, size_t size)
{
	_cleanup_close_ int root = open_root(true);
	if (root < 0)
		return root;
	const char *rootpath = rundir_root();

	char wanted[RUN_NAME_MAX + 1];
	snprintf(wanted, sizeof(wanted), "%s", info->name);
	for (int n = 1, collected = 0; n < 1000; n++) {
		if (n > 1) {
			char suffix[16];
			int slen = snprintf(suffix, sizeof(suffix), "-%d", n);
			snprintf(info->name, sizeof(info->name), "%.*s%s", RUN_NAME_MAX - slen, wanted, suffix);
		}
		int len = snprintf(ret_dir, size, "%s/%s", rootpath, info->name);
		if (len < 0 || (size_t)len >= size)
			return log_errno(-ENAMETOOLONG, "rundir: %s/%s is too long a path; set SUPERVISE_RUNTIME_DIR "
							"to a shorter one", rootpath, info->name);
		int r = cgroup_leaf_path(base, info->name, id, info->cgroup, sizeof(info->cgroup));
		if (r < 0)
			return log_errno(r, "rundir: the cgroup path under %s is too long", base);

		char tmp[NAME_MAX + 1];
		int fd = -1;
		r = make_claim(root, info, tmp, sizeof(tmp), &fd);
		if (r < 0)
			return log_errno(r, "rundir: creating a run directory in %s failed: %m", rootpath);
		if (renameat2(root, tmp, root, info->name, RENAME_NOREPLACE) == 0) {
			closep(&held_run_lock);
			held_run_lock = fd;
			return 0;
		}
		r = -errno;
		empty_dir(fd);
		unlinkat(root, tmp, AT_REMOVEDIR);
		close(fd);
		if (r != -EEXIST)
			return log_errno(r, "rundir: naming %s failed: %m", ret_dir);

		/* Taken: by a live run, or by what a dead one left. */
		if (collected < 10 && collect_run(root, info->name, false) > 0) {
			collected++;
			n--;            /* try the same name again */
			continue;
		}
		if (explicit_name) {
			struct run_info other;
			_cleanup_close_ int ofd = openat(root, info->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (ofd >= 0 && read_run_json(ofd, &other) == 0)
				return log_errno(-EEXIST, "rundir: the name '%s' is in use by a running supervise (pid %d); "
							  "choose another --name", info->name, (int)other.pid);
			return log_errno(-EEXIST, "rundir: the name '%s' is held by a running supervise; choose "
						  "another --name", info->name);
		}
	}
	return log_errno(-EEXIST, "rundir: no free name for '%s' in %s", wanted, rootpath);
}

/* --- walking ------------------------------------------------------------------- */

int rundir_foreach(int (*cb)(const char *dir, const struct run_info *ri, void *userdata), void *userdata)
{
	_cleanup_close_ int root = open_root(false);
	if (root < 0)
		return root == -ENOENT ? 0 : root;
	int dup = fcntl(root, F_DUPFD_CLOEXEC, 0);
	_cleanup_closedir_ DIR *d = dup < 0 ? NULL : fdopendir(dup);
	if (!d) {
		if (dup >= 0)
			close(dup);
		return -errno;
	}
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.' || !run_name_valid(de->d_name))
			continue;
		_cleanup_close_ int fd = openat(root, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct run_info ri;
		if (fd < 0 || read_run_json(fd, &ri) < 0)
			continue;
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", rundir_root(), de->d_name);
		int r = cb(dir, &ri, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

int rundir_gc(const char *base)
{
	int removed = 0;

	/* Run directories: those whose lock can be taken. A root we refuse
	 * (another user's, writable by others) is an error: gc must say so. */
	_cleanup_close_ int root = open_root(false);
	if (root < 0 && root != -ENOENT)
		return root;
	if (root >= 0) {
		int dup = fcntl(root, F_DUPFD_CLOEXEC, 0);
		_cleanup_closedir_ DIR *d = dup < 0 ? NULL : fdopendir(dup);
		if (!d && dup >= 0)
			close(dup);
		for (struct dirent *de; d && (de = readdir(d));) {
			if (streq(de->d_name, ".") || streq(de->d_name, ".."))
				continue;
			if (strncmp(de->d_name, ".claim-", 7) == 0 || strncmp(de->d_name, ".tomb-", 6) == 0)
				collect_leftover(root, de->d_name);
			else if (run_name_valid(de->d_name) && collect_run(root, de->d_name, false) > 0)
				removed++;
		}
	}

	/* Leaves under <base>/supervise: each is judged by its own lock, so a
	 * live run whose run directory we cannot see (another runtime directory,
	 * a mount namespace that hides /run) keeps its leaf. */
	if (!base)
		return removed;
	char sdir[PATH_MAX];
	int len = snprintf(sdir, sizeof(sdir), "%s/supervise", base);
	if (len < 0 || (size_t)len >= sizeof(sdir))
		return removed;
	_cleanup_closedir_ DIR *d = opendir(sdir);
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		char leaf[PATH_MAX];
		len = snprintf(leaf, sizeof(leaf), "%s/%s", sdir, de->d_name);
		if (len < 0 || (size_t)len >= sizeof(leaf))
			continue;
		if (collect_leaf(leaf, true) > 0) {
			removed++;
			log_warn("gc: removed %s, which no running supervise owns", leaf);
		}
	}
	rmdir(sdir);
	return removed;
}
