/*
 * supervise as PID 1 of a container, emulated with
 *   unshare --user --map-root-user --pid --mount --cgroup --fork --mount-proc
 * and a read-only cgroup2 mount inside (a docker/podman container without a
 * writable /sys/fs/cgroup): supervise runs without a leaf, reaps every orphan
 * (no zombie after a double-forking workload), forwards SIGTERM to the
 * workload, and exits with the workload's status.
 */
#include "harness.h"

/* Criterion runs no .fini after a skip: remove the test's subtree first. */
#define skip_test(...) do { h_teardown(); cr_skip_test(__VA_ARGS__); } while (0)

TestSuite(container, .init = h_setup, .fini = h_teardown, .timeout = 120);

/* Mount a fresh, read-only cgroup2 where the host's is, then become supervise:
 * exec keeps the pid, so supervise is PID 1 of the new namespace. */
static const char inner_sh[] =
	"for m in /sys/fs/cgroup/unified /sys/fs/cgroup; do\n"
	"  [ -d \"$m\" ] && mount -t cgroup2 -o ro none \"$m\" 2>/dev/null && break\n"
	"done\n"
	"exec \"$@\"\n";

static char inner[PATH_MAX];

static void need_unshare(void)
{
	if (access("/usr/bin/unshare", X_OK) != 0)
		skip_test("/usr/bin/unshare (util-linux) is not installed");
	/* Unprivileged user namespaces may be off: then no container runs here. */
	if (system("/usr/bin/unshare --user --map-root-user --pid --fork --mount-proc true 2>/dev/null") != 0)
		skip_test("this host refuses user+pid namespaces (unshare --user --pid fails)");
	snprintf(inner, sizeof(inner), "%s/inner.sh", H.scratch);
	FILE *f = fopen(inner, "w");
	cr_assert(f);
	fputs(inner_sh, f);
	fclose(f);
}

#define start_in_container(p, ...)                                                                        \
	h_startv((p), &(struct h_opts){ .raw = true, .enter_cgroup = H.base },                            \
		 (const char *const[]){ "/usr/bin/unshare", "--user", "--map-root-user", "--pid", "--mount", \
					"--cgroup", "--fork", "--mount-proc", "/bin/sh", inner, H.bin,       \
					__VA_ARGS__, NULL })

Test(container, pid1_reaps_orphans_and_passes_the_status)
{
	need_unshare();
	struct h_proc p;
	/* Orphans that exit at once: reparented to PID 1, zombies until it reaps. */
	start_in_container(&p, "--", "/bin/sh", "-c",
			   "echo ppid=$PPID; for i in 1 2 3 4 5; do (sh -c 'exit 0' &); done; (sleep 0.2 &); sleep 1;"
			   "z=0; for f in /proc/[0-9]*/stat; do s=$(cut -d' ' -f3 $f 2>/dev/null);"
			   "[ \"$s\" = Z ] && z=$((z+1)); done; echo zombies=$z; exit 5");
	h_finish(&p, 30);
	H_ASSERT_EXIT(&p, 5);
	H_ASSERT(&p, strstr(p.out.data, "ppid=1\n"), "supervise is PID 1, the workload's parent");
	H_ASSERT(&p, strstr(p.out.data, "zombies=0\n"), "every orphan was reaped");
	H_ASSERT(&p, strstr(p.err.data, "cgroup: no leaf ("), "a read-only cgroupfs: no leaf, said once");
	H_ASSERT(&p, strstr(p.err.data, "backend procfs"), "watched from /proc");
	h_proc_free(&p);
}

/* The host pid of supervise: unshare's child. */
static pid_t child_of(pid_t parent)
{
	char path[64], buf[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent, (int)parent);
	if (h_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	return (pid_t)atoi(buf);
}

Test(container, pid1_forwards_sigterm)
{
	need_unshare();
	struct h_proc p;
	start_in_container(&p, "--", "/bin/sh", "-c",
			   "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done");
	char *line = h_wait_line(&p, "ready", 15);
	H_ASSERT(&p, line, "the workload started");
	free(line);
	pid_t sv = child_of(p.pid);
	H_ASSERT(&p, sv > 0, "unshare's child (supervise) found");
	/* Sent from outside the namespace, as `docker stop` does. */
	cr_assert(kill(sv, SIGTERM) == 0, "kill %d: %s", (int)sv, strerror(errno));
	h_finish(&p, 20);
	H_ASSERT_EXIT(&p, 42);
	H_ASSERT(&p, strstr(p.out.data, "got-term"), "the workload got SIGTERM");
	h_proc_free(&p);
}
