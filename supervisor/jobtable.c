/* jobtable: see jobtable.h. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobtable.h"
#include "util.h"

bool jobtable_is_client_comm(const char *c)
{
	return streq(c, "make") || streq(c, "gmake") || streq(c, "cargo") || streq(c, "ninja") || streq(c, "samu");
}

static int cmp_px(const void *a, const void *b)
{
	const struct proc_ix *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static struct proc_ix *find_px(const struct jobtable *t, pid_t pid)
{
	struct proc_ix key = { .pid = pid };
	return bsearch(&key, t->px, t->nr_px, sizeof(t->px[0]), cmp_px);
}

int jobtable_job_of(const struct jobtable *t, pid_t pid)
{
	const struct proc_ix *p = find_px(t, pid);
	return p ? p->job : -1;
}

unsigned jobtable_paused(const struct jobtable *t)
{
	unsigned n = 0;
	for (size_t k = 0; k < t->nr_jobs; k++)
		n += t->jobs[k].paused;
	return n;
}

size_t jobtable_oldest_paused(const struct jobtable *t)
{
	size_t best = t->nr_jobs;
	for (size_t k = 0; k < t->nr_jobs; k++)
		if (t->jobs[k].paused && (best == t->nr_jobs || t->jobs[k].start_ns < t->jobs[best].start_ns))
			best = k;
	return best;
}

bool jobtable_is_job(const struct job *j)
{
	return !j->wrapper && !j->sync;
}

unsigned jobtable_jobs(const struct jobtable *t)
{
	unsigned n = 0;
	for (size_t k = 0; k < t->nr_jobs; k++)
		n += jobtable_is_job(&t->jobs[k]);
	return n;
}

void jobtable_signal(const struct jobtable *t, size_t k, int sig)
{
	for (size_t i = 0; i < t->nr_px; i++)
		if (t->px[i].job == (int)k)
			kill(t->px[i].pid, sig);
}

static bool is_client(const struct reading *r, const struct proc_ix *p, pid_t main_pid)
{
	return p->pid == main_pid || jobtable_is_client_comm(r->procs[p->idx].comm);
}

struct root_ix {
	pid_t root;
	int job;
};

static int cmp_root(const void *a, const void *b)
{
	const struct root_ix *x = a, *y = b;
	return (x->root > y->root) - (x->root < y->root);
}

/* The jobs by root pid, for log-time lookups while mapping (a build of a
 * thousand jobs would otherwise cost a million compares a reading). */
struct roots {
	struct root_ix ix[JOBTABLE_MAX_JOBS];
	size_t n;         /* sorted prefix; jobs added during the mapping follow unsorted */
	size_t added;
};

static int find_root(const struct jobtable *t, const struct roots *r, pid_t root)
{
	struct root_ix key = { .root = root };
	const struct root_ix *hit = bsearch(&key, r->ix, r->n, sizeof(r->ix[0]), cmp_root);
	if (hit)
		return hit->job;
	for (size_t k = r->n; k < r->n + r->added; k++)
		if (t->jobs[r->ix[k].job].root == root)
			return r->ix[k].job;
	return -1;
}

/* The job p belongs to (created when its root is new), -1: none. */
static int job_for(struct jobtable *t, struct roots *roots, const struct reading *r, struct proc_ix *p,
		   const struct jobtable_params *pa)
{
	/* Walk up to the job root (bounded: a cycle in a racy reading ends). */
	for (int depth = 0; p && depth < 64; depth++) {
		if (is_client(r, p, pa->main_pid))
			return -1;
		struct proc_ix *parent = find_px(t, p->ppid);
		if (parent && is_client(r, parent, pa->main_pid)) {
			/* p is a job root. */
			int k = find_root(t, roots, p->pid);
			if (k < 0 && t->nr_jobs < JOBTABLE_MAX_JOBS) {
				k = (int)t->nr_jobs++;
				t->jobs[k] = (struct job){ .root = p->pid, .start_ns = pa->now_ns };
				/* Few jobs start in one reading: kept unsorted at the end. */
				roots->ix[roots->n + roots->added++] = (struct root_ix){ .root = p->pid, .job = k };
			}
			return k;
		}
		p = parent;
	}
	return -1;
}

