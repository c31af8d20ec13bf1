/* Profiles. The file is data another user may have written (a shared
 * /etc/supervise, a project's configs/): it is opened with O_NOFOLLOW, must
 * be a regular file of at most 1 MiB owned by root or by us and not
 * writable by others, and every value goes through the same checks as the
 * command line's. */
#include <ctype.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "log.h"
#include "profile.h"
#include "rundir.h"
#include "util.h"

#define PROFILE_MAX_BYTES (1 << 20)
#define PROFILE_MAX_LINE 4096

enum key {
	K_NAME,
	K_MEMORY_MAX,
	K_MEMORY_HIGH,
	K_CPU_QUOTA,
	K_TASKS_MAX,
	K_SANDBOX,
	K_SYSCALL_FILTER,
	K_SYSCALL_ERRNO,
	K_SYSCALL_ACTION,
	K_CAP_BOUNDING,
	K_CAP_AMBIENT,
	K_NO_NEW_PRIVS,
	K_USER,
	K_GROUP,
	K_JOBS,
	K_JOB_MEMORY,
	K_JOBSERVER_STYLE,
	K_ADVICE_MODE,
	K_RAISE_MAP_COUNT,
	K_ENVIRONMENT,
	NR_KEYS,
};

static const struct {
	const char *section, *name;
	const char *option;      /* the command-line option it stands for */
	bool repeats;            /* later lines add to earlier ones */
} keys[NR_KEYS] = {
	[K_NAME] = { "Run", "Name", "--name", false },
	[K_MEMORY_MAX] = { "Resources", "MemoryMax", "--mem", false },
	[K_MEMORY_HIGH] = { "Resources", "MemoryHigh", "--mem-high", false },
	[K_CPU_QUOTA] = { "Resources", "CPUQuota", "--cpus", false },
	[K_TASKS_MAX] = { "Resources", "TasksMax", "--pids", false },
	[K_SANDBOX] = { "Sandbox", "Sandbox", "--sandbox", false },
	[K_SYSCALL_FILTER] = { "Sandbox", "SystemCallFilter", "--syscall-filter", true },
	[K_SYSCALL_ERRNO] = { "Sandbox", "SystemCallErrorNumber", "--syscall-action", false },
	[K_SYSCALL_ACTION] = { "Sandbox", "SystemCallAction", "--syscall-action", false },
	[K_CAP_BOUNDING] = { "Sandbox", "CapabilityBoundingSet", "--cap-drop", false },
	[K_CAP_AMBIENT] = { "Sandbox", "AmbientCapabilities", "--cap-add", false },
	[K_NO_NEW_PRIVS] = { "Sandbox", "NoNewPrivileges", "--no-new-privs", false },
	[K_USER] = { "Sandbox", "User", "--user", false },
	[K_GROUP] = { "Sandbox", "Group", "--user", false },
	[K_JOBS] = { "Jobs", "Jobs", "--jobs", false },
	[K_JOB_MEMORY] = { "Jobs", "JobMemory", "--job-mem", false },
	[K_JOBSERVER_STYLE] = { "Jobs", "JobserverStyle", "--jobserver-style", false },
	[K_ADVICE_MODE] = { "Advice", "Mode", "--advice", false },
	[K_RAISE_MAP_COUNT] = { "Advice", "RaiseMapCount", "--raise-map-count", false },
	[K_ENVIRONMENT] = { "Environment", NULL, NULL, true },
};

enum origin { FROM_NONE, FROM_PROFILE, FROM_CLI };

struct profile {
	char filename[PATH_MAX];
	char *value[NR_KEYS];        /* as written; repeated keys joined by '\n' */
	int line[NR_KEYS];           /* where (the first line) */
	enum origin origin[NR_KEYS]; /* after apply */
	char **env;                  /* [Environment]: NAME=VALUE, NULL-terminated */
	size_t nr_env;
	int *env_lines;
	char *user;                  /* User[:Group] */
	char *cap_drop, *cap_add;
	char *mem_arg[2];            /* MemoryMax=, MemoryHigh= as messages show them */
	/* parsing state */
	const char *pos, *end;
	int lineno;
	char sections_seen[8][16];
	size_t nr_sections;
	char cur_section[64];
	char err[512];
};

