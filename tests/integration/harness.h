/*
 * Integration test harness: runs the real supervise binary, from outside, in real
 * cgroup v2 leaves on this host.
 *
 * Every test gets (from h_setup, the suite's .init):
 *   - its own v2 subtree H.base = <v2 mount>/sv-test-<suite>.<test>-<pid>, passed to
 *     supervise with --cgroup-base; H.base_rel is the same path as /proc/PID/cgroup
 *     shows it ("/sv-test-…");
 *   - a private runtime directory H.runtime_dir (SUPERVISE_RUNTIME_DIR) under /tmp.
 * h_teardown (.fini, also run when an assertion fails) kills every supervise it
 * started, kills what is left in the subtree with cgroup.kill, removes the subtree
 * bottom-up and removes the runtime directory. h_setup also removes what an earlier
 * run of the same test left behind when that run's pid is dead (a timed-out test
 * is killed by criterion before its .fini runs).
 *
 * Nothing here writes under cgroup v1 hierarchies, and nothing kills a process
 * this test did not start (by pid) or that is not inside its own subtree.
 *
 * Paths: SUPERVISE_BIN (default: $(OUTPUT)/supervise, found from this binary's own
 * location $(OUTPUT)/tests/integration/NAME) and SUPERVISE_HELPERS_DIR (default
 * $(OUTPUT)/tests/helpers).
 */
#pragma once

#include <criterion/criterion.h>
#include <json-c/json.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Paths are joined into PATH_MAX buffers; a cgroup path longer than that cannot
 * be opened anyway, so gcc's truncation warnings are noise here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define H_FN static __attribute__((unused))

/* Every wait on supervise is bounded: a hung supervisor fails the test. */
#define H_TIMEOUT_S 20.0

struct h_env {
	char v2[PATH_MAX];          /* cgroup2 mount point, e.g. /sys/fs/cgroup/unified */
	char base[PATH_MAX];        /* this test's subtree (absolute) */
	char base_rel[PATH_MAX];    /* the same, relative to the v2 root: "/sv-test-…" */
	char runtime_dir[PATH_MAX]; /* SUPERVISE_RUNTIME_DIR */
	char scratch[PATH_MAX];     /* a private directory for the test's own files */
	char bin[PATH_MAX];         /* the supervise binary */
	char helpers[PATH_MAX];     /* directory of tests/helpers binaries */
	char tname[256];            /* "<suite>.<test>", sanitised */
	bool ready;                 /* h_setup completed: teardown has work to do */
};
static struct h_env H;

/* supervise processes started by this test and not yet reaped. */
static pid_t h_started[64];

/* ---- small utilities -------------------------------------------------------- */

H_FN double h_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

H_FN void h_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Read a small file into buf (NUL-terminated). Returns length or -errno. */
H_FN ssize_t h_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += r;
	}
	buf[n] = '\0';
	close(fd);
	return n;
}

/* Write a string in one write(2), as cgroupfs wants. Returns 0 or -errno. */
H_FN int h_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t r = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	return r < 0 ? -e : 0;
}

H_FN bool h_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* A newly allocated string from a printf format (aborts the test on ENOMEM). */
H_FN char *h_strf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	cr_assert(r >= 0, "out of memory");
	return s;
}

/* Does a whitespace-separated list (cgroup.controllers) contain word? */
H_FN bool h_word_in(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += wl) {
		bool start = p == list || isspace((unsigned char)p[-1]);
		bool end = p[wl] == '\0' || isspace((unsigned char)p[wl]);
		if (start && end)
			return true;
	}
	return false;
}

/* Count non-overlapping occurrences of needle in hay. */
H_FN int h_count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Names in a directory, comma separated, for messages ("(absent)" if missing). */
H_FN char *h_list_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return h_strf("(%s)", errno == ENOENT ? "absent" : strerror(errno));
	char *out = h_strf("%s", "");
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *n = h_strf("%s%s%s", out, *out ? ", " : "", de->d_name);
		free(out);
		out = n;
	}
	closedir(d);
	return out;
}

