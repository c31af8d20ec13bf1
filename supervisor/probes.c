/* probes: load, pin, share and unpin the host-wide probe set (bpf/track.bpf.c). */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "log.h"
#include "proc.h"
#include "rundir.h"
#include "util.h"
#include "probes.h"
#include "track.skel.h"

#define DEFAULT_PIN_DIR "/sys/fs/bpf/supervise"
#define BPFFS_MOUNT "/sys/fs/bpf"
#define BPFFS_MARK "mounted_by_supervise"   /* bpffs refuses names with dots */

static const char *const map_names[] = { "meta", "workloads", "procs", "pids", "events", "thresholds" };
/* Every name supervise pins (the link and program names below and the names
 * of the object's maps): the only ones it ever unlinks. The first five links
 * are attached for the set's life (rare events and the sweep); the hot ones
 * (hot_link_names) only while armed. */
static const char *const link_names[] = { "link_newtask", "link_exec", "link_exit", "link_exit_mmap", "link_sweep" };
static const char *const hot_link_names[] = { "link_rss_stat", "link_mmap_unlock" };
static const char *const hot_prog_names[] = { "prog_rss_stat", "prog_mmap_unlock" };

static bool is_map_of_ours(const char *name)
{
	/* The object's own map names, read from the embedded ELF once
	 * (opening parses it; nothing is loaded into the kernel). */
	static char names[32][NAME_MAX + 1];
	static size_t n;
	static bool done;
	if (!done) {
		struct track_bpf *obj = track_bpf__open();
		struct bpf_map *map;
		if (obj) {
			bpf_object__for_each_map(map, obj->obj)
				if (!bpf_map__is_internal(map) && n < ELEMENTSOF(names))
					snprintf(names[n++], sizeof(names[0]), "%s", bpf_map__name(map));
			track_bpf__destroy(obj);
		}
		done = true;
	}
	for (size_t i = 0; i < n; i++)
		if (streq(name, names[i]))
			return true;
	return false;
}

static bool is_our_pin(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(link_names); i++)
		if (streq(name, link_names[i]))
			return true;
	for (size_t i = 0; i < ELEMENTSOF(hot_link_names); i++)
		if (streq(name, hot_link_names[i]) || streq(name, hot_prog_names[i]))
			return true;
	for (size_t i = 0; i < ELEMENTSOF(map_names); i++)
		if (streq(name, map_names[i]))
			return true;
	return is_map_of_ours(name);
}

/* SUPERVISE_BPF_PIN_DIR may name any directory: only one on bpffs holds pins. */
static bool on_bpffs(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && sf.f_type == BPF_FS_MAGIC;
}

static void track_bpf_destroyp(struct track_bpf **p)
{
	if (*p)
		track_bpf__destroy(*p);
}

const char *probes_pin_dir(void)
{
	const char *e = getenv("SUPERVISE_BPF_PIN_DIR");
	static bool warned;

	if (!e || *e != '/')
		return DEFAULT_PIN_DIR;
	/* Pin paths are <dir>/<name> in PATH_MAX: never a truncated one. */
	if (strlen(e) >= PATH_MAX - NAME_MAX - 2) {
		if (!warned)
			log_warn("monitor: SUPERVISE_BPF_PIN_DIR is too long a path; using " DEFAULT_PIN_DIR);
		warned = true;
		return DEFAULT_PIN_DIR;
	}
	return e;
}