/* ---- parsing -------------------------------------------------------------------- */

/* fgets over the text, one physical line a call, counting lines. A line
 * that does not fit is an error here rather than silently split in two. */
static char *reader(char *str, int num, void *stream)
{
	struct profile *p = stream;
	if (p->err[0] || p->pos >= p->end)
		return NULL;
	const char *nl = memchr(p->pos, '\n', p->end - p->pos);
	size_t n = nl ? (size_t)(nl - p->pos) + 1 : (size_t)(p->end - p->pos);
	p->lineno++;
	if (n + 1 > (size_t)num) {
		snprintf(p->err, sizeof(p->err), "%s:%d: the line is longer than %d bytes", p->filename, p->lineno,
			 num - 2);
		return NULL;
	}
	if (memchr(p->pos, '\0', n)) {
		snprintf(p->err, sizeof(p->err), "%s:%d: a NUL byte: this is not a text file", p->filename, p->lineno);
		return NULL;
	}
	memcpy(str, p->pos, n);
	str[n] = '\0';
	p->pos += n;
	return str;
}

static bool env_name_valid(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

static int fail(struct profile *p, const char *section, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct profile *p, const char *section, const char *name, const char *fmt, ...)
{
	if (p->err[0])
		return 0;
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, sizeof(p->err), "%s:%d: [%.40s] %.60s=: %s", p->filename, p->lineno, section, name, msg);
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct profile *p = user;
	if (p->err[0])
		return 0;
	/* A section seen again after another one: two [Resources] would make
	 * the reader guess which value counts. */
	if (strcmp(section, p->cur_section)) {
		for (size_t i = 0; i < p->nr_sections; i++)
			if (streq(p->sections_seen[i], section))
				return fail(p, section, name, "section [%s] appears twice; merge the two", section);
		if (p->nr_sections < ELEMENTSOF(p->sections_seen))
			snprintf(p->sections_seen[p->nr_sections++], sizeof(p->sections_seen[0]), "%s", section);
		snprintf(p->cur_section, sizeof(p->cur_section), "%s", section);
	}
	if (streq(section, "Environment")) {
		if (!env_name_valid(name))
			return fail(p, section, name, "'%s' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", name);
		char **env = realloc(p->env, (p->nr_env + 2) * sizeof(char *));
		if (!env)
			return fail(p, section, name, "out of memory");
		p->env = env;
		if (asprintf(&p->env[p->nr_env], "%s=%s", name, value) < 0)
			return fail(p, section, name, "out of memory");
		int *lines = realloc(p->env_lines, (p->nr_env + 1) * sizeof(int));
		if (!lines)
			return fail(p, section, name, "out of memory");
		p->env_lines = lines;
		p->env_lines[p->nr_env] = p->lineno;
		p->env[++p->nr_env] = NULL;
		return 1;
	}
	for (int k = 0; k < NR_KEYS; k++) {
		if (!keys[k].name || strcmp(keys[k].section, section) || strcmp(keys[k].name, name))
			continue;
		if (p->value[k] && !keys[k].repeats)
			return fail(p, section, name, "given twice (first at line %d); keep one", p->line[k]);
		char *v;
		if (p->value[k] ? asprintf(&v, "%s\n%s", p->value[k], value) < 0 : !(v = strdup(value)))
			return fail(p, section, name, "out of memory");
		free(p->value[k]);
		p->value[k] = v;
		if (!p->line[k])
			p->line[k] = p->lineno;
		return 1;
	}
	for (int k = 0; k < NR_KEYS; k++)
		if (keys[k].name && streq(keys[k].section, section))
			return fail(p, section, name, "unknown key in [%s] (docs/sandbox.md lists the keys)", section);
	if (!section[0])
		return fail(p, section, name, "a key before any [section]");
	return fail(p, section, name, "unknown section [%s]; sections: Run, Resources, Sandbox, Jobs, Advice, "
		    "Environment", section);
}

