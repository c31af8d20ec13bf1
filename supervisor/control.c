#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "cli.h"
#include "control.h"
#include "log.h"
#include "rundir.h"
#include "size.h"
#include "status.h"
#include "util.h"

#define CONTROL_TIMEOUT_MS 5000

int control_parse_jobs(const char *s, unsigned *ret_min, unsigned *ret_max)
{
	char buf[64];
	uint64_t lo, hi;
	const char *dash = strchr(s, '-');

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	if (dash) {
		buf[dash - s] = '\0';
		if (parse_u64(buf, &lo) < 0 || parse_u64(buf + (dash - s) + 1, &hi) < 0)
			return -EINVAL;
	} else {
		if (parse_u64(buf, &lo) < 0)
			return -EINVAL;
		hi = lo;
	}
	if (lo < 1 || hi < lo || hi > 4096)
		return -ERANGE;
	*ret_min = (unsigned)lo;
	*ret_max = (unsigned)hi;
	return 0;
}

void control_jobs_auto(unsigned cpus, unsigned *ret_min, unsigned *ret_max)
{
	unsigned max = JOBS_AUTO_PER_CPU * (cpus ? cpus : 1);
	*ret_min = 1;
	*ret_max = max > 4096 ? 4096 : max;
}

int control_format(const struct control_request *req, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	if (req->has_mem)
		o += snprintf(buf + o, size - o, "mem=%s\n", req->mem);
	if (req->has_cpus && o < size)
		o += snprintf(buf + o, size - o, "cpus=%.3f\n", req->cpus);
	if (req->has_jobs && req->jobs_auto && o < size)
		o += snprintf(buf + o, size - o, "jobs=auto\n");
	else if (req->has_jobs && o < size)
		o += snprintf(buf + o, size - o, "jobs=%u-%u\n", req->jobs_min, req->jobs_max);
	return o < size ? (int)o : -ENOBUFS;   /* snprintf's o may pass size: never a cut request */
}

int control_parse(const char *text, struct control_request *ret)
{
	struct control_request r = { 0 };
	const char *p = text;

	while (*p) {
		size_t len = strcspn(p, "\n");
		char line[128];
		if (len >= sizeof(line))
			return -EINVAL;
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (p[len] == '\n');
		if (!*line)
			continue;
		char *eq = strchr(line, '=');
		if (!eq)
			return -EINVAL;
		*eq = '\0';
		const char *v = eq + 1;
		if (streq(line, "mem")) {
			struct size_arg a;
			if (size_parse(v, &a) < 0 || strlen(v) >= sizeof(r.mem))
				return -EINVAL;
			snprintf(r.mem, sizeof(r.mem), "%s", v);
			r.has_mem = true;
		} else if (streq(line, "cpus")) {
			if (decimal_parse(v, &r.cpus) < 0 || r.cpus < 0.01 || r.cpus > 4096)
				return -EINVAL;
			r.has_cpus = true;
		} else if (streq(line, "jobs")) {
			r.jobs_auto = streq(v, "auto");
			if (!r.jobs_auto && control_parse_jobs(v, &r.jobs_min, &r.jobs_max) < 0)
				return -EINVAL;
			r.has_jobs = true;
		} else {
			return -EINVAL;
		}
	}
	if (!r.has_mem && !r.has_cpus && !r.has_jobs)
		return -EINVAL;
	*ret = r;
	return 0;
}

/* The socket's address. sun_path holds 108 bytes and a run directory may be
 * longer (SUPERVISE_RUNTIME_DIR): then the path goes through an O_PATH fd
 * of the directory, /proc/self/fd/N/control, which bind and connect
 * resolve like any path. *ret_dirfd is that fd (-1 when not needed). */