/* libbpf's own messages. Quiet by default: the one line we log says what
 * failed. -v (LOG_INFO) shows its warnings and notes, which hold the
 * verifier's log when a program does not load; -v -v (LOG_DEBUG) everything,
 * CO-RE relocations included. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level l = log_get_level();

	if (l < LOG_INFO || (level == LIBBPF_DEBUG && l < LOG_DEBUG))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void probes_log_init(void)
{
	libbpf_set_print(libbpf_print);
}

static void pin_path(char *buf, size_t size, const char *dir, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* The directory that holds dir (its bpffs mount, usually). */
static int parent_of(const char *dir, char *parent, size_t size)
{
	char *slash;

	snprintf(parent, size, "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return log_errno(-EINVAL, "monitor: pin directory %s must be below a bpffs mount", dir);
	*slash = '\0';
	return 0;
}

/* Is fd still what path leads to, on bpffs? (Not when the directory was
 * removed and made again, or the mount was detached, while we waited.) */
static bool still_there(int fd, const char *path)
{
	struct stat a, b;
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == BPF_FS_MAGIC && fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Mount bpffs at the usual mount point when the pin directory's parent is
 * not one. The mount is made under an exclusive lock on the directory below
 * it: two starters never stack two mounts. */
static int ensure_bpffs(const char *parent)
{
	if (on_bpffs(parent))
		return 0;
	if (strcmp(parent, BPFFS_MOUNT) != 0)
		return log_errno(-ENOTDIR, "monitor: %s is not a bpffs mount; set SUPERVISE_BPF_PIN_DIR below one", parent);
	_cleanup_close_ int fd = open(BPFFS_MOUNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_errno(-errno, "monitor: opening " BPFFS_MOUNT " failed: %m");
	if (flock(fd, LOCK_EX) < 0)
		return log_errno(-errno, "monitor: locking " BPFFS_MOUNT " failed: %m");
	if (on_bpffs(BPFFS_MOUNT))
		return 0;     /* another starter mounted it while we waited */
	if (mount("bpf", BPFFS_MOUNT, "bpf", 0, "mode=0700") < 0)
		return log_errno(-errno, "monitor: mounting bpffs at " BPFFS_MOUNT " failed: %m");
	/* Say in the mount itself that we made it: the last one out takes it
	 * down again (release_bpffs), also after a killed run, and the mark
	 * goes with the mount. */
	if (mkdir(BPFFS_MOUNT "/" BPFFS_MARK, 0700) < 0)
		log_debug("monitor: marking " BPFFS_MOUNT " as ours: %m");
	return 0;
}

/* Unmount the bpffs supervise mounted once nothing but the mark and the
 * kernel's own preload iterators (maps.debug, progs.debug, which every new
 * bpffs gets) is left in it. Under an exclusive lock on the mount's root: a
 * starter makes its pin directory under a shared one (lock_set), so the
 * directory is either seen here or made after the unmount (and the starter
 * then mounts again). */
static void release_bpffs(const char *parent)
{
	if (strcmp(parent, BPFFS_MOUNT) != 0)
		return;
	_cleanup_close_ int fd = open(BPFFS_MOUNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0 || !still_there(fd, BPFFS_MOUNT))
		return;
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	_cleanup_closedir_ DIR *d = dup < 0 ? NULL : fdopendir(dup);
	struct dirent *de;
	bool ours = false;

	if (!d) {
		if (dup >= 0)
			close(dup);
		return;
	}
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (streq(de->d_name, BPFFS_MARK))
			ours = true;
		else if (!streq(de->d_name, "maps.debug") && !streq(de->d_name, "progs.debug"))
			return;      /* someone else's pins: the mount is in use */
	}
	if (!ours)
		return;
	rmdir(BPFFS_MOUNT "/" BPFFS_MARK);
	/* Detach: our own lock fd is open on the mount root. */
	if (umount2(BPFFS_MOUNT, MNT_DETACH) < 0)
		log_debug("monitor: unmounting " BPFFS_MOUNT ": %m");
}

/* Take the lock of the probe set pinned in dir: an exclusive flock on the
 * pin directory itself, so that sets in other directories (the tests' own,
 * another user's) never wait for each other's loads and ends. Every change
 * to the set is made under it. create: make the directory (and mount bpffs)
 * when there is none; otherwise -ENOENT when there is no set. It is made
 * under a shared lock on the mount's root: once there, the directory keeps
 * the last one out of any set from unmounting the bpffs (release_bpffs), so
 * a start that finds it takes no lock but the set's. While we wait for the
 * set's lock its last one out may remove the directory, and unmount the
 * bpffs: then we start over. nonblock: -EAGAIN when another holds it.
 * Returns the locked fd (closing it unlocks). */
static int lock_set(const char *dir, bool create, bool nonblock)
{
	char parent[PATH_MAX];
	int r;

	r = parent_of(dir, parent, sizeof(parent));
	if (r < 0)
		return r;
	for (int attempt = 0; attempt < 6; attempt++) {
		_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0 && errno == ENOENT && create) {
			r = ensure_bpffs(parent);
			if (r < 0)
				return r;
			_cleanup_close_ int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (pfd < 0)
				return log_errno(-errno, "monitor: opening %s failed: %m", parent);
			if (flock(pfd, LOCK_SH) < 0)
				return log_errno(-errno, "monitor: locking %s failed: %m", parent);
			if (!still_there(pfd, parent))
				continue;     /* unmounted while we waited: mount again */
			if (mkdir(dir, 0700) < 0 && errno != EEXIST)
				return log_errno(-errno, "monitor: creating %s failed: %m", dir);
			fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0)
			return errno == ENOENT && !create ? -ENOENT : log_errno(-errno, "monitor: opening %s failed: %m", dir);
		if (!on_bpffs(dir))
			return log_errno(-ENOTDIR, "monitor: %s is not on bpffs (check SUPERVISE_BPF_PIN_DIR)", dir);
		if (flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : log_errno(-errno, "monitor: locking %s failed: %m", dir);
		if (still_there(fd, dir))
			return TAKE_FD(fd);
		if (!create)
			return -ENOENT;   /* the set went while we waited */
	}
	return log_errno(-ESTALE, "monitor: the pin directory %s kept going away while we waited for it", dir);
}

/* Start time of a process in clock ticks since boot (/proc/PID/stat field
 * 22): with the pid it names a process even across pid reuse. 0 when gone. */
static uint64_t proc_start_time(uint32_t pid)
{
	uint64_t t;
	return pid_starttime((pid_t)pid, &t) < 0 ? 0 : t;
}

/* Open a cgroup by its id (the kernfs node id BPF sees) through a file
 * handle on the v2 mount; needs CAP_DAC_READ_SEARCH. -ESTALE: it is gone. */
static int open_cgroup_by_id(uint64_t id)
{
	const char *mount;
	if (cgroup_v2_mount(&mount) < 0)
		return -ENOENT;
	_cleanup_close_ int mfd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -errno;
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = 0xfe /* FILEID_KERNFS */ }, .id = id };
	int fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Is the supervise that registered cgroup id alive? Its leaf's lock says so
 * from any pid namespace (a supervise in a container must not drop the
 * host's registrations); a leaf that is gone has no owner left. Only an
 * unmarked leaf (an older supervise) is judged by the pid. */
static bool owner_alive(uint64_t id, const struct track_workload *w)
{
	_cleanup_close_ int fd = open_cgroup_by_id(id);
	if (fd == -ESTALE || fd == -ENOENT)
		return false;
	if (fd >= 0) {
		int alive = rundir_leaf_alive_fd(fd);
		if (alive >= 0)
			return alive == 1;
	}
	if (kill((pid_t)w->owner_pid, 0) < 0 && errno == ESRCH)
		return false;
	return proc_start_time((pid_t)w->owner_pid) == w->owner_start;
}

void probes_close(struct probes *p)
{
	int *fds[] = { &p->meta_fd,	&p->workloads_fd, &p->procs_fd,	    &p->pids_fd,
		       &p->events_fd,	&p->thresholds_fd, &p->sweep_link_fd };

	for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static void probes_closep(struct probes *p)
{
	probes_close(p);
}

static int open_pins(const char *dir, struct probes *ret)
{
	_cleanup_(probes_closep) struct probes p = PROBES_INIT;
	int *fds[] = { &p.meta_fd, &p.workloads_fd, &p.procs_fd, &p.pids_fd, &p.events_fd, &p.thresholds_fd };
	char path[PATH_MAX];

	_Static_assert(ELEMENTSOF(fds) == ELEMENTSOF(map_names), "a map name without an fd");

	for (size_t i = 0; i < ELEMENTSOF(map_names); i++) {
		pin_path(path, sizeof(path), dir, map_names[i]);
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0)
			return -errno;
	}
	pin_path(path, sizeof(path), dir, "link_sweep");
	p.sweep_link_fd = bpf_obj_get(path);
	if (p.sweep_link_fd < 0)
		return -errno;
	*ret = p;
	p = (struct probes)PROBES_INIT;
	return 0;
}

int probes_open_pinned(struct probes *ret)
{
	probes_log_init();
	return open_pins(probes_pin_dir(), ret);
}

/* Remove every pin of the set; programs and maps go when no fd holds them.
 * Only on bpffs and only our own names: the directory comes from the
 * environment, and whatever else is in it is someone else's. remove_dir:
 * the directory too (when empty), by the last one out only: it is the set's
 * lock, and a set loaded again goes into the same directory. */
static void unpin_all(const char *dir, bool remove_dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct statfs sf;
	struct dirent *de;

	if (fd < 0)
		return;
	if (fstatfs(fd, &sf) < 0 || sf.f_type != BPF_FS_MAGIC) {
		log_warn("monitor: %s is not on bpffs; not removing anything in it (check SUPERVISE_BPF_PIN_DIR)", dir);
		return;
	}
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	_cleanup_closedir_ DIR *d = dup < 0 ? NULL : fdopendir(dup);
	if (!d) {
		if (dup >= 0)
			close(dup);
		return;
	}
	while ((de = readdir(d)))
		if (is_our_pin(de->d_name))
			unlinkat(fd, de->d_name, 0);
	if (remove_dir)
		rmdir(dir);
}

static int load_and_pin(const char *dir)
{
	_cleanup_(track_bpf_destroyp) struct track_bpf *obj = NULL;
	struct track_meta meta = { .version = TRACK_VERSION };
	struct bpf_map *map;
	char path[PATH_MAX];
	uint32_t zero = 0;
	int r;

	obj = track_bpf__open();
	if (!obj)
		return log_errno(-errno, "monitor: opening the BPF object failed: %m");
	obj->rodata->page_size = sysconf(_SC_PAGESIZE);
	r = libbpf_num_possible_cpus();
	obj->rodata->nr_cpus = r > 0 ? r : 1;
	/* The hot programs fire on every page fault and mmap-lock release of
	 * every process on the host: they are attached only while some
	 * workload is near a threshold (probes_arm). */
	bpf_program__set_autoattach(obj->progs.on_rss_stat, false);
	bpf_program__set_autoattach(obj->progs.on_mmap_unlock, false);
	r = track_bpf__load(obj);
	if (r < 0)
		return log_errno(r, "monitor: loading BPF programs failed: %m (run with -v for the verifier log)");
	r = track_bpf__attach(obj);
	if (r < 0)
		return log_errno(r, "monitor: attaching BPF programs failed: %m");

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return log_errno(-errno, "monitor: creating %s failed: %m", dir);
	bpf_object__for_each_map(map, obj->obj) {
		if (bpf_map__is_internal(map))
			continue;

		pin_path(path, sizeof(path), dir, bpf_map__name(map));
		r = bpf_map__pin(map, path);
		if (r < 0)
			goto fail;
	}
	{
		/* In the order of link_names. */
		struct bpf_link *links[] = { obj->links.on_newtask, obj->links.on_exec, obj->links.on_exit,
					     obj->links.on_exit_mmap, obj->links.sweep };
		struct bpf_program *hot[] = { obj->progs.on_rss_stat, obj->progs.on_mmap_unlock };
		_Static_assert(ELEMENTSOF(links) == ELEMENTSOF(link_names), "a link without a pin name");
		_Static_assert(ELEMENTSOF(hot) == ELEMENTSOF(hot_prog_names), "a program without a pin name");

		for (size_t i = 0; i < ELEMENTSOF(links); i++) {
			pin_path(path, sizeof(path), dir, link_names[i]);
			r = bpf_link__pin(links[i], path);
			if (r < 0)
				goto fail;
		}
		/* Pinned so that any supervise can attach them later. */
		for (size_t i = 0; i < ELEMENTSOF(hot); i++) {
			pin_path(path, sizeof(path), dir, hot_prog_names[i]);
			r = bpf_program__pin(hot[i], path);
			if (r < 0)
				goto fail;
		}
	}
	/* Written last: a set without meta is a half-made one and is replaced. */
	meta.page_size = obj->rodata->page_size;
	meta.loaded_ns = now_ns();
	r = bpf_map_update_elem(bpf_map__fd(obj->maps.meta), &zero, &meta, BPF_ANY);
	if (r < 0)
		goto fail;
	return 0;
fail:
	log_errno(r, "monitor: pinning the probe set under %s failed: %m", dir);
	unpin_all(dir, false);
	return r;
}

/* Is the set pinned in dir ours (same version)? */
static int pinned_version(const char *dir, uint32_t *ret)
{
	_cleanup_close_ int fd = -1;
	struct track_meta meta = {};
	char path[PATH_MAX];
	uint32_t zero = 0;

	pin_path(path, sizeof(path), dir, "meta");
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, &meta) < 0)
		return -errno;
	*ret = meta.version;
	return 0;
}

