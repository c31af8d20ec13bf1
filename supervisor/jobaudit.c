/* jobaudit: see jobaudit.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "jobaudit.h"
#include "log.h"
#include "util.h"

#define AUDIT_MAX_PROCS 4096

int jobaudit_known_holding(const char *c, unsigned children)
{
	if (streq(c, "make") || streq(c, "gmake"))
		return children > 0 ? (int)children - 1 : 0;
	if (streq(c, "sh") || streq(c, "bash") || streq(c, "dash") || streq(c, "zsh") || streq(c, "env"))
		return 0;
	return -1;
}

int jobaudit_lost(const struct jobaudit_proc *p, int n, unsigned held)
{
	long justified = 0;
	for (int i = 0; i < n; i++) {
		if (p[i].holds == 0)
			continue;
		unsigned children = 0;
		for (int k = 0; k < n; k++)
			children += p[k].ppid == p[i].pid;
		int k = p[i].holds < 0 ? -1 : jobaudit_known_holding(p[i].comm, children);
		if (k < 0)
			return -1;
		justified += k;
	}
	return (long)held > justified ? (int)((long)held - justified) : 0;
}

/* Does pid have the jobserver open? -1 when unknown (gone, unreadable). */
static int holds_jobserver(const struct jobserver *js, pid_t pid)
{
	char dir[64], path[128];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && st.st_dev == js->dev && st.st_ino == js->ino)
			return 1;
	}
	return 0;
}

/* Every process in the leaf and below, from cgroup.procs (authoritative, unlike
 * a reading that may lag an exec or an exit), with ppid and comm from
 * /proc/PID/stat. Returns the count, or -1 when it cannot be read whole. */
static int cgroup_procs(const char *cg, struct jobaudit_proc *ret, int n, int cap, int depth)
{
	char path[PATH_MAX + 32], buf[512];
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f || depth > 16)
		return -1;
	int pid;
	while (fscanf(f, "%d", &pid) == 1) {
		if (n == cap)
			return -1;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
			continue;   /* gone since: it holds nothing any more */
		char *open_ = strchr(buf, '('), *close_ = strrchr(buf, ')');
		int ppid;
		if (!open_ || !close_ || sscanf(close_ + 2, "%*c %d", &ppid) != 1)
			return -1;
		*close_ = '\0';
		ret[n] = (struct jobaudit_proc){ .pid = pid, .ppid = ppid };
		snprintf(ret[n].comm, sizeof(ret[n].comm), "%s", open_ + 1);
		n++;
	}
	_cleanup_closedir_ DIR *d = opendir(cg);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", cg, de->d_name);
			n = cgroup_procs(path, ret, n, cap, depth + 1);
			if (n < 0)
				return -1;
		}
	return n;
}

/* Tokens held = pool - in pipe. Every live process with the jobserver open is
 * a possible holder. Seen the same in three audits in a row (not a token in
 * flight between a read and a fork, or between a child's exit and make
 * writing its token back), the loss is real. */
unsigned jobaudit_run(struct jobaudit *a, struct jobserver *js, const char *cgroup, uint64_t now)
{
	static struct jobaudit_proc ap[AUDIT_MAX_PROCS];

	if (now - a->last_ns < JOBAUDIT_MS * 1000000ull)
		return 0;
	a->last_ns = now;
	int in = jobserver_in_pipe(js);
	int n = in < 0 || js->pool <= (unsigned)in ? -1 : cgroup_procs(cgroup, ap, 0, AUDIT_MAX_PROCS, 0);
	if (n < 0) {
		a->agree = 0;
		return 0;
	}
	unsigned held = js->pool - (unsigned)in;
	for (int i = 0; i < n; i++)
		ap[i].holds = holds_jobserver(js, ap[i].pid);
	int lost = jobaudit_lost(ap, n, held);
	if (lost < 0) {
		a->agree = 0;
		return 0;
	}
	if (lost > 0 && lost == a->prev_lost && held == a->prev_held)
		a->agree++;
	else
		a->agree = lost > 0 ? 1 : 0;
	a->prev_lost = lost;
	a->prev_held = held;
	if (a->agree < 3)
		return 0;
	a->agree = 0;
	a->prev_lost = 0;
	return (unsigned)lost;
}