/* Number of subdirectories of path (0 when path does not exist). */
H_FN int h_count_subdirs(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Number of entries (any type) in path (0 when path does not exist). */
H_FN int h_count_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* A process is gone when /proc/PID is missing or it is a zombie (dead, unreaped). */
H_FN bool h_pid_gone(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (h_read_file(path, buf, sizeof(buf)) < 0)
		return true;
	char *rp = strrchr(buf, ')');
	if (!rp || rp[1] != ' ')
		return false;
	return rp[2] == 'Z' || rp[2] == 'X';
}

/* The "0::" line of a /proc/PID/cgroup text, newly allocated, or NULL. */
H_FN char *h_v2_path_in(const char *text)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, "0::", 3)) {
			const char *s = p + 3;
			size_t len = strcspn(s, "\n");
			return strndup(s, len);
		}
	}
	return NULL;
}

/* ---- cgroup v2 --------------------------------------------------------------- */

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
H_FN void h_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] && r[3]) {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* The cgroup2 mount point from /proc/self/mountinfo. 0 or -ENOENT. */
H_FN int h_find_v2_mount(char *ret, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	int r = -ENOENT;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint options [optional...] - fstype source super */
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (!tok)
			continue;
		h_unescape(tok);
		snprintf(ret, size, "%s", tok);
		r = 0;
		break;
	}
	free(line);
	fclose(f);
	return r;
}

/* 1 when the cgroup has processes (itself or below), 0 when not, -errno. */
H_FN int h_cg_populated(const char *cg)
{
	char path[PATH_MAX], buf[256];
	snprintf(path, sizeof(path), "%s/cgroup.events", cg);
	ssize_t n = h_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	char *p = strstr(buf, "populated ");
	if (!p)
		return -EINVAL;
	return p[10] == '1';
}

/* Reap any children of ours that have exited (orphans re-parented to a subreaper
 * test, supervise processes that were killed). Tracked pids leave the table. */
H_FN void h_reap_any(void)
{
	pid_t p;
	while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
		for (size_t i = 0; i < sizeof(h_started) / sizeof(h_started[0]); i++)
			if (h_started[i] == p)
				h_started[i] = 0;
}

/* Remove a cgroup tree bottom-up. Returns 0 or the first -errno. */
H_FN int h_rmdir_tree(const char *cg)
{
	int r = 0;
	DIR *d = opendir(cg);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char sub[PATH_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", cg, de->d_name);
		int q = h_rmdir_tree(sub);
		if (q < 0 && r == 0)
			r = q;
	}
	closedir(d);
	/* Killed tasks leave the cgroup a little after SIGKILL: EBUSY for a moment. */
	for (double end = h_now() + 3.0;;) {
		if (rmdir(cg) == 0 || errno == ENOENT)
			return r;
		if (errno != EBUSY || h_now() > end)
			return r ? r : -errno;
		h_reap_any();
		h_sleep_ms(10);
	}
}

/* Kill everything in a cgroup subtree (cgroup.kill is recursive) and remove it. */
H_FN int h_cg_destroy(const char *cg)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cgroup.kill", cg);
	if (h_exists(cg))
		(void)h_write_file(path, "1");
	for (double end = h_now() + 5.0; h_cg_populated(cg) == 1 && h_now() < end;) {
		h_reap_any();
		h_sleep_ms(10);
	}
	return h_rmdir_tree(cg);
}

/* ---- fixture ----------------------------------------------------------------- */

static int h_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

