/* rundir: /run/supervise/<name>/ — who owns a run, its cgroup and start time.
 * `supervise ls/stat` and `gc` read it from other shells.
 *
 * The runtime root must be owned by the euid and writable by no one else, or
 * every entry point refuses with the fix. A live supervisor (and its guard)
 * holds an exclusive flock on its run directory and on its leaf: a run is
 * collected only by whoever can take that lock, which proves the owner dead
 * from any pid or mount namespace. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define RUN_NAME_MAX 64

struct run_info {
	char name[RUN_NAME_MAX + 1];
	pid_t pid;
	uint64_t pid_starttime;     /* /proc/PID/stat field 22, clock ticks since boot */
	char cgroup[PATH_MAX];
	int64_t started_unix;
	uint64_t budget_bytes;      /* --mem, 0 without */
	char backend[16];           /* "bpf" | "procfs", once the monitor is open */
};

/* The root of run directories: $SUPERVISE_RUNTIME_DIR, else /run/supervise
 * for root, else $XDG_RUNTIME_DIR/supervise, else /tmp/supervise-UID. */
const char *rundir_root(void);

/* Is the runtime root usable: 0, -ENOENT (made at the first run), or the
 * refusal (logged with the fix). */
int rundir_check_root(void);

/* Pure: field 22 (starttime) of the text of /proc/PID/stat; the comm field
 * may hold spaces and parentheses. */
int proc_stat_starttime(const char *text, uint64_t *ret);
/* Pure: a name supervise accepts ([A-Za-z0-9._-], 1..64, no leading dot). */
bool run_name_valid(const char *name);
/* Pure: a default name from a command: basename, other characters as '_'. */
void run_name_from_command(const char *cmd, char *ret, size_t size);

/* Does the recorded owner still run? Its run directory's lock says so from
 * any pid namespace; a run of an older supervise is judged by its pid. */
bool run_owner_alive(const struct run_info *ri);

/* Claim <root>/<name>/ atomically (a locked, complete directory renamed into
 * place) with run.json holding the leaf
 * path <base>/supervise/<name>-<id> in info->cgroup. If the name is
 * held by a live run: with explicit, fail with -EEXIST; else try name-2,
 * name-3, …. A name held by a dead owner is collected first. The name used
 * is written back into info->name. */
int rundir_claim(struct run_info *info, bool explicit_name, const char *base, const char *id,
		 char *ret_dir, size_t size);
/* Rewrite run.json (e.g. once the backend is known). */
int rundir_update(const char *dir, const struct run_info *info);
/* Remove a run directory (<root>/<name>) and the files in it, through a
 * held dirfd and never through a symlink; this process's own run directory
 * only while it is still the one it claimed. Releases this process's locks. */
int rundir_remove(const char *dir);
int rundir_read(const char *dir, struct run_info *ret);

/* Lock the leaf for as long as this process (and its guard) lives, then mark
 * it with an xattr saying so, so gc can tell the leaf of a live supervisor
 * that keeps its run directory elsewhere. 0 or -errno. */
int rundir_mark_leaf(const char *leaf, const struct run_info *ri);
/* In the guard, after fork: move this process's run and leaf locks to
 * first_fd, first_fd + 1, … so they survive closing every other fd. Returns
 * the first fd number after them. */
int rundir_keep_locks(int first_fd);
/* In the guard, once the supervisor is dead: hold the locks shared from
 * now on, which tells gc this run is ending and worth waiting for. */
void rundir_locks_ending(void);
/* Is the owner of the leaf open on fd alive? 1: its lock is held; 0: it was
 * locked and is not any more (the owner is gone); -ENODATA: never marked (a
 * leaf being set up, or not supervise's). Old marks are judged by pid. */
int rundir_leaf_alive_fd(int fd);

/* Call cb for every run directory with a readable run.json, live or not.
 * A negative return from cb stops the walk and is returned. */
int rundir_foreach(int (*cb)(const char *dir, const struct run_info *ri, void *userdata), void *userdata);

/* Collect runs whose owner is provably dead (their lock can be taken): kill
 * their leaf (only a supervise leaf on cgroup2), remove it and the run
 * directory (renamed to a tombstone first). Also leaves under
 * <base>/supervise/ whose marked owner's lock is free (when base is given).
 * Returns the number removed, or -errno (logged) when the runtime root is
 * refused. */
int rundir_gc(const char *base);