struct purge {
	struct probes *p;
	uint64_t cgroup_id;
	uint64_t *keys;
	uint32_t *pids;
	size_t n, cap;
};

static int collect_workload_procs(uint64_t key, const struct track_proc *proc, void *userdata)
{
	struct purge *pg = userdata;

	if (proc->workload != pg->cgroup_id)
		return 0;
	if (pg->n == pg->cap) {
		size_t cap = pg->cap ? pg->cap * 2 : 64;
		uint64_t *k = realloc(pg->keys, cap * sizeof(*k));
		uint32_t *pp;

		if (!k)
			return -ENOMEM;
		pg->keys = k;
		pp = realloc(pg->pids, cap * sizeof(*pp));
		if (!pp)
			return -ENOMEM;
		pg->pids = pp;
		pg->cap = cap;
	}
	pg->keys[pg->n] = key;
	pg->pids[pg->n] = proc->pid;
	pg->n++;
	return 0;
}

/* Forget a workload: stop tracking new processes first (its entry: with it
 * goes the way to its ring buffer), then the processes already tracked. */
static int drop_workload(struct probes *p, uint64_t cgroup_id)
{
	struct purge pg = { .p = p, .cgroup_id = cgroup_id };
	int r;

	/* Its ring buffer slot stays for the next run (take_ring). */
	bpf_map_delete_elem(p->workloads_fd, &cgroup_id);
	r = probes_for_each_proc(p->procs_fd, collect_workload_procs, &pg);
	for (size_t i = 0; i < pg.n; i++) {
		uint64_t cur;

		if (bpf_map_lookup_elem(p->pids_fd, &pg.pids[i], &cur) == 0 && cur == pg.keys[i])
			bpf_map_delete_elem(p->pids_fd, &pg.pids[i]);
		bpf_map_delete_elem(p->procs_fd, &pg.keys[i]);
	}
	free(pg.keys);
	free(pg.pids);
	return r;
}

