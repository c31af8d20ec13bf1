/* jobaudit: see jobaudit.h. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "jobaudit.h"
#include "log.h"
#include "proc.h"
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

struct collect {
	struct jobaudit_proc *p;
	int n, cap;
};

static int collect_one(pid_t pid, void *userdata)
{
	struct collect *c = userdata;
	struct proc_stat st;
	if (c->n == c->cap)
		return -ENOSPC;
	int r = proc_read_stat(pid, &st);
	if (r == -ESRCH)
		return 0;   /* gone since: it holds nothing any more */
	if (r < 0)
		return r;
	c->p[c->n] = (struct jobaudit_proc){ .pid = pid, .ppid = st.ppid };
	snprintf(c->p[c->n].comm, sizeof(c->p[c->n].comm), "%s", st.comm);
	c->n++;
	return 0;
}

/* Every process in the leaf and below, from cgroup.procs (authoritative, unlike
 * a reading that may lag an exec or an exit), with ppid and comm. Returns the
 * count, or -1 when it cannot be read whole. */
static int cgroup_procs(const char *cg, struct jobaudit_proc *ret, int cap)
{
	struct collect c = { .p = ret, .cap = cap };
	return cgroup_walk_procs(cg, collect_one, &c) < 0 ? -1 : c.n;
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
	int n = in < 0 || js->pool <= (unsigned)in ? -1 : cgroup_procs(cgroup, ap, AUDIT_MAX_PROCS);
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
