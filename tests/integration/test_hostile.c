/*
 * Reproductions of issue 9's faults, each as an attacker or an unlucky user
 * would meet it, asserting that it now does no harm: a workload filling the
 * jobserver pipe with junk, another user at the control socket, a stopped
 * supervisor, over-long values, a nearly full runtime filesystem, terminal
 * escapes in a process name, and bad command lines.
 */
#include <sys/mount.h>
#include <sys/statfs.h>

#include "harness.h"

TestSuite(hostile, .init = h_setup, .fini = h_teardown, .timeout = 120);

/* The run's supervisor pid from its run.json ("pid": N). */
static pid_t run_pid(const char *name)
{
	char *path = h_strf("%s/%s/run.json", H.runtime_dir, name);
	struct json_object *o = json_object_from_file(path);
	free(path);
	struct json_object *v;
	pid_t pid = o && json_object_object_get_ex(o, "pid", &v) ? json_object_get_int(v) : 0;
	json_object_put(o);
	return pid;
}

/* Wait for the run NAME to have written its run.json. */
static void wait_run(struct h_proc *p, const char *name)
{
	char *path = h_strf("%s/%s/control", H.runtime_dir, name);
	H_ASSERT(p, h_wait_exists(path, 10), "the run '%s' never made %s", name, path);
	free(path);
}

/* stat NAME --json: budget_bytes (0 when null). */
static uint64_t stat_budget(const char *name)
{
	struct h_proc s;
	h_run(&s, "stat", name, "--json");
	H_ASSERT_EXIT(&s, 0);
	struct json_object *o = json_tokener_parse(s.out.data), *v;
	H_ASSERT(&s, o, "stat --json should print JSON");
	uint64_t b = json_object_object_get_ex(o, "budget_bytes", &v) && v ? json_object_get_uint64(v) : 0;
	json_object_put(o);
	h_proc_free(&s);
	return b;
}

/* Issue 9, item 2: a workload fills the jobserver pipe, then `set --jobs 8-8`
 * makes supervise mint 7 tokens. A blocking write hung it for good. */
Test(hostile, a_full_token_pipe_does_not_hang_supervise)
{
	struct h_proc p, s;
	h_start(&p, "--cgroup-base", H.base, "--name", "jsfull", "--jobs", "1", "--", "sh", "-c",
		"W=${MAKEFLAGS##*,}; head -c 70000 /dev/zero >/proc/self/fd/$W & echo started; sleep 60");
	char *l = h_wait_line(&p, "started", 10);
	H_ASSERT(&p, l, "the workload should start");
	free(l);
	wait_run(&p, "jsfull");
	h_sleep_ms(300);   /* head fills the 64 KiB pipe and blocks */
	h_run(&s, "set", "jsfull", "--jobs", "8-8");
	H_ASSERT_EXIT(&s, 0);
	H_ASSERT(&s, strstr(s.out.data, "jobs 8-8"), "set should say what it applied");
	h_sleep_ms(1500);  /* the loop's next turns move the target: minting happens there */
	/* Still alive and answering: a SIGTERM ends the run. */
	kill(p.pid, SIGTERM);
	H_ASSERT(&p, h_finish(&p, 20), "supervise should end on SIGTERM, not hang in a pipe write");
	H_ASSERT(&p, strstr(p.err.data, "token pipe is full"), "supervise should say why no tokens were minted");
	H_ASSERT_CLEAN(&p);
	h_proc_free(&s);
	h_proc_free(&p);
}
