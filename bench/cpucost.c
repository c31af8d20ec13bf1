/* cpucost: what the supervisor's own side of a monitor costs, in CPU time,
 * while it watches PROCS processes each holding MAPS separate mappings.
 *
 * It links the monitor objects (every object of supervisor/ but main.o) and does what
 * `supervise` does with them: open a monitor on a fresh leaf, launch the
 * workload into it, and take a reading every PERIOD ms. The figure is this
 * process's own CPU time (getrusage(RUSAGE_SELF): user + system, which
 * includes the iter/task sweep the kernel runs in our read(2)) over a
 * measured window, as a share of one core.
 *
 *     cpucost --backend bpf|procfs --cgroup-parent DIR [--procs 1000]
 *             [--maps 1000] [--period-ms 100] [--sweep-ms 0] [--seconds 10]
 *
 * The workload lives in DIR/cpucost-<backend>-<pid>; it is killed
 * (cgroup.kill) and the leaf removed at the end, on every path out. The
 * driver (bench/bench.py) also kills and removes DIR itself. */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "log.h"
#include "monitor.h"
#include "util.h"

static char leaf[PATH_MAX];
static pid_t spawner = -1;

static double tv_s(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/* One child: MAPS one-page mappings that cannot merge (alternating
 * protections), then wait to be killed. */
static void child(int ready_fd, unsigned maps)
{
	char c = 1;

	for (unsigned i = 0; i < maps; i++) {
		int prot = i & 1 ? PROT_READ : PROT_READ | PROT_WRITE;

		if (mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) {
			c = 0;
			break;
		}
	}
	if (write(ready_fd, &c, 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/* The spawner moves itself into the leaf, forks the children there and waits. */
static int spawn(unsigned procs, unsigned maps, int *ret_ready_fd)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	spawner = fork();
	if (spawner < 0)
		return -errno;
	if (spawner == 0) {
		char procs_file[PATH_MAX + 16];

		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(procs_file, sizeof(procs_file), "%s/cgroup.procs", leaf);
		if (write_file_at(AT_FDCWD, procs_file, "0") < 0)
			_exit(1);
		for (unsigned i = 0; i < procs; i++) {
			pid_t pid = fork();

			if (pid == 0)
				child(p[1], maps);
			if (pid < 0)
				_exit(1);
		}
		for (;;)
			pause();
	}
	close(p[1]);
	*ret_ready_fd = p[0];
	return 0;
}

static int wait_ready(int fd, unsigned procs)
{
	unsigned got = 0, ok = 0;
	char buf[256];

	while (got < procs) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 120000) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		for (ssize_t i = 0; i < n; i++)
			ok += buf[i] == 1;
		got += n;
	}
	return ok == procs ? 0 : -ENOMEM;
}

static void cleanup(void)
{
	if (spawner > 0) {
		kill(spawner, SIGKILL);
		waitpid(spawner, NULL, 0);
		spawner = -1;
	}
	if (leaf[0]) {
		cgroup_kill(leaf);
		cgroup_wait_empty(leaf, 10000, NULL, NULL);
		rmdir(leaf);
		leaf[0] = '\0';
	}
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "cgroup-parent", required_argument, NULL, 'c' },
		{ "procs", required_argument, NULL, 'n' },
		{ "maps", required_argument, NULL, 'm' },
		{ "period-ms", required_argument, NULL, 'p' },
		{ "sweep-ms", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{}
	};
	struct monitor_options o = { .backend = MONITOR_BPF };
	const char *parent = NULL;
	unsigned procs = 1000, maps = 1000, period_ms = 100, seconds = 10, reads = 0;
	struct monitor *m = NULL;
	struct rusage ru0, ru1;
	struct reading rd;
	uint64_t t0, t1;
	int c, r, ready_fd = -1, tfd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': o.backend = streq(optarg, "procfs") ? MONITOR_PROCFS : MONITOR_BPF; break;
		case 'c': parent = optarg; break;
		case 'n': procs = strtoul(optarg, NULL, 10); break;
		case 'm': maps = strtoul(optarg, NULL, 10); break;
		case 'p': period_ms = strtoul(optarg, NULL, 10); break;
		case 's': o.sweep_ms = strtol(optarg, NULL, 10); break;
		case 't': seconds = strtoul(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (!parent || !period_ms) {
		fprintf(stderr, "usage: cpucost --backend bpf|procfs --cgroup-parent DIR [--procs N] [--maps N] "
			"[--period-ms MS] [--sweep-ms MS] [--seconds S]\n");
		return 2;
	}
	log_set_level(LOG_WARN);
	o.period_ms = period_ms;

	snprintf(leaf, sizeof(leaf), "%s/cpucost-%s-%d", parent,
		 o.backend == MONITOR_PROCFS ? "procfs" : "bpf", (int)getpid());
	if (mkdir(leaf, 0755) < 0) {
		fprintf(stderr, "cpucost: mkdir %s: %m\n", leaf);
		leaf[0] = '\0';
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	atexit(cleanup);

	/* As supervise does: watch first, then launch. */
	o.cgroup_path = leaf;
	r = monitor_open_with(&o, &m);
	if (r < 0)
		return 1;
	r = spawn(procs, maps, &ready_fd);
	if (r < 0 || (r = wait_ready(ready_fd, procs)) < 0) {
		fprintf(stderr, "cpucost: starting %u processes with %u mappings each failed: %s\n",
			procs, maps, strerror(-r));
		monitor_close(m);
		return 1;
	}
	/* Settle: one reading (the bpf backend's first sweep sees the spawner). */
	monitor_read(m, &rd);
	sleep(1);
	monitor_read(m, &rd);

	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec its = {
		.it_interval = { period_ms / 1000, (period_ms % 1000) * 1000000L },
		.it_value = { period_ms / 1000, (period_ms % 1000) * 1000000L },
	};
	timerfd_settime(tfd, 0, &its, NULL);
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_ns();
	while ((t1 = now_ns()) - t0 < (uint64_t)seconds * 1000000000) {
		/* The bpf backend's ring buffer (exit and alert records) is
		 * polled as in supervise's loop; the procfs backend's own
		 * timer is not: the reading below is its sample. */
		struct pollfd p[] = {
			{ .fd = tfd, .events = POLLIN },
			{ .fd = o.backend == MONITOR_BPF ? monitor_fd(m) : -1, .events = POLLIN },
		};
		uint64_t ticks;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents & POLLIN)
			monitor_dispatch(m);
		if (!(p[0].revents & POLLIN) || read(tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
			continue;
		if (monitor_read(m, &rd) < 0)
			return 1;
		reads++;
	}
	getrusage(RUSAGE_SELF, &ru1);

	double user = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime);
	double sys = tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime);
	double wall = (t1 - t0) / 1e9;

	printf("{\"backend\": \"%s\", \"procs\": %u, \"maps\": %u, \"period_ms\": %u, \"sweep_ms\": %d, "
	       "\"reads\": %u, \"procs_seen\": %u, \"map_count_max\": %u, "
	       "\"wall_s\": %.3f, \"user_s\": %.4f, \"sys_s\": %.4f, \"core_pct\": %.4f}\n",
	       monitor_backend_name(m), procs, maps, period_ms, o.sweep_ms, reads, rd.nr_procs,
	       rd.map_count_max, wall, user, sys, 100 * (user + sys) / wall);
	monitor_close(m);
	cleanup();
	return 0;
}