/* Registrations whose supervise is gone (SIGKILL, crash). Returns how many. */
static int reap_dead(struct probes *p, size_t *ret_left)
{
	uint64_t key, next, dead[64];
	struct track_workload w;
	size_t nr_dead, left, total = 0;
	void *prev;
	int rounds = 0;

	/* In rounds of 64: every dead registration goes, however many (the
	 * bound only stops a map that refuses deletes from spinning us). */
	do {
		nr_dead = left = 0;
		prev = NULL;
		while (bpf_map_get_next_key(p->workloads_fd, prev, &next) == 0) {
			key = next;
			prev = &key;
			if (bpf_map_lookup_elem(p->workloads_fd, &key, &w) < 0)
				continue;
			if (owner_alive(key, &w)) {
				left++;
				continue;
			}
			if (nr_dead < ELEMENTSOF(dead))
				dead[nr_dead++] = key;
		}
		for (size_t i = 0; i < nr_dead; i++) {
			log_info("monitor: dropping the registration of cgroup %" PRIu64 " (its supervise is gone)",
				 dead[i]);
			drop_workload(p, dead[i]);
		}
		total += nr_dead;
	} while (nr_dead == ELEMENTSOF(dead) && ++rounds < 1024);
	*ret_left = left;
	return total;
}