int profile_parse(const char *text, size_t len, const char *filename, struct profile **ret, char *err,
		  size_t errsize)
{
	struct profile *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errsize, "out of memory");
		return -ENOMEM;
	}
	snprintf(p->filename, sizeof(p->filename), "%s", filename);
	p->pos = text;
	p->end = text + len;
	/* systemd's unit syntax: no inline comments, no continuation lines. */
	ini_allow_multiline = false;
	ini_allow_inline_comments = false;
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_max_line = PROFILE_MAX_LINE + 2;
	int r = ini_parse_stream(reader, p, handler, p);
	if (!p->err[0] && r > 0)
		snprintf(p->err, sizeof(p->err), "%s:%d: not a [section], a Key=value or a comment (# or ;)",
			 p->filename, r);
	else if (!p->err[0] && r < 0)
		snprintf(p->err, sizeof(p->err), "%s: out of memory", p->filename);
	if (p->err[0]) {
		snprintf(err, errsize, "%s", p->err);
		profile_free(p);
		return -EINVAL;
	}
	*ret = p;
	return 0;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	for (int k = 0; k < NR_KEYS; k++)
		free(p->value[k]);
	for (size_t i = 0; i < p->nr_env; i++)
		free(p->env[i]);
	free(p->env);
	free(p->env_lines);
	free(p->user);
	free(p->cap_drop);
	free(p->cap_add);
	free(p->mem_arg[0]);
	free(p->mem_arg[1]);
	free(p);
}

/* ---- values ------------------------------------------------------------------- */

static int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *ret = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *ret = false, 0;
	}
	return -EINVAL;
}

/* Has the command line set what key k sets? */
static bool cli_has(const struct config *c, int k)
{
	switch (k) {
	case K_NAME: return c->name;
	case K_MEMORY_MAX: return c->has_mem;
	case K_MEMORY_HIGH: return c->has_mem_high;
	case K_CPU_QUOTA: return c->cpus > 0;
	case K_TASKS_MAX: return c->pids > 0;
	case K_SANDBOX: return c->sandbox;
	case K_SYSCALL_FILTER: return c->syscall_filter;
	case K_SYSCALL_ERRNO:
	case K_SYSCALL_ACTION: return c->has_syscall_action;
	/* The two capability keys go together: either option overrides both. */
	case K_CAP_BOUNDING:
	case K_CAP_AMBIENT: return c->cap_drop || c->cap_add;
	case K_NO_NEW_PRIVS: return c->no_new_privs;
	case K_USER:
	case K_GROUP: return c->user;
	case K_JOBS: return c->has_jobs;
	case K_JOB_MEMORY: return c->has_job_mem;
	case K_JOBSERVER_STYLE: return c->jobserver_style != JS_AUTO;
	case K_ADVICE_MODE: return c->has_advice;
	case K_RAISE_MAP_COUNT: return c->raise_map_count;
	}
	return false;
}

#define BAD(...)                                                                                             \
	do {                                                                                                 \
		snprintf(err, errsize, "%s:%d: [%s] %s=: ", p->filename, p->line[k], keys[k].section, keys[k].name); \
		size_t _o = strlen(err);                                                                     \
		snprintf(err + _o, errsize - _o, __VA_ARGS__);                                               \
		return -EINVAL;                                                                              \
	} while (0)

static int check_caps(struct profile *p, int k, const char *v, char *err, size_t errsize)
{
	uint64_t bits;
	char why[256];
	if (caps_parse_list(v, &bits, why, sizeof(why)) < 0)
		BAD("%s", why);
	return 0;
}