H_FN void h_rm_rf(const char *path)
{
	nftw(path, h_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* "sv-test-<tname>-<pid>[-XXXXXX]": the pid, or 0 when name does not match. */
static pid_t h_leftover_pid(const char *name, const char *prefix, bool tmp_suffix)
{
	size_t pl = strlen(prefix);
	if (strncmp(name, prefix, pl))
		return 0;
	const char *s = name + pl;
	char *end;
	long pid = strtol(s, &end, 10);
	if (end == s || pid <= 0)
		return 0;
	if (tmp_suffix ? (end[0] != '-' || strlen(end) != 7) : *end != '\0')
		return 0;
	return (pid_t)pid;
}

/* Remove what earlier runs of this test left when their process is dead. */
static void h_clean_leftovers(void)
{
	char prefix[300];
	snprintf(prefix, sizeof(prefix), "sv-test-%s-", H.tname);
	const char *dirs[2] = { H.v2, "/tmp" };
	for (int i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d))) {
			pid_t pid = h_leftover_pid(de->d_name, prefix, i == 1);
			if (pid <= 0 || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH)
				continue;
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", dirs[i], de->d_name);
			if (i == 0) {
				int r = h_cg_destroy(path);
				if (r < 0)
					fprintf(stderr, "harness: leftover %s not removed: %s\n", path, strerror(-r));
			} else {
				h_rm_rf(path);
			}
		}
		closedir(d);
	}
}

/* dirname(dirname(dirname(/proc/self/exe))) = $(OUTPUT) */
static void h_output_dir(char *ret, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	for (int i = 0; i < 3; i++) {
		char *slash = strrchr(exe, '/');
		if (slash && slash != exe)
			*slash = '\0';
	}
	snprintf(ret, size, "%s", exe);
}

H_FN void h_setup(void)
{
	memset(&H, 0, sizeof(H));
	memset(h_started, 0, sizeof(h_started));
	/* Run in GitHub/GitLab CI, every supervise would append to the job's
	 * summary and print workflow commands into the outputs tests compare:
	 * tests that want them (test_ci) set them themselves. */
	unsetenv("GITHUB_ACTIONS"), unsetenv("GITHUB_STEP_SUMMARY"), unsetenv("GITLAB_CI"), unsetenv("CI");

	/* Subtree name from the criterion test: one per test, one per process. */
	snprintf(H.tname, sizeof(H.tname), "%s.%s", criterion_current_test->category,
		 criterion_current_test->name);
	for (char *c = H.tname; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.')
			*c = '_';

	if (geteuid() != 0)
		cr_skip_test("needs root and a writable cgroup v2 mount: not running as root");
	if (h_find_v2_mount(H.v2, sizeof(H.v2)) < 0)
		cr_skip_test("needs root and a writable cgroup v2 mount: no cgroup2 in /proc/self/mountinfo");
	if (access(H.v2, W_OK) < 0)
		cr_skip_test("needs root and a writable cgroup v2 mount: %s: %s", H.v2, strerror(errno));

	h_clean_leftovers();

	snprintf(H.base, sizeof(H.base), "%s/sv-test-%s-%d", H.v2, H.tname, (int)getpid());
	if (h_exists(H.base))
		(void)h_cg_destroy(H.base);
	if (mkdir(H.base, 0755) < 0)
		cr_skip_test("needs root and a writable cgroup v2 mount: mkdir %s: %s", H.base,
			     strerror(errno));
	H.ready = true;
	char kill_file[PATH_MAX];
	snprintf(kill_file, sizeof(kill_file), "%s/cgroup.kill", H.base);
	if (!h_exists(kill_file))
		cr_skip_test("needs a kernel with cgroup.kill (5.14+): %s missing", kill_file);
	/* As /proc/PID/cgroup shows it: relative to the v2 root. */
	snprintf(H.base_rel, sizeof(H.base_rel), "%s",
		 strcmp(H.v2, "/") ? H.base + strlen(H.v2) : H.base);

	snprintf(H.runtime_dir, sizeof(H.runtime_dir), "/tmp/sv-test-%s-%d-XXXXXX", H.tname,
		 (int)getpid());
	cr_assert(mkdtemp(H.runtime_dir), "mkdtemp %s: %s", H.runtime_dir, strerror(errno));
	setenv("SUPERVISE_RUNTIME_DIR", H.runtime_dir, 1);
	snprintf(H.scratch, sizeof(H.scratch), "/tmp/sv-test-%s-%d-XXXXXX", H.tname, (int)getpid());
	cr_assert(mkdtemp(H.scratch), "mkdtemp %s: %s", H.scratch, strerror(errno));

	char out[PATH_MAX];
	h_output_dir(out, sizeof(out));
	const char *e = getenv("SUPERVISE_BIN");
	snprintf(H.bin, sizeof(H.bin), "%s", e && *e ? e : "");
	if (!*H.bin)
		snprintf(H.bin, sizeof(H.bin), "%s/supervise", out);
	e = getenv("SUPERVISE_HELPERS_DIR");
	snprintf(H.helpers, sizeof(H.helpers), "%s", e && *e ? e : "");
	if (!*H.helpers)
		snprintf(H.helpers, sizeof(H.helpers), "%s/tests/helpers", out);
	cr_assert(access(H.bin, X_OK) == 0,
		  "supervise binary not found at %s (%s); build it or set SUPERVISE_BIN", H.bin,
		  strerror(errno));
}

H_FN void h_teardown(void)
{
	if (!H.ready)
		return;
	/* supervise processes still running (the test failed or timed out waiting). */
	for (size_t i = 0; i < sizeof(h_started) / sizeof(h_started[0]); i++) {
		if (h_started[i] <= 0)
			continue;
		kill(h_started[i], SIGKILL);
		waitpid(h_started[i], NULL, 0);
		h_started[i] = 0;
	}
	int r = h_cg_destroy(H.base);
	if (r < 0)
		fprintf(stderr, "harness: %s not removed: %s (contents: %s)\n", H.base, strerror(-r),
			h_list_dir(H.base));
	h_reap_any();
	if (*H.runtime_dir && strncmp(H.runtime_dir, "/tmp/sv-test-", 13) == 0)
		h_rm_rf(H.runtime_dir);
	if (*H.scratch && strncmp(H.scratch, "/tmp/sv-test-", 13) == 0)
		h_rm_rf(H.scratch);
	H.ready = false;
}

/* A helper program's path; fails the test when it was not built. */
H_FN const char *h_helper(const char *name)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", H.helpers, name);
	cr_assert(access(path, X_OK) == 0, "test helper %s not built (%s)", path, strerror(errno));
	return path;
}

