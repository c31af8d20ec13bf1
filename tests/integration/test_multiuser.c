/*
 * Another user attacks (issue 9 items 1, 9 and 12): each test creates an
 * attacker and a victim with useradd, stages the attack exactly as the issue
 * found it, and asserts that it now does no harm: the victim's processes live,
 * the victim's files keep their content. The users, their runtime directories
 * and what the test planted are removed afterwards; leftovers of a test process
 * that died are removed by the next run.
 *
 * The victim runs supervise as itself, without XDG_RUNTIME_DIR (as under su,
 * cron or ssh), so its runtime root is /tmp/supervise-<uid>; it runs in a
 * cgroup subtree delegated to it (chowned), as a non-root user must.
 */
#include <pwd.h>
#include <sys/xattr.h>

#include "harness.h"

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define SETPRIV "/usr/bin/setpriv"
#define USERADD "/usr/sbin/useradd"
#define USERDEL "/usr/sbin/userdel"

struct user {
	char name[32];
	uid_t uid;
	gid_t gid;
};

static struct user attacker, victim;
static char bin_dir[PATH_MAX], bin[PATH_MAX], home[PATH_MAX], mal[PATH_MAX], deleg[PATH_MAX];
static char vroot[PATH_MAX];        /* the victim's /tmp/supervise-<uid> */
static pid_t sleeper;

static int run_cmd(const char *const *argv)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void user_remove(const char *name)
{
	struct passwd *pw = getpwnam(name);
	if (!pw)
		return;
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/supervise-%u", (unsigned)pw->pw_uid);
	h_rm_rf(dir);
	run_cmd((const char *const[]){ USERDEL, name, NULL });
}

/* Users "svmu[av]<pid>" of test processes that are gone. */
static void remove_leftover_users(void)
{
	FILE *f = fopen("/etc/passwd", "re");
	char line[512];
	char names[64][32];
	int n = 0;
	while (f && fgets(line, sizeof(line), f) && n < 64) {
		if (strncmp(line, "svmu", 4) != 0 || (line[4] != 'a' && line[4] != 'v'))
			continue;
		pid_t pid = atoi(line + 5);
		if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
			snprintf(names[n++], sizeof(names[0]), "%.*s", (int)strcspn(line, ":"), line);
	}
	if (f)
		fclose(f);
	for (int i = 0; i < n; i++)
		user_remove(names[i]);
}

