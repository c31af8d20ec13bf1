/* proctree: see proctree.h. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "log.h"
#include "proc.h"
#include "proctree.h"
#include "util.h"

struct node {
	pid_t pid, ppid;
	uint64_t start;
	char state;
};

static int cmp_ppid(const void *a, const void *b)
{
	const struct node *x = a, *y = b;
	return x->ppid < y->ppid ? -1 : x->ppid > y->ppid;
}

/* Is /proc of our pid namespace? A container started without remounting
 * /proc shows the host's processes under pids that mean others in ours:
 * walking "our" tree there would be walking (and killing) someone else's. */
static bool proc_is_ours(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);
	uint64_t v;
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return parse_u64(buf, &v) == 0 && v == (uint64_t)getpid();
}

/* Every process of /proc, sorted by parent. */
static int snapshot(struct node **ret, size_t *ret_n)
{
	static bool said;
	if (!proc_is_ours()) {
		if (!said)
			log_error("proctree: /proc is not of this pid namespace (remount it: mount -t proc proc /proc); "
				  "the workload's processes cannot be told from others'");
		said = true;
		return -EXDEV;
	}
	_cleanup_closedir_ DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	_cleanup_free_ struct node *t = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint64_t v;
		if (parse_u64(de->d_name, &v) < 0 || v == 0 || v > INT32_MAX)
			continue;
		struct proc_stat st;
		if (proc_read_stat((pid_t)v, &st) < 0)
			continue;   /* gone since readdir */
		if (n == cap) {
			size_t c = cap ? cap * 2 : 256;
			struct node *nt = realloc(t, c * sizeof(*nt));
			if (!nt)
				return -ENOMEM;
			t = nt;
			cap = c;
		}
		t[n++] = (struct node){ .pid = st.pid, .ppid = st.ppid, .start = st.starttime, .state = st.state };
	}
	qsort(t, n, sizeof(*t), cmp_ppid);
	*ret = TAKE_PTR(t);
	*ret_n = n;
	return 0;
}

/* The descendants of root in t (breadth first), into out; returns how many. */
static size_t descendants(const struct node *t, size_t n, pid_t root, const struct node **out)
{
	size_t nout = 0;
	pid_t parent = root;
	for (size_t next = 0;; parent = out[next++]->pid) {
		struct node key = { .ppid = parent };
		const struct node *hit = n ? bsearch(&key, t, n, sizeof(*t), cmp_ppid) : NULL;
		if (hit) {
			while (hit > t && hit[-1].ppid == parent)
				hit--;
			for (; hit < t + n && hit->ppid == parent; hit++)
				if (hit->pid != root)
					out[nout++] = hit;
		}
		if (next >= nout)
			break;
	}
	return nout;
}

int proctree_walk(pid_t root, int (*fn)(pid_t pid, void *userdata), void *userdata)
{
	_cleanup_free_ struct node *t = NULL;
	size_t n;
	int r = snapshot(&t, &n);
	if (r < 0)
		return r;
	_cleanup_free_ const struct node **out = calloc(n ? n : 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	size_t k = descendants(t, n, root, out);
	for (size_t i = 0; i < k; i++)
		if ((r = fn(out[i]->pid, userdata)) < 0)
			return r;
	return 0;
}

static bool kill_checked(const struct node *p)
{
	_cleanup_close_ int fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	uint64_t start;
	/* The pidfd pins this pid: if it still starts when the pass saw it
	 * start, it is the process the pass saw. */
	if (fd < 0 || pid_starttime(p->pid, &start) < 0 || start != p->start)
		return false;
	return syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) == 0;
}

int proctree_kill(pid_t root)
{
	int killed = 0;
	for (int round = 0; round < 50; round++) {
		_cleanup_free_ struct node *t = NULL;
		size_t n;
		if (snapshot(&t, &n) < 0)
			break;
		_cleanup_free_ const struct node **out = calloc(n ? n : 1, sizeof(*out));
		if (!out)
			break;
		size_t k = descendants(t, n, root, out), alive = 0;
		for (size_t i = 0; i < k; i++) {
			/* Zombies wait for our reap; they hold no memory. */
			if (out[i]->state == 'Z' || out[i]->state == 'X')
				continue;
			alive++;
			killed += kill_checked(out[i]);
		}
		if (!alive)
			break;
	}
	return killed;
}