/* Attach or detach the hot programs to match the live workloads' wishes:
 * attached while at least one registered workload has "armed" set in
 * "thresholds". A wish left by a killed supervisor counts for nothing once
 * reap_dead dropped its registration. Lock held. */
static int settle_arm(struct probes *p, const char *dir)
{
	uint64_t key, next, *prev = NULL;
	struct track_thresholds t;
	struct track_workload w;
	char path[PATH_MAX], prog_path[PATH_MAX];
	bool want = false;
	int r;

	if (!on_bpffs(dir))
		return log_errno(-ENOTDIR, "monitor: %s is not on bpffs (check SUPERVISE_BPF_PIN_DIR)", dir);
	while (!want && bpf_map_get_next_key(p->thresholds_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		want = bpf_map_lookup_elem(p->thresholds_fd, &key, &t) == 0 && t.armed &&
		       bpf_map_lookup_elem(p->workloads_fd, &key, &w) == 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(hot_link_names); i++) {
		pin_path(path, sizeof(path), dir, hot_link_names[i]);
		bool have = access(path, F_OK) == 0;
		if (want == have)
			continue;
		if (!want) {
			/* The pin held the only reference: the program detaches. */
			if (unlink(path) < 0 && errno != ENOENT)
				return log_errno(-errno, "monitor: detaching %s failed: %m", path);
			log_debug("monitor: detached %s (no workload near a threshold)", hot_prog_names[i]);
			continue;
		}
		pin_path(prog_path, sizeof(prog_path), dir, hot_prog_names[i]);
		_cleanup_close_ int prog = bpf_obj_get(prog_path);
		if (prog < 0)
			return log_errno(-errno, "monitor: opening %s failed: %m", prog_path);
		_cleanup_close_ int link = bpf_raw_tracepoint_open(NULL, prog);
		if (link < 0)
			return log_errno(link, "monitor: attaching %s failed: %m", prog_path);
		r = bpf_obj_pin(link, path);
		if (r < 0)
			return log_errno(r, "monitor: pinning %s failed: %m", path);
		log_debug("monitor: attached %s (a workload is near a threshold)", hot_prog_names[i]);
	}
	return 0;
}

int probes_arm(struct probes *p, uint64_t cgroup_id, bool want, bool blocking)
{
	const char *dir = probes_pin_dir();
	struct track_thresholds t = { .version = TRACK_VERSION };
	int r;

	/* The wish first, kept with the rest of the value (this process is
	 * the only writer of its key): whoever settles next sees it. */
	if (bpf_map_lookup_elem(p->thresholds_fd, &cgroup_id, &t) < 0 && errno != ENOENT)
		return log_errno(-errno, "monitor: reading the thresholds failed: %m");
	t.armed = want;
	r = bpf_map_update_elem(p->thresholds_fd, &cgroup_id, &t, BPF_ANY);
	if (r < 0)
		return log_errno(r, "monitor: saying the workload is %s a threshold failed: %m", want ? "near" : "far from");
	/* Never wait in the loop for a start that loads the set (~100 ms). */
	_cleanup_close_ int lock = lock_set(dir, false, !blocking);
	if (lock == -ENOENT)
		return log_errno(-ESTALE, "monitor: the probe set under %s went away", dir);
	if (lock < 0)
		return lock;
	return settle_arm(p, dir);
}

bool probes_armed(void)
{
	char path[PATH_MAX];

	pin_path(path, sizeof(path), probes_pin_dir(), hot_link_names[0]);
	return access(path, F_OK) == 0;
}

/* A ring buffer for a new workload, lock held: the lowest slot of "events"
 * whose ring buffer no live registration uses, taken over as it is (no
 * map-in-map update: no RCU grace period on the start), else the lowest
 * empty slot with a new ring buffer. Slots fill from the lowest and are never
 * emptied while the set lives, so the first empty one ends the search. What
 * the ring buffer still holds of its last run is not ours: records name their
 * workload, and the reader drops the others. */
static int take_ring(const struct probes *p, uint32_t *ret_slot, int *ret_fd)
{
	_cleanup_free_ bool *used = calloc(TRACK_MAX_RINGS, sizeof(*used));
	uint64_t key, next, *prev = NULL;
	struct track_workload w;
	uint32_t slot, id;
	int r;

	if (!used)
		return -ENOMEM;
	while (bpf_map_get_next_key(p->workloads_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(p->workloads_fd, &key, &w) == 0 && w.ring_slot < TRACK_MAX_RINGS)
			used[w.ring_slot] = true;
	}
	for (slot = 0; slot < TRACK_MAX_RINGS; slot++) {
		if (used[slot])
			continue;
		if (bpf_map_lookup_elem(p->events_fd, &slot, &id) < 0)
			break;     /* empty: no ring buffer here yet */
		/* By id needs CAP_SYS_ADMIN: without it, a new one replaces it. */
		int fd = bpf_map_get_fd_by_id(id);
		if (fd >= 0) {
			*ret_slot = slot;
			*ret_fd = fd;
			return 0;
		}
		log_debug("monitor: taking over ring buffer slot %u: %s; making a new one", slot, strerror(-fd));
		break;
	}
	if (slot == TRACK_MAX_RINGS)
		return log_errno(-EBUSY, "monitor: %d workloads are registered already; wait for one to end", TRACK_MAX_RINGS);
	_cleanup_close_ int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "sv_events", 0, 0, TRACK_RING_BYTES, NULL);
	if (fd < 0)
		return log_errno(fd, "monitor: creating the event ring buffer failed: %m");
	r = bpf_map_update_elem(p->events_fd, &slot, &fd, BPF_ANY);
	if (r < 0)
		return log_errno(r, "monitor: registering the event ring buffer failed: %m");
	*ret_slot = slot;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Load the set unless a whole one of our version is pinned, open it, drop
 * the dead, register. Lock held. */
static int register_locked(const char *dir, uint64_t cgroup_id, struct probes *ret, int *ret_ring_fd)
{
	_cleanup_close_ int ring_fd = -1;
	_cleanup_(probes_closep) struct probes p = PROBES_INIT;
	struct track_workload w = { .version = TRACK_VERSION };
	uint32_t version;
	size_t left;
	int r;

	r = pinned_version(dir, &version);
	if (r == 0 && version != TRACK_VERSION) {
		/* Supervisors still using the old set keep their fds (and their
		 * links stay attached until they close them). */
		log_info("monitor: replacing the pinned probe set version %u with version %u", version, TRACK_VERSION);
		unpin_all(dir, false);
	}
	if (r < 0 || version != TRACK_VERSION || open_pins(dir, &p) < 0) {
		probes_close(&p);
		unpin_all(dir, false);
		r = load_and_pin(dir);
		if (r < 0)
			return r;
		r = open_pins(dir, &p);
		if (r < 0)
			return log_errno(r, "monitor: opening the pins under %s failed: %m", dir);
	}

	reap_dead(&p, &left);
	/* A killed supervisor's arm dies with its registration. */
	settle_arm(&p, dir);

	r = take_ring(&p, &w.ring_slot, &ring_fd);
	if (r < 0)
		return r;
	w.owner_pid = getpid();
	w.owner_start = proc_start_time(getpid());
	r = bpf_map_update_elem(p.workloads_fd, &cgroup_id, &w, BPF_NOEXIST);
	if (r < 0)
		return log_errno(r, "monitor: registering cgroup %" PRIu64 " failed: %m%s", cgroup_id,
				 r == -EEXIST ? " (another live supervise watches it)" : "");
	*ret = p;
	p = (struct probes)PROBES_INIT;
	*ret_ring_fd = TAKE_FD(ring_fd);
	return 0;
}

int probes_register(uint64_t cgroup_id, struct probes *ret, int *ret_ring_fd)
{
	const char *dir = probes_pin_dir();
	char parent[PATH_MAX];
	int r;

	probes_log_init();
	r = parent_of(dir, parent, sizeof(parent));
	if (r < 0)
		return r;
	_cleanup_close_ int lock = lock_set(dir, true, false);
	if (lock < 0)
		return lock;
	r = register_locked(dir, cgroup_id, ret, ret_ring_fd);
	/* An empty directory left by a failed load would keep the bpffs
	 * mounted (rmdir removes only an empty one). */
	if (r < 0 && rmdir(dir) == 0)
		release_bpffs(parent);
	return r;
}

int probes_unregister(struct probes *p, uint64_t cgroup_id)
{
	const char *dir = probes_pin_dir();
	char parent[PATH_MAX];
	size_t left;
	int r;

	if (p->workloads_fd < 0)
		return 0;
	_cleanup_close_ int lock = lock_set(dir, false, false);
	r = drop_workload(p, cgroup_id);
	reap_dead(p, &left);
	if (left > 0 && lock >= 0)
		settle_arm(p, dir);
	/* Last one out: only if the pins are still the set we hold. */
	if (left == 0 && lock >= 0) {
		uint32_t version;

		if (pinned_version(dir, &version) == 0 && version == TRACK_VERSION) {
			unpin_all(dir, true);
			if (parent_of(dir, parent, sizeof(parent)) == 0)
				release_bpffs(parent);
		}
	}
	probes_close(p);
	return r;
}

int probes_gc(void)
{
	_cleanup_(probes_closep) struct probes p = PROBES_INIT;
	const char *dir = probes_pin_dir();
	char parent[PATH_MAX];
	uint32_t version;
	size_t left;
	int r;

	probes_log_init();
	r = parent_of(dir, parent, sizeof(parent));
	if (r < 0)
		return r;
	if (access(dir, F_OK) < 0) {
		/* No set pinned: a mount we made may still be up (a killed run). */
		release_bpffs(parent);
		return 0;
	}
	if (!on_bpffs(dir)) {
		log_warn("monitor: the pin directory %s is not on bpffs, so it holds no probe set; gc leaves it "
			 "alone (check SUPERVISE_BPF_PIN_DIR)", dir);
		return 0;
	}
	_cleanup_close_ int lock = lock_set(dir, false, false);
	if (lock == -ENOENT) {
		release_bpffs(parent);
		return 0;
	}
	if (lock < 0)
		return lock;
	if (pinned_version(dir, &version) < 0 || version != TRACK_VERSION || open_pins(dir, &p) < 0) {
		log_info("monitor: removing an incomplete or incompatible probe set under %s", dir);
		unpin_all(dir, true);
		release_bpffs(parent);
		return 0;
	}
	r = reap_dead(&p, &left);
	if (left == 0) {
		unpin_all(dir, true);
		release_bpffs(parent);
	} else
		settle_arm(&p, dir);
	return r;
}

int probes_sweep(struct probes *p, uint64_t *ret_gen)
{
	_cleanup_close_ int fd = -1;
	char buf[256];
	size_t len = 0;
	ssize_t n;

	fd = bpf_iter_create(p->sweep_link_fd);
	if (fd < 0)
		return log_errno(fd, "monitor: starting the task sweep failed: %m");
	/* The program prints only at the end of the walk. */
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return log_errno(-errno, "monitor: the task sweep failed: %m");
		}
		len += n;
		if (len == sizeof(buf) - 1)
			len = 0;
	}
	buf[len] = '\0';
	if (ret_gen && sscanf(buf, "gen %" SCNu64, ret_gen) != 1)
		*ret_gen = 0;
	return 0;
}

int probes_for_each_proc(int procs_fd,
			 int (*cb)(uint64_t key, const struct track_proc *p, void *userdata),
			 void *userdata)
{
	enum { CHUNK = 256 };
	_cleanup_free_ uint64_t *keys = malloc(CHUNK * sizeof(*keys));
	_cleanup_free_ struct track_proc *vals = malloc(CHUNK * sizeof(*vals));
	uint64_t in = 0, out = 0;
	bool first = true;
	int r;

	if (!keys || !vals)
		return -ENOMEM;
	for (;;) {
		uint32_t count = CHUNK;
		int rr;

		rr = bpf_map_lookup_batch(procs_fd, first ? NULL : &in, &out, keys, vals, &count, NULL);
		if (rr < 0 && rr != -ENOENT)
			return rr;
		for (uint32_t i = 0; i < count; i++) {
			r = cb(keys[i], &vals[i], userdata);
			if (r < 0)
				return r;
		}
		if (rr == -ENOENT)
			return 0;
		in = out;
		first = false;
	}
}
