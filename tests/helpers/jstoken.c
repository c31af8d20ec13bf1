/*
 * jstoken run LOG CMD [ARG...]   take a token from the jobserver in MAKEFLAGS,
 *                                log "start"/"end" lines with CLOCK_MONOTONIC
 *                                times to LOG (appending), run CMD, give the
 *                                token back, exit with CMD's status
 * jstoken take-and-die           take a token, then SIGKILL itself (the token
 *                                is lost, as with a job killed holding one)
 * jstoken make LOG < COMMANDS    a tiny make: run each line of stdin with
 *                                /bin/sh -c, one on the implicit token and one
 *                                more per token taken, as make -j does; log
 *                                start/end lines to LOG; exit 1 if any failed
 *
 * A minimal jobserver client for both styles: --jobserver-auth=R,W (inherited
 * fds) and --jobserver-auth=fifo:PATH. Lets tests drive the fifo style without
 * make >= 4.4, and lose a token on purpose.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int rfd = -1, wfd = -1;

static void open_jobserver(void)
{
	const char *mf = getenv("MAKEFLAGS");
	const char *a = mf ? strstr(mf, "--jobserver-auth=") : NULL;
	if (!a) {
		fprintf(stderr, "jstoken: no --jobserver-auth in MAKEFLAGS\n");
		exit(3);
	}
	a += strlen("--jobserver-auth=");
	if (!strncmp(a, "fifo:", 5)) {
		char path[4096];
		size_t n = strcspn(a + 5, " ");
		snprintf(path, sizeof(path), "%.*s", (int)n, a + 5);
		rfd = wfd = open(path, O_RDWR | O_CLOEXEC);
		if (rfd < 0) {
			fprintf(stderr, "jstoken: open %s: %s\n", path, strerror(errno));
			exit(3);
		}
	} else if (sscanf(a, "%d,%d", &rfd, &wfd) != 2 || fcntl(rfd, F_GETFD) < 0 || fcntl(wfd, F_GETFD) < 0) {
		fprintf(stderr, "jstoken: jobserver fds in '%s' are not open\n", a);
		exit(3);
	}
}

/* Blocking acquire that also works on a description someone set O_NONBLOCK. */
static char take(void)
{
	char c;
	for (;;) {
		ssize_t n = read(rfd, &c, 1);
		if (n == 1)
			return c;
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "jstoken: read: %s\n", strerror(errno));
			exit(3);
		}
		struct pollfd p = { rfd, POLLIN, 0 };
		poll(&p, 1, 100);
	}
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void log_line(const char *path, const char *what)
{
	FILE *f = fopen(path, "a");
	if (!f)
		return;
	fprintf(f, "%s %d %.6f\n", what, (int)getpid(), mono());
	fclose(f);
}

struct slot {
	pid_t pid;
	int has_token;
	char tok;
};

/* Reap finished commands; give their tokens back. Returns how many ended. */
static int reap(struct slot *s, int n, int *running, int *failed, const char *log)
{
	int ended = 0, st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (int i = 0; i < n; i++)
			if (s[i].pid == pid) {
				log_line(log, "end");
				if (!WIFEXITED(st) || WEXITSTATUS(st))
					(*failed)++;
				if (s[i].has_token)
					while (write(wfd, &s[i].tok, 1) < 0 && errno == EINTR)
						;
				s[i].pid = 0;
				(*running)--;
				ended++;
			}
	return ended;
}

static int mini_make(const char *log)
{
	static struct slot s[256];
	char line[4096];
	int running = 0, failed = 0;
	open_jobserver();
	/* As make does: never block in read, reap while waiting for a token. */
	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		int i;
		for (;;) {
			reap(s, 256, &running, &failed, log);
			for (i = 0; i < 256 && s[i].pid; i++)
				;
			if (i < 256)
				break;
			usleep(10000);
		}
		s[i].has_token = 0;
		if (running > 0) {
			/* Beyond the implicit token: wait for one, reaping meanwhile. */
			for (;;) {
				char c;
				ssize_t r = read(rfd, &c, 1);
				if (r == 1) {
					s[i].has_token = 1;
					s[i].tok = c;
					break;
				}
				if (reap(s, 256, &running, &failed, log) && running == 0)
					break;
				struct pollfd p = { rfd, POLLIN, 0 };
				poll(&p, 1, 10);
			}
		}
		log_line(log, "start");
		pid_t pid = fork();
		if (pid == 0) {
			execl("/bin/sh", "sh", "-c", line, (char *)NULL);
			_exit(127);
		}
		s[i].pid = pid;
		running++;
	}
	while (running > 0) {
		if (!reap(s, 256, &running, &failed, log))
			usleep(10000);
	}
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "make"))
		return mini_make(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "take-and-die")) {
		open_jobserver();
		take();
		raise(SIGKILL);
		return 1;
	}
	if (argc < 4 || strcmp(argv[1], "run")) {
		fprintf(stderr, "usage: jstoken run LOG CMD [ARG...] | jstoken take-and-die\n");
		return 2;
	}
	open_jobserver();
	char tok = take();
	log_line(argv[2], "start");
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	int st = 0;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	log_line(argv[2], "end");
	/* Give back the byte we read, as the protocol asks. */
	while (write(wfd, &tok, 1) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