static void user_create(struct user *u, char kind)
{
	snprintf(u->name, sizeof(u->name), "svmu%c%d", kind, (int)getpid());
	user_remove(u->name);
	cr_assert(run_cmd((const char *const[]){ USERADD, "-M", "-N", "-s", "/usr/sbin/nologin", u->name, NULL }) == 0,
		  "useradd %s failed", u->name);
	struct passwd *pw = getpwnam(u->name);
	cr_assert(pw, "getpwnam %s", u->name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
}

/* A directory owned by u with mode, "/tmp/sv-test-<tname>-<pid>-<what>". */
static void make_dir_of(char *ret, size_t size, const char *what, const struct user *u, mode_t mode)
{
	snprintf(ret, size, "/tmp/sv-test-%s-%d-%s", H.tname, (int)getpid(), what);
	h_rm_rf(ret);
	cr_assert(mkdir(ret, mode) == 0 && chown(ret, u->uid, u->gid) == 0 && chmod(ret, mode) == 0,
		  "mkdir %s: %s", ret, strerror(errno));
}

/* A file owned by u. */
static void write_file_of(const char *path, const char *text, const struct user *u)
{
	FILE *f = fopen(path, "w");
	cr_assert(f && fputs(text, f) >= 0 && fclose(f) == 0, "writing %s: %s", path, strerror(errno));
	cr_assert(chown(path, u->uid, u->gid) == 0);
}

static void setup(void)
{
	h_setup();
	if (access(USERADD, X_OK) < 0 || access(USERDEL, X_OK) < 0 || access(SETPRIV, X_OK) < 0)
		cr_skip_test("needs useradd, userdel and setpriv to create users");
	remove_leftover_users();
	user_create(&attacker, 'a');
	user_create(&victim, 'v');

	/* supervise where both users can run it. */
	struct user rootu = { .uid = 0, .gid = 0 };
	make_dir_of(bin_dir, sizeof(bin_dir), "bin", &rootu, 0755);
	snprintf(bin, sizeof(bin), "%s/supervise", bin_dir);
	char *cp = h_strf("cp '%s' '%s'", H.bin, bin);
	cr_assert(system(cp) == 0, "%s", cp);
	free(cp);

	/* The victim's home with a file it cares about. */
	make_dir_of(home, sizeof(home), "home", &victim, 0700);
	char *imp = h_strf("%s/important", home), *notes = h_strf("%s/important/notes", home);
	cr_assert(mkdir(imp, 0700) == 0 && chown(imp, victim.uid, victim.gid) == 0);
	write_file_of(notes, "mine\n", &victim);
	free(notes);
	free(imp);
	make_dir_of(mal, sizeof(mal), "mal", &attacker, 0755);

	/* A cgroup subtree delegated to the victim. */
	snprintf(deleg, sizeof(deleg), "%s/deleg", H.base);
	cr_assert(mkdir(deleg, 0755) == 0);
	const char *files[] = { "", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads" };
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		char *p = h_strf("%s%s", deleg, files[i]);
		cr_assert(chown(p, victim.uid, victim.gid) == 0, "chown %s: %s", p, strerror(errno));
		free(p);
	}
	snprintf(vroot, sizeof(vroot), "/tmp/supervise-%u", (unsigned)victim.uid);
	h_rm_rf(vroot);
	sleeper = 0;
}

static void teardown(void)
{
	if (sleeper > 0) {
		kill(sleeper, SIGKILL);
		waitpid(sleeper, NULL, 0);
	}
	h_teardown();
	h_rm_rf(vroot);
	h_rm_rf(home);
	h_rm_rf(mal);
	h_rm_rf(bin_dir);
	user_remove(attacker.name);
	user_remove(victim.name);
}

TestSuite(multiuser, .init = setup, .fini = teardown, .timeout = 120);

/* Start supervise (args after the binary) as u, without XDG_RUNTIME_DIR or
 * SUPERVISE_RUNTIME_DIR, in the victim's delegated cgroup. */
static void start_as(struct h_proc *p, const struct user *u, const char *const *args)
{
	char ruid[32], rgid[32];
	snprintf(ruid, sizeof(ruid), "--reuid=%u", (unsigned)u->uid);
	snprintf(rgid, sizeof(rgid), "--regid=%u", (unsigned)u->gid);
	const char *argv[64] = { SETPRIV, ruid, rgid, "--clear-groups", "env", "-i", "PATH=/usr/bin:/bin", "HOME=/",
				 bin };
	size_t n = 9;
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	const struct h_opts o = { .raw = true, .enter_cgroup = deleg };
	h_startv(p, &o, argv);
}

/* A process of the victim's (its editor, say): sleep, as the victim. */
static pid_t start_victim_process(void)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		if (setgid(victim.gid) < 0 || setuid(victim.uid) < 0)
			_exit(126);
		execlp("sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* A pid that existed and is gone: a "dead owner". */
static int dead_pid(void)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return (int)pid;
}

static const char *notes_text(void)
{
	static char buf[64];
	char *path = h_strf("%s/important/notes", home);
	if (h_read_file(path, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "(gone: %s)", strerror(errno));
	free(path);
	return buf;
}

/* The attacker makes the victim's /tmp/supervise-<uid> before the victim. */
static void plant_runtime_root(void)
{
	cr_assert(mkdir(vroot, 0777) == 0 && chown(vroot, attacker.uid, attacker.gid) == 0 && chmod(vroot, 0777) == 0,
		  "mkdir %s: %s", vroot, strerror(errno));
}

/* A planted run directory in the victim's root naming cgroup as its leaf. */
static void plant_bait(const char *name, const char *cgroup)
{
	char *dir = h_strf("%s/%s", vroot, name), *json = h_strf("%s/run.json", dir);
	char *text = h_strf("{ \"version\": 1, \"name\": \"%s\", \"pid\": %d, \"pid_starttime\": 1, \"cgroup\": \"%s\" }\n",
			    name, dead_pid(), cgroup);
	cr_assert(mkdir(dir, 0777) == 0 && chown(dir, attacker.uid, attacker.gid) == 0);
	write_file_of(json, text, &attacker);
	free(text), free(json), free(dir);
}

/* issue 9 item 1 (a): bait run directories in a planted /tmp/supervise-<uid>:
 * one whose "cgroup" has cgroup.kill symlinked to the victim's file, one
 * without cgroup.kill whose cgroup.procs lists a process of the victim. The
 * victim's next start (gc runs first) must harm neither: it refuses the root. */
Test(multiuser, planted_runtime_root_bait_run_json)
{
	plant_runtime_root();
	sleeper = start_victim_process();
	char *evil1 = h_strf("%s/evil1", mal), *evil2 = h_strf("%s/evil2", mal);
	cr_assert(mkdir(evil1, 0755) == 0 && mkdir(evil2, 0755) == 0);
	cr_assert(chown(evil1, attacker.uid, attacker.gid) == 0 && chown(evil2, attacker.uid, attacker.gid) == 0);
	char *kill1 = h_strf("%s/cgroup.kill", evil1), *notes = h_strf("%s/important/notes", home);
	cr_assert(symlink(notes, kill1) == 0);
	char *procs2 = h_strf("%s/cgroup.procs", evil2), *pidtext = h_strf("%d\n", (int)sleeper);
	write_file_of(procs2, pidtext, &attacker);
	plant_bait("bait1", evil1);
	plant_bait("bait2", evil2);

	struct h_proc p;
	start_as(&p, &victim, (const char *const[]){ "--", "true", NULL });
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT(&p, strcmp(notes_text(), "mine\n") == 0, "the victim's file now holds '%s'", notes_text());
	H_ASSERT(&p, !h_pid_gone(sleeper), "the victim's process %d was killed from a planted cgroup.procs",
		 (int)sleeper);
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, "is owned by uid") && strstr(p.err.data, vroot),
		 "expected supervise to refuse %s and say who owns it", vroot);
	h_proc_free(&p);
	free(pidtext), free(procs2), free(notes), free(kill1), free(evil2), free(evil1);
}

