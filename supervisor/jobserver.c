/* jobserver: see jobserver.h. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "jobserver.h"
#include "log.h"
#include "util.h"

#define TOKEN '+'

int jobs_parse(const char *s, unsigned *ret_min, unsigned *ret_max, bool *ret_auto)
{
	uint64_t a, b;
	char buf[64];

	if (!s || !*s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	if (streq(s, "auto")) {
		*ret_min = 1, *ret_max = 0, *ret_auto = true;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	char *dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (parse_u64(buf, &a) < 0 || a == 0 || a > 4096)
		return -EINVAL;
	b = a;
	if (dash && (parse_u64(dash + 1, &b) < 0 || b < a || b > 4096))
		return -EINVAL;
	*ret_min = (unsigned)a, *ret_max = (unsigned)b, *ret_auto = false;
	return 0;
}

int jobserver_style_parse(const char *s, enum js_style *ret)
{
	if (streq(s, "pipe"))
		*ret = JS_PIPE;
	else if (streq(s, "fifo"))
		*ret = JS_FIFO;
	else if (streq(s, "auto"))
		*ret = JS_AUTO;
	else
		return -EINVAL;
	return 0;
}

const char *jobserver_style_name(enum js_style s)
{
	return s == JS_PIPE ? "pipe" : s == JS_FIFO ? "fifo" : s == JS_AUTO ? "auto" : "none";
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static bool is_make(const char *cmd)
{
	const char *b = base_name(cmd);
	return streq(b, "make") || streq(b, "gmake");
}

enum js_style jobserver_style_for(char *const *argv)
{
	const char *b = base_name(argv[0]);
	if (streq(b, "ninja") || streq(b, "samu"))
		return JS_FIFO;
	return JS_PIPE;
}

int jobserver_makeflags(enum js_style style, int rfd, int wfd, const char *fifo, unsigned max_jobs,
			char *buf, size_t size)
{
	int n;
	if (style == JS_PIPE)
		n = snprintf(buf, size, " -j%u --jobserver-auth=%d,%d", max_jobs, rfd, wfd);
	else if (style == JS_FIFO)
		n = snprintf(buf, size, " -j%u --jobserver-auth=fifo:%s", max_jobs, fifo);
	else
		return -EINVAL;
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Does a make argument set the job count? -j, -j8, --jobs, --jobs=8, and
 * short-option clusters such as -kj8. */
static bool make_sets_jobs(const char *a)
{
	if (!strncmp(a, "--jobs", 6) && (a[6] == '\0' || a[6] == '='))
		return true;
	if (a[0] != '-' || a[1] == '-' || a[1] == '\0')
		return false;
	for (const char *c = a + 1; *c; c++) {
		if (*c == 'j')
			return true;
		/* Options taking a value end the cluster: -C dir, -f file, -I dir, -o, -W, -l. */
		if (strchr("CfIoWl", *c))
			return false;
	}
	return false;
}

const char *jobserver_argv_warning(char *const *argv, char *buf, size_t size)
{
	const char *b = base_name(argv[0]);
	for (size_t i = 1; argv[i]; i++) {
		if (streq(argv[i], "--"))
			break;
		/* The value of -f FILE, -C DIR... is not an option. */
		if (is_make(argv[0]) && argv[i][0] == '-' && argv[i][1] && strchr("CfIoW", argv[i][1]) &&
		    !argv[i][2] && argv[i + 1]) {
			i++;
			continue;
		}
		if (is_make(argv[0]) && make_sets_jobs(argv[i])) {
			snprintf(buf, size,
				 "jobserver: '%s %s' makes make start its own jobserver and ignore supervise's "
				 "(\"-jN forced in submake: resetting jobserver mode\"); drop '%s': --jobs sets "
				 "the number of jobs",
				 b, argv[i], argv[i]);
			return buf;
		}
		if ((streq(b, "ninja") || streq(b, "samu")) && !strncmp(argv[i], "-j", 2)) {
			snprintf(buf, size,
				 "jobserver: '%s %s' disables ninja's jobserver client; drop '%s': --jobs sets "
				 "the number of jobs",
				 b, argv[i], argv[i]);
			return buf;
		}
	}
	return NULL;
}

int jobserver_plan(unsigned pool, unsigned in_pipe, unsigned target)
{
	unsigned want = target > 0 ? target - 1 : 0;  /* the implicit token is never in the pipe */
	if (want > pool)
		return (int)(want - pool);
	unsigned excess = pool - want;
	/* Only tokens that came home can go: never take one back from a client. */
	return -(int)(excess < in_pipe ? excess : in_pipe);
}