/* *s = a new string from fmt, the old one freed. */
static int replace(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int replace(char **s, const char *fmt, ...)
{
	char *n;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&n, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	free(*s);
	*s = n;
	return 0;
}

/* The kept capabilities grow by list (both capability keys add to them). */
static int add_caps(struct profile *p, struct config *c, const char *list)
{
	if (replace(&p->cap_add, "%s%s%s", c->cap_add ? c->cap_add : "", c->cap_add ? "," : "", list) < 0)
		return -ENOMEM;
	c->cap_add = p->cap_add;
	return 0;
}

static int set_bool(struct profile *p, int k, const char *v, bool *ret, char *err, size_t errsize)
{
	if (parse_bool(v, ret) < 0)
		BAD("'%s' is not a boolean; use yes or no", v);
	return 0;
}

static int set_size(struct profile *p, int k, const char *v, struct size_arg *ret, bool *has, const char **arg,
		    char *err, size_t errsize)
{
	if (size_parse(v, ret) < 0)
		BAD("'%s' is not a size; use %s", v, SIZE_FORMS);
	*has = true;
	if (arg)
		*arg = v;
	return 0;
}

/* One key into c. v is p->value[k]: it lives as long as p. */
static int apply_key(struct profile *p, int k, struct config *c, char *err, size_t errsize)
{
	const char *v = p->value[k];
	uint64_t n;
	switch (k) {
	case K_NAME:
		if (!run_name_valid(v))
			BAD("'%s' is not a valid name; use 1 to 64 of A-Z a-z 0-9 . _ -", v);
		c->name = v;
		return 0;
	case K_MEMORY_MAX:
	case K_MEMORY_HIGH: {
		/* Messages about the limit ("--mem-high ... is above --mem ...")
		 * then say where a value came from. */
		bool high = k == K_MEMORY_HIGH;
		if (replace(&p->mem_arg[high], "%s (%s:%d)", v, p->filename, p->line[k]) < 0)
			return -ENOMEM;
		const char **arg = high ? &c->mem_high_arg : &c->mem_arg;
		int r = set_size(p, k, v, high ? &c->mem_high : &c->mem, high ? &c->has_mem_high : &c->has_mem, arg,
				 err, errsize);
		if (r == 0)
			*arg = p->mem_arg[high];
		return r;
	}
	case K_CPU_QUOTA: {
		/* systemd: a percentage of one CPU ("150%" is one and a half). */
		char *end;
		errno = 0;
		double pct = strtod(v, &end);
		if (errno || end == v || strcmp(end, "%") || !isfinite(pct) || pct < 1 || pct > 409600)
			BAD("'%s' is not a CPU quota; give a percentage of one CPU from 1%% to 409600%% (150%%)", v);
		c->cpus = pct / 100.0;
		return 0;
	}
	case K_TASKS_MAX:
		if (parse_u64(v, &n) < 0 || n == 0 || n > (1ull << 32))
			BAD("'%s' is not a positive whole number", v);
		c->pids = n;
		return 0;
	case K_SANDBOX:
		return set_bool(p, k, v, &c->sandbox, err, errsize);
	case K_SYSCALL_FILTER: {
		struct syscall_set s;
		char why[512];
		if (syscall_filter_parse(v, false, &s, why, sizeof(why)) < 0)
			BAD("%s", why);
		syscall_set_free(&s);
		c->syscall_filter = v;
		return 0;
	}
	case K_SYSCALL_ERRNO:
		/* An errno, as systemd takes it: EPERM, EACCES, 1. */
		if (sandbox_action_parse(v, &c->syscall_action, &c->syscall_errno) < 0 ||
		    c->syscall_action != SANDBOX_ACTION_ERRNO || streq(v, "errno"))
			BAD("'%s' is not an errno name or number (EPERM, EACCES, 1)", v);
		c->has_syscall_action = true;
		return 0;
	case K_SYSCALL_ACTION:
		if (strcmp(v, "errno") && strcmp(v, "kill") && strcmp(v, "log"))
			BAD("'%s' is not an action; use errno, kill or log", v);
		/* SystemCallErrorNumber= may have chosen the errno already. */
		if (!(streq(v, "errno") && c->has_syscall_action) &&
		    sandbox_action_parse(v, &c->syscall_action, &c->syscall_errno) < 0)
			BAD("'%s' is not an action; use errno, kill or log", v);
		c->has_syscall_action = true;
		return 0;
	case K_CAP_BOUNDING: {
		/* systemd: "~LIST" drops LIST; "LIST" keeps only LIST; empty keeps none. */
		bool invert = v[0] == '~';
		if (*v && check_caps(p, k, v + invert, err, errsize) < 0)
			return -EINVAL;
		if (replace(&p->cap_drop, "%s", invert ? v + 1 : "all") < 0)
			return -ENOMEM;
		c->cap_drop = p->cap_drop;
		/* kept: this list, with what AmbientCapabilities= gives */
		return *v && !invert ? add_caps(p, c, v) : 0;
	}
	case K_CAP_AMBIENT:
		if (check_caps(p, k, v, err, errsize) < 0)
			return -EINVAL;
		return add_caps(p, c, v);
	case K_NO_NEW_PRIVS:
		return set_bool(p, k, v, &c->no_new_privs, err, errsize);
	case K_USER:
	case K_GROUP:
		if (!*v || strchr(v, ':') || strchr(v, '\n'))
			BAD("'%s' is not a user or group name", v);
		if (k == K_GROUP && !p->value[K_USER])
			BAD("Group= needs User=");
		if (k == K_USER) {
			if (replace(&p->user, "%s%s%s", v, p->value[K_GROUP] ? ":" : "",
				    p->value[K_GROUP] ? p->value[K_GROUP] : "") < 0)
				return -ENOMEM;
			c->user = p->user;
		}
		return 0;
	case K_JOBS:
		if (jobs_parse(v, &c->jobs_min, &c->jobs_max, &c->jobs_auto) < 0)
			BAD("'%s' is not a job count; use N, MIN-MAX (1 to 4096) or auto", v);
		c->has_jobs = true;
		return 0;
	case K_JOB_MEMORY: {
		const char *unused;
		int r = set_size(p, k, v, &c->job_mem, &c->has_job_mem, &unused, err, errsize);
		if (r == 0 && c->job_mem.is_percent)
			BAD("'%s': give a size, not a percentage", v);
		return r;
	}
	case K_JOBSERVER_STYLE:
		if (jobserver_style_parse(v, &c->jobserver_style) < 0)
			BAD("'%s' is not a style; use pipe, fifo or auto", v);
		return 0;
	case K_ADVICE_MODE: {
		/* The syntax of --advice: MODE[,-RUNTIME...]. */
		char why[256];
		if (advice_parse(v, &c->advice, &c->advice_excluded, why, sizeof(why)) < 0)
			BAD("%s", why);
		c->has_advice = true;
		return 0;
	}
	case K_RAISE_MAP_COUNT:
		return set_bool(p, k, v, &c->raise_map_count, err, errsize);
	}
	return 0;
}

int profile_apply_to(struct profile *p, struct config *c, char *err, size_t errsize)
{
	bool cli[NR_KEYS];
	/* Decide every key's origin before applying any: applying one key
	 * (CapabilityBoundingSet=) must not look like the command line to the
	 * next (AmbientCapabilities=). */
	for (int k = 0; k < NR_KEYS; k++)
		cli[k] = cli_has(c, k);
	/* In table order: User= before Group= is checked. */
	for (int k = 0; k < NR_KEYS; k++) {
		p->origin[k] = cli[k] ? FROM_CLI : FROM_NONE;
		if (k == K_ENVIRONMENT || !p->value[k] || cli[k])
			continue;
		int r = apply_key(p, k, c, err, errsize);
		if (r < 0)
			return r;
		p->origin[k] = FROM_PROFILE;
	}
	if (p->env) {
		c->env_set = p->env;
		p->origin[K_ENVIRONMENT] = FROM_PROFILE;
	}
	c->loaded_profile = p;
	return 0;
}

/* ---- finding and reading ---------------------------------------------------------- */

static int read_profile(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return log_errno(-EINVAL, "profile: %s is not a regular file", path);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return log_errno(-EPERM, "profile: %s belongs to uid %u, neither root nor you: refusing it (chown it, "
				 "or copy it to a file of your own)", path, (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return log_errno(-EPERM, "profile: %s is writable by others: refusing it (chmod go-w %s)", path, path);
	if (st.st_size > PROFILE_MAX_BYTES)
		return log_errno(-EFBIG, "profile: %s is larger than %d bytes", path, PROFILE_MAX_BYTES);
	char *buf = malloc(st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	size_t n = 0;
	for (ssize_t r; n < (size_t)st.st_size; n += r) {
		r = read(fd, buf + n, st.st_size - n);
		if (r < 0 && errno == EINTR) {
			r = 0;
			continue;
		}
		if (r <= 0)
			break;
	}
	buf[n] = '\0';
	*ret = buf;
	*ret_len = n;
	return 0;
}

static bool is_path(const char *s)
{
	size_t n = strlen(s);
	return strchr(s, '/') || (n > 5 && streq(s + n - 5, ".conf"));
}

int profile_apply(const char *name_or_path, struct config *c)
{
	char path[PATH_MAX] = "";
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = -ENOENT;

	if (is_path(name_or_path)) {
		snprintf(path, sizeof(path), "%s", name_or_path);
		r = read_profile(path, &text, &len);
		if (r == -ENOENT || r == -ELOOP)
			return log_errno(r, "profile: cannot open %s: %m", path);
	} else {
		if (!run_name_valid(name_or_path))
			return log_errno(-EINVAL, "profile: '%s' is not a profile name (A-Z a-z 0-9 . _ -) or a path",
					 name_or_path);
		/* Yours first, then the host's, then the examples of the tree you
		 * are in. The home directory from the user database, not $HOME. */
		struct passwd *pw = getpwuid(geteuid());
		char dirs[3][PATH_MAX];
		snprintf(dirs[0], sizeof(dirs[0]), "%s/.config/supervise", pw && pw->pw_dir ? pw->pw_dir : "/nonexistent");
		snprintf(dirs[1], sizeof(dirs[1]), "/etc/supervise");
		snprintf(dirs[2], sizeof(dirs[2]), "configs");
		for (size_t i = 0; i < ELEMENTSOF(dirs) && r == -ENOENT; i++) {
			snprintf(path, sizeof(path), "%s/%s.conf", dirs[i], name_or_path);
			r = read_profile(path, &text, &len);
		}
		if (r == -ENOENT)
			return log_errno(r, "profile: no profile '%s' in %s, %s or %s (NAME.conf there), and it is not a "
					 "path", name_or_path, dirs[0], dirs[1], dirs[2]);
	}
	if (r < 0)
		return r == -EPERM || r == -EINVAL || r == -EFBIG ? r : log_errno(r, "profile: cannot read %s: %m", path);

	struct profile *p;
	char err[1024];
	p = NULL;
	if (profile_parse(text, len, path, &p, err, sizeof(err)) < 0 || profile_apply_to(p, c, err, sizeof(err)) < 0) {
		/* The command is refused: nothing uses what the profile set. */
		if (c->loaded_profile != p)
			profile_free(p);
		log_error("profile: %s", err);
		fprintf(stderr, "Try 'supervise --help' and docs/sandbox.md for the keys and their values.\n");
		return -EINVAL;
	}
	log_info("profile: %s", path);
	return 0;
}

/* ---- --print-profile ----------------------------------------------------------------- */

/* The effective value of key k, in the profile's syntax; false when unset. */
static bool show(const struct config *c, const struct profile *p, int k, char *buf, size_t size)
{
	switch (k) {
	case K_NAME: return c->name && snprintf(buf, size, "%s", c->name) >= 0;
	case K_MEMORY_MAX:
	case K_MEMORY_HIGH: {
		bool high = k == K_MEMORY_HIGH;
		const char *arg = high ? c->mem_high_arg : c->mem_arg;
		if (p && p->origin[k] == FROM_PROFILE)
			arg = p->value[k]; /* the value, not the message form */
		return (high ? c->has_mem_high : c->has_mem) && snprintf(buf, size, "%s", arg ? arg : "?") >= 0;
	}
	case K_CPU_QUOTA: return c->cpus > 0 && snprintf(buf, size, "%g%%", c->cpus * 100) >= 0;
	case K_TASKS_MAX: return c->pids && snprintf(buf, size, "%llu", (unsigned long long)c->pids) >= 0;
	case K_SANDBOX: return c->sandbox && snprintf(buf, size, "yes") >= 0;
	case K_SYSCALL_FILTER: return c->syscall_filter && snprintf(buf, size, "%s", c->syscall_filter) >= 0;
	case K_SYSCALL_ERRNO:
		return c->has_syscall_action && c->syscall_action == SANDBOX_ACTION_ERRNO &&
		       snprintf(buf, size, "%s", strerrorname_np(c->syscall_errno ? c->syscall_errno : EPERM)) >= 0;
	case K_SYSCALL_ACTION:
		return c->has_syscall_action && snprintf(buf, size, "%s", sandbox_action_name(c->syscall_action)) >= 0;
	case K_CAP_BOUNDING: return c->cap_drop && snprintf(buf, size, "~%s", c->cap_drop) >= 0;
	case K_CAP_AMBIENT: return c->cap_add && snprintf(buf, size, "%s", c->cap_add) >= 0;
	case K_NO_NEW_PRIVS: return c->no_new_privs && snprintf(buf, size, "yes") >= 0;
	case K_USER: {
		if (!c->user)
			return false;
		snprintf(buf, size, "%.*s", (int)strcspn(c->user, ":"), c->user);
		return true;
	}
	case K_GROUP: return c->user && strchr(c->user, ':') && snprintf(buf, size, "%s", strchr(c->user, ':') + 1) >= 0;
	case K_JOBS:
		if (!c->has_jobs)
			return false;
		if (c->jobs_auto)
			snprintf(buf, size, "auto");
		else if (c->jobs_min == c->jobs_max)
			snprintf(buf, size, "%u", c->jobs_max);
		else
			snprintf(buf, size, "%u-%u", c->jobs_min, c->jobs_max);
		return true;
	case K_JOB_MEMORY:
		return c->has_job_mem && snprintf(buf, size, "%lluB", (unsigned long long)c->job_mem.bytes) >= 0;
	case K_JOBSERVER_STYLE:
		return c->jobserver_style != JS_AUTO && snprintf(buf, size, "%s", jobserver_style_name(c->jobserver_style)) >= 0;
	case K_ADVICE_MODE:
		if (c->has_advice)
			advice_format(c->advice, c->advice_excluded, buf, size);
		return c->has_advice;
	case K_RAISE_MAP_COUNT: return c->raise_map_count && snprintf(buf, size, "yes") >= 0;
	}
	return false;
}

int profile_print(const struct config *c, FILE *f)
{
	const struct profile *p = c->loaded_profile;
	const char *section = NULL;
	fprintf(f, "# effective settings%s%s; the command line overrides the profile\n", p ? " with " : "",
		p ? p->filename : "");
	for (int k = 0; k < NR_KEYS; k++) {
		char val[PROFILE_MAX_LINE], where[PATH_MAX + 64];
		if (k == K_ENVIRONMENT || !show(c, p, k, val, sizeof(val)))
			continue;
		if (!section || strcmp(section, keys[k].section)) {
			fprintf(f, "%s[%s]\n", section ? "\n" : "", keys[k].section);
			section = keys[k].section;
		}
		if (p && p->origin[k] == FROM_PROFILE)
			snprintf(where, sizeof(where), "%s:%d", p->filename, p->line[k]);
		else if (p && p->value[k])
			snprintf(where, sizeof(where), "command line (%s), over %s:%d", keys[k].option, p->filename,
				 p->line[k]);
		else
			snprintf(where, sizeof(where), "command line (%s)", keys[k].option);
		/* Repeated keys print as they would be written: one line each. */
		for (char *save, *line = strtok_r(val, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char kv[PROFILE_MAX_LINE + 64];
			snprintf(kv, sizeof(kv), "%s=%s", keys[k].name, line);
			fprintf(f, "%-40s ; %s\n", kv, where);
		}
	}
	if (p && p->env) {
		fprintf(f, "%s[Environment]\n", section ? "\n" : "");
		for (size_t i = 0; i < p->nr_env; i++)
			fprintf(f, "%-40s ; %s:%d\n", p->env[i], p->filename, p->env_lines[i]);
	}
	return 0;
}
