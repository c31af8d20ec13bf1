/* clients: see clients.h. */
#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "clients.h"
#include "log.h"
#include "util.h"

#define VERSION_TIMEOUT_MS 2000
#define CACHE_MAX (1 << 20)

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

enum client_kind client_kind_of(const char *argv0)
{
	const char *b = base_name(argv0);
	if (streq(b, "make") || streq(b, "gmake"))
		return CLIENT_MAKE;
	if (streq(b, "ninja") || streq(b, "ninja-build") || streq(b, "samu"))
		return CLIENT_NINJA;
	if (streq(b, "cargo"))
		return CLIENT_CARGO;
	if (streq(b, "cmake"))
		return CLIENT_CMAKE;
	return CLIENT_OTHER;
}

const char *client_kind_name(enum client_kind k)
{
	static const char *const names[] = { "a command", "make", "ninja", "cargo", "cmake" };
	return k < ELEMENTSOF(names) ? names[k] : "?";
}

int client_parse_version(const char *text, struct client_version *ret)
{
	*ret = (struct client_version){ 0 };
	for (const char *p = text; p && *p; p++) {
		/* A version starts a word: "ninja1.2" or "x86_64" are not one. */
		if (!isdigit((unsigned char)*p) || (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '.')))
			continue;
		unsigned a, b, c = 0;
		int n = 0;
		if (sscanf(p, "%u.%u%n", &a, &b, &n) == 2 && n > 0) {
			if (p[n] == '.')
				sscanf(p + n + 1, "%u", &c);
			*ret = (struct client_version){ .major = a, .minor = b, .patch = c, .known = true };
			return 0;
		}
	}
	return -EINVAL;
}

static bool at_least(const struct client_version *v, unsigned major, unsigned minor)
{
	return v->known && (v->major > major || (v->major == major && v->minor >= minor));
}

bool client_reads_jobserver(enum client_kind tool, const struct client_version *v, enum js_style *ret_style)
{
	*ret_style = JS_PIPE;
	switch (tool) {
	case CLIENT_NINJA:
		/* ninja 1.13 added a jobserver client, fifo style only. */
		if (at_least(v, 1, 13)) {
			*ret_style = JS_FIFO;
			return true;
		}
		return false;
	case CLIENT_MAKE:
	case CLIENT_CARGO:
		/* make 4.3 aborts on a fifo string; 4.4 reads both. */
		return true;
	default:
		/* Unknown commands may run make or cargo below: offer the pipe. */
		return true;
	}
}

int client_cmake_cache_tool(const char *text, char *ret_prog, size_t size, enum client_kind *ret_kind)
{
	static const char key[] = "CMAKE_MAKE_PROGRAM:";
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, sizeof(key) - 1))
			continue;
		const char *eq = strchr(l, '=');
		const char *nl = strchr(l, '\n');
		if (!eq || (nl && eq > nl))
			continue;
		size_t len = nl ? (size_t)(nl - eq - 1) : strlen(eq + 1);
		while (len && (eq[len] == '\r' || isspace((unsigned char)eq[len])))
			len--;
		if (!len || len >= size)
			return -ENOENT;
		memcpy(ret_prog, eq + 1, len);
		ret_prog[len] = '\0';
		*ret_kind = client_kind_of(ret_prog);
		return 0;
	}
	return -ENOENT;
}

const char *client_cmake_build_dir(char *const *argv)
{
	if (client_kind_of(argv[0]) != CLIENT_CMAKE)
		return NULL;
	for (size_t i = 1; argv[i]; i++) {
		if (streq(argv[i], "--build"))
			return argv[i + 1];
		if (!strncmp(argv[i], "--build=", 8))
			return argv[i] + 8;
	}
	return NULL;
}

bool client_argv_sets_jobs(enum client_kind kind, char *const *argv)
{
	for (size_t i = 1; argv[i]; i++) {
		const char *a = argv[i];
		/* cmake --build ... -- TOOL-ARGS: the tool's own options follow. */
		if (streq(a, "--"))
			kind = kind == CLIENT_CMAKE ? CLIENT_OTHER : kind;
		if (kind == CLIENT_NINJA && !strncmp(a, "-j", 2))
			return true;
		if (kind == CLIENT_CMAKE &&
		    (streq(a, "-j") || !strncmp(a, "-j", 2) || !strncmp(a, "--parallel", 10)))
			return true;
	}
	return false;
}

