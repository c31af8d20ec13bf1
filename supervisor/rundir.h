/* rundir: /run/supervise/<name>/ — who owns a run (pid and its start time,
 * so a recycled pid is not mistaken for the owner), its cgroup and start time.
 * `supervise ls/stat` and `gc` read it from other shells. */
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

/* Pure: field 22 (starttime) of the text of /proc/PID/stat; the comm field
 * may hold spaces and parentheses. */
int proc_stat_starttime(const char *text, uint64_t *ret);
/* Pure: a name supervise accepts ([A-Za-z0-9._-], 1..64, no leading dot). */
bool run_name_valid(const char *name);
/* Pure: a default name from a command: basename, other characters as '_'. */
void run_name_from_command(const char *cmd, char *ret, size_t size);

/* Start time of a live pid, or -ESRCH. */
int pid_starttime(pid_t pid, uint64_t *ret);
/* Does the recorded owner still run? */
bool run_owner_alive(const struct run_info *ri);

/* Claim <root>/<name>/ atomically (mkdir) and write run.json, with the leaf
 * path <base>/supervise/<name>-<id> in info->cgroup. If the name is
 * held by a live run: with explicit, fail with -EEXIST; else try name-2,
 * name-3, …. A name held by a dead owner is collected first. The name used
 * is written back into info->name. */
int rundir_claim(struct run_info *info, bool explicit_name, const char *base, const char *id,
		 char *ret_dir, size_t size);
/* Rewrite run.json (e.g. once the backend is known). */
int rundir_update(const char *dir, const struct run_info *info);
/* Remove a run directory and what is in it. */
int rundir_remove(const char *dir);
int rundir_read(const char *dir, struct run_info *ret);

/* Mark a leaf with its owner (pid and start time) so gc can tell a leaf of a
 * live supervisor that keeps its run directory elsewhere. 0 or -errno. */
int rundir_mark_leaf(const char *leaf, const struct run_info *ri);

/* Call cb for every run directory with a readable run.json, live or not.
 * A negative return from cb stops the walk and is returned. */
int rundir_foreach(int (*cb)(const char *dir, const struct run_info *ri, void *userdata), void *userdata);

/* Collect runs whose owner is dead: kill their leaf, remove it and the run
 * directory. Also leaves under <base>/supervise/ that no run claims and no
 * live supervisor parents (when base is given). Returns the number removed. */
int rundir_gc(const char *base);