/* issue 9 item 1 (b): during the victim's run, the attacker swaps its run
 * directory for a symlink to the victim's ~/important; the run's cleanup must
 * not delete what is there (now: the victim never uses the planted root). */
Test(multiuser, run_dir_swapped_for_a_symlink)
{
	plant_runtime_root();
	struct h_proc p;
	start_as(&p, &victim, (const char *const[]){ "--name", "job", "--", "sh", "-c", "echo up; sleep 2", NULL });
	if (h_wait_line(&p, "up", 5)) {
		/* As the attacker: it can rename in a 0777 directory it owns. */
		char *script = h_strf("mv '%s/job' '%s/job.old' && ln -s '%s/important' '%s/job'", vroot, vroot, home,
				      vroot);
		pid_t pid = fork();
		cr_assert(pid >= 0);
		if (pid == 0) {
			if (setgid(attacker.gid) < 0 || setuid(attacker.uid) < 0)
				_exit(126);
			execl("/bin/sh", "sh", "-c", script, (char *)NULL);
			_exit(127);
		}
		int st;
		waitpid(pid, &st, 0);
		free(script);
	}
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT(&p, strcmp(notes_text(), "mine\n") == 0, "the victim's ~/important/notes is '%s'", notes_text());
	H_ASSERT_EXIT(&p, 125);
	h_proc_free(&p);
}

/* The same swap inside a runtime root that is the user's own (no other user
 * can do this any more; a bug or a careless script still could): removal goes
 * through the run directory it opened, never through a symlink. */