/* ---- running supervise --------------------------------------------------------- */

struct h_buf {
	char *data; /* always NUL-terminated */
	size_t len, cap;
};

struct h_proc {
	pid_t pid;
	int out_fd, err_fd;
	struct h_buf out, err;
	int status;
	bool reaped, timed_out;
	double reaped_at; /* h_now() when waitpid returned it */
	int tty_fd;       /* with h_opts.tty: the pseudo-terminal's master side */
	char cmdline[2048];
};

struct h_opts {
	/* Put the supervise process in this cgroup (absolute path) before exec. */
	const char *enter_cgroup;
	/* Do not prepend H.bin: argv[0] is the program to run. */
	bool raw;
	/* Run supervise as a session leader whose controlling terminal (and stdin) is a
	 * new pseudo-terminal; p->tty_fd is its master: write "\x03" there to type ^C. */
	bool tty;
};

H_FN void h_buf_add(struct h_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		cr_assert(b->data, "out of memory");
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Start supervise with args (NULL-terminated, supervise's path not included),
 * stdin from /dev/null, stdout and stderr to pipes. */
H_FN void h_startv(struct h_proc *p, const struct h_opts *o, const char *const *args)
{
	static const struct h_opts none;
	if (!o)
		o = &none;
	memset(p, 0, sizeof(*p));
	p->out_fd = p->err_fd = p->tty_fd = -1;
	h_buf_add(&p->out, "", 0);
	h_buf_add(&p->err, "", 0);

	const char *argv[256];
	size_t n = 0;
	if (!o->raw)
		argv[n++] = H.bin;
	for (size_t i = 0; args[i] && n < 255; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	size_t off = 0;
	for (size_t i = 0; i < n && off < sizeof(p->cmdline) - 1; i++)
		off += snprintf(p->cmdline + off, sizeof(p->cmdline) - off, "%s'%s'", i ? " " : "", argv[i]);

	char slave[PATH_MAX] = "";
	if (o->tty) {
		p->tty_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		cr_assert(p->tty_fd >= 0 && grantpt(p->tty_fd) == 0 && unlockpt(p->tty_fd) == 0 &&
				  ptsname_r(p->tty_fd, slave, sizeof(slave)) == 0,
			  "pseudo-terminal: %s", strerror(errno));
	}
	int out[2], err[2];
	cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* A clean start: no signal state from the test runner, no core files. */
		sigset_t empty;
		sigemptyset(&empty);
		sigprocmask(SIG_SETMASK, &empty, NULL);
		/* glibc's signal() refuses its internal signals 32 and 33, which
		 * make 4.3 hands down ignored: reset every one with the raw call. */
		for (int s = 1; s < NSIG; s++) {
			struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } ksa = { 0 };
			ksa.handler = SIG_DFL;
			if (s != SIGKILL && s != SIGSTOP)
				syscall(SYS_rt_sigaction, s, &ksa, NULL, sizeof(ksa.mask));
		}
		struct rlimit nocore = { 0, 0 };
		setrlimit(RLIMIT_CORE, &nocore);
		prctl(PR_SET_CHILD_SUBREAPER, 0);
		if (o->enter_cgroup) {
			char procs[PATH_MAX];
			snprintf(procs, sizeof(procs), "%s/cgroup.procs", o->enter_cgroup);
			if (h_write_file(procs, "0") < 0) {
				dprintf(err[1], "harness: cannot enter %s: %s\n", procs, strerror(errno));
				_exit(121);
			}
		}
		/* A session leader opening a terminal acquires it as its controlling one,
		 * with its own process group in the foreground. */
		if (o->tty && setsid() < 0)
			_exit(121);
		int null = o->tty ? open(slave, O_RDWR) : open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(121);
		/* Only 0, 1, 2 reach supervise: any other fd the workload sees is supervise's. */
		syscall(SYS_close_range, 3U, ~0U, 0U);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(122);
	}
	close(out[1]);
	close(err[1]);
	p->pid = pid;
	p->out_fd = out[0];
	p->err_fd = err[0];
	for (size_t i = 0; i < sizeof(h_started) / sizeof(h_started[0]); i++)
		if (h_started[i] == 0) {
			h_started[i] = pid;
			break;
		}
}

#define h_start(p, ...) h_startv((p), NULL, (const char *const[]){ __VA_ARGS__, NULL })

/* Read what is available on stdout/stderr, waiting up to timeout_ms for it. */
H_FN void h_pump(struct h_proc *p, int timeout_ms)
{
	struct pollfd pfd[2] = { { p->out_fd, POLLIN, 0 }, { p->err_fd, POLLIN, 0 } };
	if (p->out_fd < 0 && p->err_fd < 0) {
		if (timeout_ms > 0)
			h_sleep_ms(timeout_ms);
		return;
	}
	int r = poll(pfd, 2, timeout_ms);
	if (r <= 0)
		return;
	for (int i = 0; i < 2; i++) {
		if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		char buf[8192];
		ssize_t n = read(pfd[i].fd, buf, sizeof(buf));
		if (n > 0) {
			h_buf_add(i == 0 ? &p->out : &p->err, buf, n);
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(pfd[i].fd);
			if (i == 0)
				p->out_fd = -1;
			else
				p->err_fd = -1;
		}
	}
}

/* Has supervise exited? Reaps it (non-blocking). */
H_FN bool h_poll_exit(struct h_proc *p)
{
	if (p->reaped)
		return true;
	int st;
	pid_t r = waitpid(p->pid, &st, WNOHANG);
	if (r == p->pid) {
		p->status = st;
		p->reaped = true;
		p->reaped_at = h_now();
		for (size_t i = 0; i < sizeof(h_started) / sizeof(h_started[0]); i++)
			if (h_started[i] == p->pid)
				h_started[i] = 0;
	}
	return p->reaped;
}

/* Wait for supervise to exit and its output to end, up to timeout_s. On timeout,
 * SIGKILL it (by pid) and mark timed_out. Returns true when it exited in time. */
H_FN bool h_finish(struct h_proc *p, double timeout_s)
{
	double end = h_now() + timeout_s;
	while (!h_poll_exit(p)) {
		if (h_now() > end) {
			p->timed_out = true;
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &p->status, 0);
			p->reaped = true;
			p->reaped_at = h_now();
			for (size_t i = 0; i < sizeof(h_started) / sizeof(h_started[0]); i++)
				if (h_started[i] == p->pid)
					h_started[i] = 0;
			break;
		}
		h_pump(p, 20);
	}
	/* The pipes close when the last holder goes; a workload left alive would hold
	 * them, so this wait is bounded too (the test's own checks report that). */
	for (double eof_end = h_now() + 2.0; (p->out_fd >= 0 || p->err_fd >= 0) && h_now() < eof_end;)
		h_pump(p, 20);
	return !p->timed_out;
}