int jobserver_open(struct jobserver *js, enum js_style style, const char *run_dir, unsigned max_jobs)
{
	struct stat st;
	char self[64];

	*js = (struct jobserver)JOBSERVER_INIT;
	js->style = style;
	js->max_jobs = max_jobs;
	if (style == JS_PIPE) {
		int p[2];
		/* CLOEXEC here; launch clears it in the child only, so no other
		 * program supervise runs (the guard) holds the pipe. */
		if (pipe2(p, O_CLOEXEC) < 0)
			return log_errno(-errno, "jobserver: pipe2 failed: %m");
		js->rfd = p[0], js->wfd = p[1];
		/* A description of our own, non-blocking, for both ends: taking
		 * tokens home and minting must never block the loop. The ends the
		 * clients share are theirs to make blocking (make 4.3 does), and a
		 * workload can fill the pipe with junk: a write there would hang
		 * supervise in pipe_write, deaf to SIGTERM. Opening a pipe's
		 * /proc/self/fd link O_RDWR gives a new description of the same pipe. */
		snprintf(self, sizeof(self), "/proc/self/fd/%d", js->rfd);
		js->home_fd = open(self, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (js->home_fd < 0)
			return log_errno(-errno, "jobserver: reopening the pipe through %s failed: %m", self);
	} else if (style == JS_FIFO) {
		/* A cut path would make the fifo somewhere else. */
		if ((size_t)snprintf(js->fifo, sizeof(js->fifo), "%s/jobserver", run_dir) >= sizeof(js->fifo))
			return log_errno(-ENAMETOOLONG, "jobserver: %s/jobserver is longer than a path can be; set "
							"SUPERVISE_RUNTIME_DIR to a shorter one, or --jobserver-style pipe",
					 run_dir);
		if (mkfifo(js->fifo, 0600) < 0)
			return log_errno(-errno, "jobserver: mkfifo %s failed: %m", js->fifo);
		/* O_RDWR: the fifo always has a reader and a writer while we live,
		 * so clients' opens never block and reads never see EOF. */
		js->home_fd = open(js->fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (js->home_fd < 0)
			return log_errno(-errno, "jobserver: opening %s failed: %m", js->fifo);
		js->rfd = js->wfd = js->home_fd;
	} else {
		return -EINVAL;
	}
	if (fstat(js->home_fd, &st) < 0)
		return log_errno(-errno, "jobserver: fstat failed: %m");
	js->dev = st.st_dev, js->ino = st.st_ino;
	return 0;
}

int jobserver_export(const struct jobserver *js)
{
	char flags[PATH_MAX + 64];
	int r = jobserver_makeflags(js->style, js->rfd, js->wfd, js->fifo, js->max_jobs, flags, sizeof(flags));
	if (r < 0)
		return log_errno(r, "jobserver: the MAKEFLAGS value is too long (run directory path?)");
	/* Ours replace any the caller had: a jobserver of an outer make is not
	 * ours to hand out, and its fds are not inherited past supervise. */
	if (setenv("MAKEFLAGS", flags, 1) < 0 || setenv("CARGO_MAKEFLAGS", flags, 1) < 0)
		return log_errno(-errno, "jobserver: setenv MAKEFLAGS failed: %m");
	unsetenv("MFLAGS");
	/* cargo caps its own jobs at CARGO_BUILD_JOBS; runtime advice would set it
	 * from CPUs and the budget (a static guess): with a jobserver the cap is
	 * its upper bound, and the tokens decide below it. A user's value stays. */
	char n[16];
	snprintf(n, sizeof(n), "%u", js->max_jobs);
	if (!getenv("CARGO_BUILD_JOBS") && setenv("CARGO_BUILD_JOBS", n, 0) < 0)
		return log_errno(-errno, "jobserver: setenv CARGO_BUILD_JOBS failed: %m");
	return 0;
}

int jobserver_inherit_fds(const struct jobserver *js, int ret_fds[2])
{
	if (js->style != JS_PIPE)
		return 0;
	ret_fds[0] = js->rfd, ret_fds[1] = js->wfd;
	return 2;
}

int jobserver_in_pipe(const struct jobserver *js)
{
	int n = 0;
	if (ioctl(js->home_fd, FIONREAD, &n) < 0)
		return -errno;
	return n;
}

int jobserver_set_target(struct jobserver *js, unsigned target)
{
	int in = jobserver_in_pipe(js);
	if (in < 0)
		return log_errno(in, "jobserver: FIONREAD failed: %m");
	int n = jobserver_plan(js->pool, (unsigned)in, target);
	char buf[256];
	if (n > 0) {
		if (n > (int)sizeof(buf))
			n = sizeof(buf);
		memset(buf, TOKEN, n);
		/* Non-blocking, and at most PIPE_BUF bytes: all or nothing. EAGAIN
		 * means the pipe is full, which our few hundred tokens never do on
		 * their own: the workload wrote junk into it. Mint nothing now. */
		ssize_t w = write(js->home_fd, buf, n);
		if (w < 0 && errno == EAGAIN) {
			if (!js->full_warned)
				log_warn("jobserver: the token pipe is full (%d bytes: the workload wrote into it what are "
					 "not tokens); no tokens minted until it drains", in);
			js->full_warned = true;
			return 0;
		}
		if (w < 0)
			return log_errno(-errno, "jobserver: minting %d tokens failed: %m", n);
		js->full_warned = false;
		js->pool += (unsigned)w;
		return (int)w;
	}
	if (n < 0) {
		size_t want = (size_t)-n < sizeof(buf) ? (size_t)-n : sizeof(buf);
		/* A client may take one first: fewer (or EAGAIN) is fine. */
		ssize_t got = read(js->home_fd, buf, want);
		if (got < 0)
			return errno == EAGAIN ? 0 : log_errno(-errno, "jobserver: taking tokens home failed: %m");
		js->pool -= (unsigned)got;
		return -(int)got;
	}
	return 0;
}

void jobserver_forget(struct jobserver *js, unsigned lost)
{
	js->pool = lost < js->pool ? js->pool - lost : 0;
}

void jobserver_close(struct jobserver *js)
{
	if (js->style == JS_PIPE) {
		closep(&js->rfd);
		closep(&js->wfd);
	}
	closep(&js->home_fd);
	if (js->style == JS_FIFO && js->fifo[0])
		unlink(js->fifo);
	js->rfd = js->wfd = js->home_fd = -1;
	js->style = JS_NONE;
}