void jobtable_map(struct jobtable *t, const struct reading *r, const struct jobtable_params *pa)
{
	size_t n = r->nr_proc_readings < JOBTABLE_MAX_PROCS ? r->nr_proc_readings : JOBTABLE_MAX_PROCS;

	t->nr_px = 0;
	for (size_t i = 0; i < n; i++) {
		if (r->procs[i].exited)
			continue;
		t->px[t->nr_px++] = (struct proc_ix){ .pid = (pid_t)r->procs[i].pid, .ppid = (pid_t)r->procs[i].ppid,
						      .job = -2, .idx = (int)i };
	}
	qsort(t->px, t->nr_px, sizeof(t->px[0]), cmp_px);
	static struct roots roots;
	roots.n = roots.added = 0;
	for (size_t k = 0; k < t->nr_jobs; k++) {
		t->jobs[k].seen = false, t->jobs[k].rss = 0, t->jobs[k].wrapper = false;
		roots.ix[roots.n++] = (struct root_ix){ .root = t->jobs[k].root, .job = (int)k };
	}
	qsort(roots.ix, roots.n, sizeof(roots.ix[0]), cmp_root);
	for (size_t i = 0; i < t->nr_px; i++)
		t->px[i].job = job_for(t, &roots, r, &t->px[i], pa);
	/* A nested client below a job makes that job a wrapper: it waits for
	 * the sub-client, whose own children are the jobs. */
	for (size_t i = 0; i < t->nr_px; i++) {
		if (t->px[i].pid == pa->main_pid || !jobtable_is_client_comm(r->procs[t->px[i].idx].comm))
			continue;
		const struct proc_ix *parent = find_px(t, t->px[i].ppid);
		if (parent && parent->job >= 0)
			t->jobs[parent->job].wrapper = true;
	}

	/* Sums, expected peaks; jobs not seen any more ended. A command never
	 * seen is sized as the default (--job-mem), not as the learned average
	 * job: it may be the heavy one. */
	for (size_t k = 0; k < t->nr_jobs; k++)
		t->jobs[k].expected = 0, t->jobs[k].from_command = false, t->jobs[k].guessed = true;
	for (size_t i = 0; i < t->nr_px; i++) {
		if (t->px[i].job < 0)
			continue;
		struct job *j = &t->jobs[t->px[i].job];
		const struct proc_reading *pr = &r->procs[t->px[i].idx];
		if (!j->seen || pr->rss_bytes * 2 > j->rss)
			snprintf(j->comm, sizeof(j->comm), "%s", pr->comm);
		j->seen = true;
		j->rss += pr->rss_bytes;
		struct fp_estimate fe;
		footprint_estimate(pa->fp, pa->global, 0, pr->comm, &fe);
		uint64_t learned = fe.bytes;
		uint64_t e = learned ? learned : pa->default_job_bytes;
		if (learned)
			j->from_command = true;
		if (e > j->expected) {
			j->expected = e;
			j->guessed = !learned;
		}
	}
	/* A wrapper holds what it holds: what its sub-client runs is sized as
	 * jobs of their own. */
	for (size_t k = 0; k < t->nr_jobs; k++)
		if (t->jobs[k].wrapper)
			t->jobs[k].expected = t->jobs[k].rss, t->jobs[k].guessed = false;
	static int moved[JOBTABLE_MAX_JOBS];   /* old index → new, -1: ended */
	size_t w = 0;
	for (size_t k = 0; k < t->nr_jobs; k++) {
		struct job *j = &t->jobs[k];
		if (j->rss > j->peak)
			j->peak = j->rss;
		if (!j->seen) {
			if (pa->ended)
				pa->ended(pa->userdata, j);
			moved[k] = -1;
			continue;
		}
		if (w != k)
			t->jobs[w] = *j;
		moved[k] = (int)w++;
	}
	for (size_t i = 0; i < t->nr_px; i++)
		if (t->px[i].job >= 0)
			t->px[i].job = moved[t->px[i].job];
	t->nr_jobs = w;
}