/* Wait until stdout holds a full line starting with prefix; returns a new string
 * holding that line (no newline), or NULL on timeout or exit. */
H_FN char *h_wait_line(struct h_proc *p, const char *prefix, double timeout_s)
{
	double end = h_now() + timeout_s;
	for (;;) {
		for (const char *l = p->out.data; *l;) {
			const char *nl = strchr(l, '\n');
			if (!nl)
				break;
			if (!strncmp(l, prefix, strlen(prefix)))
				return strndup(l, nl - l);
			l = nl + 1;
		}
		if (h_now() > end)
			return NULL;
		if (p->out_fd < 0 && h_poll_exit(p))
			return NULL;
		h_pump(p, 20);
	}
}

H_FN void h_proc_free(struct h_proc *p)
{
	if (p->tty_fd >= 0)
		close(p->tty_fd);
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	free(p->out.data);
	free(p->err.data);
	memset(p, 0, sizeof(*p));
	p->out_fd = p->err_fd = p->tty_fd = -1;
}

/* Run to completion. */
#define h_run(p, ...) do { h_start((p), __VA_ARGS__); h_finish((p), H_TIMEOUT_S); } while (0)

/* "exit 7", "killed by signal 9", "timed out after 20 s (killed)". */
H_FN const char *h_status_str(const struct h_proc *p)
{
	static char buf[64];
	if (p->timed_out)
		snprintf(buf, sizeof(buf), "timed out (killed by the test)");
	else if (!p->reaped)
		snprintf(buf, sizeof(buf), "still running");
	else if (WIFEXITED(p->status))
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(p->status));
	else if (WIFSIGNALED(p->status))
		snprintf(buf, sizeof(buf), "killed by signal %d (%s)", WTERMSIG(p->status),
			 strsignal(WTERMSIG(p->status)));
	else
		snprintf(buf, sizeof(buf), "wait status 0x%x", p->status);
	return buf;
}