void client_argv_free(char **argv)
{
	for (char **a = argv; a && *a; a++)
		free(*a);
	free(argv);
}

char **client_argv_with_jobs(char *const *argv, const struct client_info *ci, unsigned jobs)
{
	size_t n = 0;
	while (argv[n])
		n++;
	/* Where -j goes: right after the program (ninja), after `--build DIR`
	 * (cmake: its own -j, which it hands to the generator's tool). */
	size_t at = 1, extra = 1;
	if (ci->kind == CLIENT_CMAKE) {
		for (at = 1; at < n && strcmp(argv[at], "--build") && strncmp(argv[at], "--build=", 8); at++)
			;
		if (at == n)
			return NULL;
		at += streq(argv[at], "--build") ? 2 : 1;
		if (at > n)
			return NULL;
		extra = 2;
	}
	char **out = calloc(n + extra + 1, sizeof(*out));
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < at; i++)
		out[o++] = strdup(argv[i]);
	if (extra == 2) {
		out[o++] = strdup("-j");
		if (asprintf(&out[o++], "%u", jobs) < 0)
			out[o - 1] = NULL;
	} else if (asprintf(&out[o++], "-j%u", jobs) < 0) {
		out[o - 1] = NULL;
	}
	for (size_t i = at; i < n; i++)
		out[o++] = strdup(argv[i]);
	for (size_t i = 0; i < o; i++)
		if (!out[i]) {
			/* Out of memory: free what was made (the NULL ends nothing early). */
			for (size_t k = 0; k < o; k++)
				free(out[k]);
			free(out);
			return NULL;
		}
	return out;
}

/* Run `prog --version` and read the start of what it prints, bounded in time
 * and size: a hung or chatty tool must not hold supervise up. */
static int tool_version(const char *prog, struct client_version *ret)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		/* Not the workload: no jobserver for a version query. */
		unsetenv("MAKEFLAGS");
		execlp(prog, prog, "--version", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[4096];
	size_t len = 0;
	uint64_t end = now_ns() + VERSION_TIMEOUT_MS * 1000000ull;
	for (;;) {
		uint64_t now = now_ns();
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		if (now >= end || poll(&pfd, 1, (int)((end - now) / 1000000ull) + 1) <= 0)
			break;
		ssize_t n = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0 || (len += (size_t)n) == sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';
	close(p[0]);
	/* Our own child, by pid: gone already, or stuck past the timeout. */
	if (waitpid(pid, NULL, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return client_parse_version(buf, ret);
}

void client_detect(char *const *argv, struct client_info *ret)
{
	*ret = (struct client_info){ .kind = client_kind_of(argv[0]) };
	ret->tool = ret->kind;
	snprintf(ret->tool_path, sizeof(ret->tool_path), "%s", argv[0]);

	const char *dir = client_cmake_build_dir(argv);
	if (ret->kind == CLIENT_CMAKE) {
		ret->tool = CLIENT_OTHER;
		if (dir) {
			char path[PATH_MAX + 32];
			_cleanup_free_ char *text = malloc(CACHE_MAX);
			snprintf(ret->build_dir, sizeof(ret->build_dir), "%s", dir);
			snprintf(path, sizeof(path), "%s/CMakeCache.txt", dir);
			/* The user's own build tree; still bounded and not followed
			 * out of a symlink at the last component. */
			_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
			ssize_t n = fd >= 0 && text ? read(fd, text, CACHE_MAX - 1) : -1;
			if (n > 0) {
				text[n] = '\0';
				if (client_cmake_cache_tool(text, ret->tool_path, sizeof(ret->tool_path), &ret->tool) < 0)
					ret->tool = CLIENT_OTHER;
			} else {
				log_debug("clients: cannot read %s: %m", path);
			}
		}
	}
	ret->user_jobs = client_argv_sets_jobs(ret->kind, argv);
	if (ret->tool == CLIENT_MAKE || ret->tool == CLIENT_NINJA) {
		int r = tool_version(ret->tool_path, &ret->version);
		if (r < 0)
			log_debug("clients: no version from '%s --version' (%s)", ret->tool_path, strerror(-r));
	}
	ret->reads_jobserver = client_reads_jobserver(ret->tool, &ret->version, &ret->style);
}
