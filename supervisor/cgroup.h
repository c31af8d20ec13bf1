/* cgroup: the workload's cgroup v2 leaf — find the v2 mount, create a fresh
 * leaf, write limits where controllers exist, kill, remove.
 *
 * Lifecycle: cgroup_v2_mount() → cgroup_create() → cgroup_apply_limits() →
 * (launch with CLONE_INTO_CGROUP into cg->fd) → cgroup_kill() →
 * cgroup_wait_empty() → cgroup_destroy(). A leaf is never reused after
 * cgroup.kill: on 6.18 every later CLONE_INTO_CGROUP into it is SIGKILLed. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum cgroup_controller {
	CGROUP_MEMORY = 1 << 0,
	CGROUP_CPU    = 1 << 1,
	CGROUP_PIDS   = 1 << 2,
};

struct cgroup {
	char path[PATH_MAX];        /* absolute, inside the v2 mount */
	char parent[PATH_MAX];      /* <base>/supervise */
	int fd;                     /* O_PATH|O_DIRECTORY on the leaf, for clone3 */
	uint64_t id;                /* cgroup id (inode): what BPF sees */
	unsigned controllers;       /* enabled in the leaf (enum cgroup_controller) */
};

struct cgroup_limits {
	uint64_t memory_max;        /* 0: not set */
	uint64_t memory_high;       /* 0: not set */
	uint64_t cpu_quota_us;      /* per cpu_period_us; 0: not set */
	uint64_t cpu_period_us;
	uint64_t pids_max;          /* 0: not set */
};

/* --- pure parsers (no I/O; unit-tested) ---------------------------------- */

/* The cgroup2 mount point from the text of /proc/self/mountinfo. Returns 0,
 * -ENOENT when there is none. Octal escapes (\040) are decoded. */
int cgroup_parse_mountinfo(const char *mountinfo, char *ret, size_t size);
/* The v2 path ("0::/a/b") from the text of /proc/PID/cgroup. */
int cgroup_parse_proc_cgroup(const char *text, char *ret, size_t size);
/* A key's value in a flat keyed file (cgroup.events, memory.events,
 * pids.events, cpu.stat): "populated 1\nfrozen 0\n". -ENOENT when absent. */
int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret);
/* Controller names of a cgroup.controllers line to a mask of the ones we use. */
unsigned cgroup_parse_controllers(const char *text);
/* "memory, cpu, pids" for messages. */
const char *cgroup_controller_names(unsigned mask, char *buf, size_t size);

/* --- host ------------------------------------------------------------------ */

/* The cgroup v2 mount of this host (cached). Returns 0 or -ENOENT (logged). */
int cgroup_v2_mount(const char **ret);
/* The v2 cgroup of a process as an absolute path under the mount. */
int cgroup_of_pid(pid_t pid, char *ret, size_t size);
/* Resolve --cgroup-base: an absolute path inside the mount as is, any other
 * absolute path relative to the mount's root. Must exist, resolve (realpath)
 * to a directory inside the v2 mount and be on cgroup2. NULL: the
 * supervisor's own cgroup. */
int cgroup_resolve_base(const char *arg, char *ret, size_t size);
/* Controllers usable in leaves below base (its cgroup.controllers). */
int cgroup_available(const char *base, unsigned *ret);
/* The memory a percentage of --mem refers to: the host's MemTotal, or the
 * lowest memory.max of base and its ancestors when that is lower. */
uint64_t cgroup_memory_reference(const char *base);

/* --- lifecycle ------------------------------------------------------------- */

/* Leaf path for name and id, without creating it. */
int cgroup_leaf_path(const char *base, const char *name, const char *id, char *ret, size_t size);
/* Create <base>/supervise/<name>-<id>, enabling the wanted controllers
 * (those available) in the parents' subtree_control on the way. */
int cgroup_create(const char *leaf_path, unsigned want, struct cgroup *ret);
/* Write the limits whose controller is enabled; *ret_unenforced gets the
 * controllers that were wanted but are not there. */
int cgroup_apply_limits(struct cgroup *cg, const struct cgroup_limits *l, unsigned *ret_unenforced);
/* Read one keyed value of a file in the leaf (memory.events oom_kill...). */
int cgroup_read_keyed(const char *cgroup_path, const char *file, const char *key, uint64_t *ret);
/* Read a file in the leaf holding one number (memory.peak). */
int cgroup_read_u64(const char *cgroup_path, const char *file, uint64_t *ret);
/* Is any process left in the cgroup or below? 1, 0, or -errno. */
int cgroup_populated(const char *cgroup_path);
/* Call fn(pid) for every pid of cgroup.procs in the cgroup and each cgroup
 * below it (the one walker of the tree). fn < 0 stops the walk with that
 * value. -errno when the top cgroup cannot be read; a child cgroup removed
 * during the walk is skipped. */
int cgroup_walk_procs(const char *cgroup_path, int (*fn)(pid_t pid, void *userdata), void *userdata);
/* Read a small file of the cgroup (memory.pressure...); length or -errno. */
int cgroup_read_text(const char *cgroup_path, const char *file, char *buf, size_t size);
/* Kill everything in the cgroup and below (cgroup.kill; SIGKILL to each
 * pid of cgroup.procs on kernels before 5.14). */
int cgroup_kill(const char *cgroup_path);
/* Wait up to timeout_ms for cgroup.events "populated 0", calling reap()
 * between polls so a subreaper collects the zombies that keep it populated. */
int cgroup_wait_empty(const char *cgroup_path, int timeout_ms, void (*reap)(void *), void *userdata);
/* rmdir the leaf (and its child cgroups), then <base>/supervise when empty. */
int cgroup_remove_tree(const char *cgroup_path);
/* Close the leaf's fd, remove its tree, then <base>/supervise when empty. */
int cgroup_destroy(struct cgroup *cg);

/* The one "kill, wait, remove" of a leaf, for every caller (run teardown,
 * the guard, gc): cgroup.kill when populated, wait up to timeout_ms for it to
 * empty (calling reap between polls), call emptied() (the last reading before
 * the leaf goes), remove the tree and the parent when it was the last leaf.
 * A missing leaf is 0. t NULL: 2 s, no callbacks. */
struct cgroup_teardown {
	int timeout_ms;
	void (*reap)(void *userdata);
	void (*emptied)(void *userdata);
	void *userdata;
};
int cgroup_kill_remove(const char *cgroup_path, const struct cgroup_teardown *t);
/* Controllers asked for after the leaf was made (`supervise set --mem` on a
 * run started without): enable them in the parents and re-read the leaf's. */
int cgroup_enable_later(struct cgroup *cg, unsigned want);

/* --- CPU ------------------------------------------------------------------- */

/* Pure: cpu.max's text as CPUs (quota / period); 0 for "max". */
int cgroup_parse_cpu_max(const char *text, double *ret);
/* The tightest cpu.max quota of the cgroup and its ancestors, in CPUs; 0:
 * none (or no cpu controller, as on a hybrid host). */
double cgroup_cpu_quota(const char *cgroup_path);

/* --- validation ------------------------------------------------------------ */

/* Is path, read back from a file or a listing, a supervise leaf that may be
 * killed and removed: a canonical path (no symlink, no ..) inside the v2 mount,
 * of the form …/supervise/<leaf>, on cgroup2 (statfs magic)? 0 or -EPERM
 * (-ENOENT when it does not exist). */
int cgroup_validate_leaf(const char *path);