H_FN bool h_exited_with(const struct h_proc *p, int code)
{
	return p->reaped && !p->timed_out && WIFEXITED(p->status) && WEXITSTATUS(p->status) == code;
}

#define H_SHOW_FMT "\n--- command: %s\n--- status: %s\n--- stdout:\n%s\n--- stderr:\n%s\n---"
#define H_SHOW_ARGS(p) (p)->cmdline, h_status_str(p), (p)->out.data, (p)->err.data

/* Assert cond, with a message and the run's command, status and outputs. */
#define H_ASSERT(p, cond, fmt, ...) \
	cr_assert((cond), fmt H_SHOW_FMT, ##__VA_ARGS__, H_SHOW_ARGS(p))

/* Assert an exit code. */
#define H_ASSERT_EXIT(p, code) H_ASSERT((p), h_exited_with((p), (code)), "expected exit %d", (code))

/* ---- what a run leaves behind --------------------------------------------------- */

/* <base>/supervise: where the leaves live. */
H_FN const char *h_leaf_parent(void)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/supervise", H.base);
	return path;
}

/* Assert that no leaf and no run directory is left. */
#define H_ASSERT_CLEAN(p)                                                              \
	do {                                                                           \
		H_ASSERT(p, !h_exists(h_leaf_parent()),                                \
			 "%s should be removed after the last leaf, it holds: %s",     \
			 h_leaf_parent(), h_list_dir(h_leaf_parent()));                \
		H_ASSERT(p, h_count_entries(H.runtime_dir) == 0,                       \
			 "runtime dir %s should be empty, it holds: %s", H.runtime_dir, \
			 h_list_dir(H.runtime_dir));                                   \
	} while (0)