Test(multiuser, own_run_dir_swapped_for_a_symlink_as_root)
{
	struct h_proc p;
	h_start(&p, "--name", "job", "--cgroup-base", H.base, "--", "sh", "-c", "echo up; sleep 1");
	H_ASSERT(&p, h_wait_line(&p, "up", H_TIMEOUT_S), "the run never came up");
	char *dir = h_strf("%s/job", H.runtime_dir), *moved = h_strf("%s/job-moved", H.runtime_dir);
	char *imp = h_strf("%s/important", home);
	cr_assert(rename(dir, moved) == 0 && symlink(imp, dir) == 0, "swap: %s", strerror(errno));
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strcmp(notes_text(), "mine\n") == 0, "removing the run directory followed the symlink: notes is '%s'",
		 notes_text());
	H_ASSERT(&p, strstr(p.err.data, "not removing"), "supervise should say it did not remove the swapped entry");
	unlink(dir);
	h_rm_rf(moved);
	h_proc_free(&p);
	free(imp), free(moved), free(dir);
}

/* issue 9 item 9: root's `gc --cgroup-base /../../../../<attacker's dir>`.
 * The attacker's "leaf" is marked with an owner that is gone, has no
 * cgroup.kill (the old code then fell back to cgroup.procs), lists a process of
 * the victim in cgroup.procs and links cgroup.freeze to the victim's file. */
Test(multiuser, cgroup_base_traversal_to_another_users_files)
{
	sleeper = start_victim_process();
	char *leaf = h_strf("%s/cgb/supervise/evil-1", mal);
	char *mk = h_strf("mkdir -p '%s' && chown -R %u:%u '%s/cgb'", leaf, (unsigned)attacker.uid,
			  (unsigned)attacker.gid, mal);
	cr_assert(system(mk) == 0);
	char *procs = h_strf("%s/cgroup.procs", leaf), *events = h_strf("%s/cgroup.events", leaf);
	char *freeze = h_strf("%s/cgroup.freeze", leaf), *notes = h_strf("%s/important/notes", home);
	char *pidtext = h_strf("%d\n", (int)sleeper);
	write_file_of(procs, pidtext, &attacker);
	write_file_of(events, "populated 0\n", &attacker);
	cr_assert(symlink(notes, freeze) == 0);
	/* "pid 1, start time 1": an owner the old code judged gone. */
	bool marked = setxattr(leaf, "user.supervise.owner", "1 1", 3, 0) == 0;

	char *rel = h_strf("/../../../..%s/cgb", mal);
	struct h_proc p;
	h_run(&p, "gc", "--cgroup-base", rel);
	H_ASSERT(&p, strcmp(notes_text(), "mine\n") == 0, "gc wrote through the planted cgroup.freeze: notes is '%s'",
		 notes_text());
	H_ASSERT(&p, !h_pid_gone(sleeper), "gc killed the victim's process %d listed in %s%s", (int)sleeper, procs,
		 marked ? "" : " (the xattr mark could not be set)");
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, "not inside the cgroup v2 mount"), "expected the reason on stderr");
	h_proc_free(&p);
	free(rel), free(pidtext), free(notes), free(freeze), free(events), free(procs), free(mk), free(leaf);
}

/* issue 9 item 12: root's `SUPERVISE_BPF_PIN_DIR=<a user's directory> supervise
 * gc` must not delete the files there (names that are even supervise's own). */
Test(multiuser, pin_dir_pointing_at_a_users_files)
{
	char *imp = h_strf("%s/important", home);
	const char *names[] = { "meta", "workloads", "link_sweep" };
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		char *f = h_strf("%s/%s", imp, names[i]);
		write_file_of(f, "mine\n", &victim);
		free(f);
	}
	setenv("SUPERVISE_BPF_PIN_DIR", imp, 1);
	struct h_proc p;
	h_run(&p, "gc", "--cgroup-base", H.base);
	unsetenv("SUPERVISE_BPF_PIN_DIR");
	H_ASSERT(&p, strcmp(notes_text(), "mine\n") == 0, "gc removed the user's notes");
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		char *f = h_strf("%s/%s", imp, names[i]);
		H_ASSERT(&p, h_exists(f), "gc deleted %s, in a pin directory that is not on bpffs", f);
		free(f);
	}
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.err.data, "not on bpffs"), "gc should say the pin directory is not on bpffs");
	h_proc_free(&p);
	free(imp);
}