static int socket_address(const char *run_dir, struct sockaddr_un *ret, int *ret_dirfd)
{
	memset(ret, 0, sizeof(*ret));
	ret->sun_family = AF_UNIX;
	*ret_dirfd = -1;
	if ((size_t)snprintf(ret->sun_path, sizeof(ret->sun_path), "%s/%s", run_dir, CONTROL_SOCKET) <
	    sizeof(ret->sun_path))
		return 0;
	int fd = open(run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(ret->sun_path, sizeof(ret->sun_path), "/proc/self/fd/%d/%s", fd, CONTROL_SOCKET);
	*ret_dirfd = fd;
	return 0;
}

/* The socket is bound inside a fresh 0700 directory under umask 077 and only
 * then renamed into the run directory: at no moment can another user reach
 * it (a chmod after bind left a window another user won 1 in 150 under
 * umask 000). Everything goes through dirfds, so a long run directory never
 * overflows sun_path. */
int control_listen(const char *run_dir)
{
	_cleanup_close_ int dirfd = open(run_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return log_errno(-errno, "control: opening %s failed: %m", run_dir);
	char priv[32];
	int r = -EEXIST;
	for (int i = 0; i < 16 && r == -EEXIST; i++) {
		snprintf(priv, sizeof(priv), ".control-%08x", (unsigned)random() ^ (unsigned)getpid());
		r = mkdirat(dirfd, priv, 0700) < 0 ? -errno : 0;
	}
	if (r < 0)
		return log_errno(r, "control: making a private directory in %s failed: %m", run_dir);
	_cleanup_close_ int privfd = openat(dirfd, priv, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (privfd < 0 || fd < 0) {
		r = log_errno(-errno, "control: socket in %s/%s failed: %m", run_dir, priv);
		goto out;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", privfd, CONTROL_SOCKET);
	mode_t old = umask(077);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (r < 0) {
		log_errno(r, "control: bind in %s/%s failed: %m", run_dir, priv);
		goto out;
	}
	/* Only the user who started the run (and root) may change its budget;
	 * control_accept checks the peer's credentials as well. */
	if (renameat(privfd, CONTROL_SOCKET, dirfd, CONTROL_SOCKET) < 0 || listen(fd, 4) < 0) {
		r = log_errno(-errno, "control: listening on %s/%s failed: %m", run_dir, CONTROL_SOCKET);
		unlinkat(privfd, CONTROL_SOCKET, 0);
		goto out;
	}
	r = TAKE_FD(fd);
out:
	unlinkat(dirfd, priv, AT_REMOVEDIR);
	return r;
}

/* Root, or the user this supervisor runs as: anyone else is refused even if
 * the socket's mode let them in (a file mode is one mistake away). */
static int check_peer(int conn)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return log_errno(-errno, "control: reading the client's credentials failed: %m");
	if (cred.uid != 0 && cred.uid != geteuid()) {
		log_warn("control: refused a request from uid %u (pid %d): only uid %u and root may change this run",
			 (unsigned)cred.uid, (int)cred.pid, (unsigned)geteuid());
		return -EPERM;
	}
	return 0;
}

int control_accept(int listen_fd, struct control_request *ret)
{
	_cleanup_close_ int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	char buf[512];

	if (conn < 0)
		return -errno;
	/* The client sends right after connecting: a short bounded wait. */
	struct pollfd p = { .fd = conn, .events = POLLIN };
	if (poll(&p, 1, 1000) <= 0)
		return -ETIMEDOUT;
	ssize_t n = recv(conn, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n <= 0)
		return n < 0 ? -errno : -ECONNRESET;
	buf[n] = '\0';
	/* Checked after the read: a socket closed with the request unread
	 * would reset the connection, and the client would not see why. */
	if (check_peer(conn) < 0) {
		control_reply(conn, "error: permission denied: only the user who started the run, or root, may change it");
		return -EPERM;
	}
	/* A client that gave up (the supervisor was stopped past its timeout)
	 * told its user the request failed: applying it now would contradict
	 * that. Its close shows as a hangup behind the queued request. */
	p.events = POLLRDHUP;
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP))) {
		log_warn("control: dropped a request whose client had already gone (it waited %d s for an answer)",
			 CONTROL_TIMEOUT_MS / 1000);
		return -ECONNRESET;
	}
	if (control_parse(buf, ret) < 0) {
		control_reply(conn, "error: a request of lines mem=SIZE, cpus=N, jobs=MIN-MAX|auto was expected");
		return -EBADMSG;
	}
	return TAKE_FD(conn);
}

void control_reply(int conn_fd, const char *text)
{
	ssize_t n = send(conn_fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)n;
}

int set_command(const struct config *c)
{
	char dir[PATH_MAX], msg[512], reply[1024];
	struct run_info ri;
	struct control_request req = { .has_mem = c->has_mem, .has_cpus = c->cpus > 0,
				       .has_jobs = c->jobs_max > 0 || c->jobs_auto, .cpus = c->cpus,
				       .jobs_min = c->jobs_min, .jobs_max = c->jobs_max, .jobs_auto = c->jobs_auto };
	struct sockaddr_un sa;
	_cleanup_close_ int dirfd = -1;

	/* Never cut a value: "00…010M" cut to 63 characters is 10 bytes. */
	if (c->mem_arg && (size_t)snprintf(req.mem, sizeof(req.mem), "%s", c->mem_arg) >= sizeof(req.mem)) {
		log_error("set: --mem '%s' is %zu characters, more than the %zu a request holds; write it shorter "
			  "(512MiB, 2GiB, 80%%)", c->mem_arg, strlen(c->mem_arg), sizeof(req.mem) - 1);
		return EXIT_SUPERVISE_FAILURE;
	}
	snprintf(dir, sizeof(dir), "%s/%s", rundir_root(), c->stat_name);
	if (rundir_read(dir, &ri) < 0 || !run_owner_alive(&ri)) {
		log_error("set: no running workload named '%s' in %s ('supervise ls' lists them)", c->stat_name,
			  rundir_root());
		return EXIT_SUPERVISE_FAILURE;
	}
	if (control_format(&req, msg, sizeof(msg)) < 0 || socket_address(dir, &sa, &dirfd) < 0)
		return EXIT_SUPERVISE_FAILURE;
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_errno(-errno, "set: socket failed: %m"), EXIT_SUPERVISE_FAILURE;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_errno(-errno, "set: cannot reach the supervisor of '%s' (pid %d) at %s: %m%s", c->stat_name,
			  (int)ri.pid, sa.sun_path, errno == EACCES ? "; run as the user who started it, or root" : "");
		return EXIT_SUPERVISE_FAILURE;
	}
	if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0)
		return log_errno(-errno, "set: sending the request failed: %m"), EXIT_SUPERVISE_FAILURE;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, CONTROL_TIMEOUT_MS) <= 0) {
		log_error("set: the supervisor of '%s' (pid %d) did not answer within %d s (is it stopped?); nothing "
			  "was applied: it drops the request when it next looks, as this connection is closed",
			  c->stat_name, (int)ri.pid, CONTROL_TIMEOUT_MS / 1000);
		return EXIT_SUPERVISE_FAILURE;
	}
	ssize_t n = recv(fd, reply, sizeof(reply) - 1, 0);
	if (n <= 0) {
		log_error("set: the supervisor of '%s' closed the connection without an answer", c->stat_name);
		return EXIT_SUPERVISE_FAILURE;
	}
	reply[n] = '\0';
	bool ok = !strncmp(reply, "ok", 2);
	fprintf(ok ? stdout : stderr, "%s%s\n", ok ? "" : "supervise: set: ", reply);
	return ok ? 0 : 1;
}