/* Wait until path exists (up to timeout_s). */
H_FN bool h_wait_exists(const char *path, double timeout_s)
{
	for (double end = h_now() + timeout_s; !h_exists(path); h_sleep_ms(10))
		if (h_now() > end)
			return false;
	return true;
}

/* Expected memory.enforced_by for a leaf under H.base: "kernel" when the memory
 * controller is available to the base's children, else "none" (until BPF
 * enforcement lands, which would make it "supervise"). */
H_FN bool h_base_has_controller(const char *ctrl)
{
	char path[PATH_MAX], buf[1024];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", H.base);
	if (h_read_file(path, buf, sizeof(buf)) < 0)
		return false;
	return h_word_in(buf, ctrl);
}

/* ---- JSON ----------------------------------------------------------------------- */

/* Does any value in the tree equal integer v? */
H_FN bool h_json_has_int(struct json_object *o, int64_t v)
{
	switch (json_object_get_type(o)) {
	case json_type_int:
		return json_object_get_int64(o) == v;
	case json_type_string: {
		const char *s = json_object_get_string(o);
		char *end;
		long long x = strtoll(s, &end, 10);
		return end != s && *end == '\0' && x == v;
	}
	case json_type_object: {
		json_object_object_foreach(o, k, val) {
			(void)k;
			if (h_json_has_int(val, v))
				return true;
		}
		return false;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (h_json_has_int(json_object_array_get_idx(o, i), v))
				return true;
		return false;
	default:
		return false;
	}
}

/* Does any string value in the tree contain s? */
H_FN bool h_json_has_substr(struct json_object *o, const char *s)
{
	switch (json_object_get_type(o)) {
	case json_type_string:
		return strstr(json_object_get_string(o), s) != NULL;
	case json_type_object: {
		json_object_object_foreach(o, k, val) {
			(void)k;
			if (h_json_has_substr(val, s))
				return true;
		}
		return false;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (h_json_has_substr(json_object_array_get_idx(o, i), s))
				return true;
		return false;
	default:
		return false;
	}
}

/* ---- a probe set of the test's own (added by branch harden) ------------------- */

/* SUPERVISE_BPF_PIN_DIR for this test: /sys/fs/bpf/sv-test-<test>-<pid> (bpffs
 * refuses names with a dot). A supervise built from another tree with another
 * TRACK_VERSION, running at the same time on this host, would otherwise replace
 * or unpin the shared set under the test's feet. Call after h_setup. */
static char h_pin_dir[PATH_MAX];

H_FN void h_private_pin_dir(void)
{
	snprintf(h_pin_dir, sizeof(h_pin_dir), "/sys/fs/bpf/sv-test-%s-%d", H.tname, (int)getpid());
	for (char *c = h_pin_dir + strlen("/sys/fs/bpf/"); *c; c++)
		if (*c == '.')
			*c = '_';
	setenv("SUPERVISE_BPF_PIN_DIR", h_pin_dir, 1);
}

/* Remove what a failed run left in the private pin dir (the last supervise
 * out unpins the set itself). Call before or after h_teardown. */
H_FN void h_remove_pin_dir(void)
{
	if (!*h_pin_dir)
		return;
	DIR *d = opendir(h_pin_dir);
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char *f = h_strf("%s/%s", h_pin_dir, de->d_name);
		unlink(f);
		free(f);
	}
	if (d)
		closedir(d);
	rmdir(h_pin_dir);
	unsetenv("SUPERVISE_BPF_PIN_DIR");
	*h_pin_dir = '\0';
}
