/* advice: the pure computation behind the launch environment and the live
 * page. The table of variables and formulas is docs/advice.md: keep both in
 * step. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advice.h"
#include "log.h"

#define MiB (1ull << 20)

static const char *const runtime_names[NR_ADVICE_RUNTIMES] = {
	[ADVICE_GO] = "go",         [ADVICE_RAYON] = "rayon", [ADVICE_OPENMP] = "openmp", [ADVICE_INKO] = "inko",
	[ADVICE_MALLOC] = "malloc", [ADVICE_CARGO] = "cargo", [ADVICE_JVM] = "jvm",       [ADVICE_NODE] = "node",
};
const char ADVICE_RUNTIME_LIST[] = "go, rayon, openmp, inko, malloc, cargo, jvm, node";

static const char *const mode_names[] = { [ADVICE_ALL] = "all", [ADVICE_ENV] = "env", [ADVICE_NONE] = "none" };

int advice_parse(const char *s, enum advice_mode *ret_mode, unsigned *ret_excluded, char *err, size_t errsize)
{
	size_t len = strcspn(s, ",");
	enum advice_mode mode = ADVICE_ALL;
	unsigned excluded = 0;
	bool found = false;

	for (size_t m = 0; m < sizeof(mode_names) / sizeof(mode_names[0]) && !found; m++)
		if (strlen(mode_names[m]) == len && !strncmp(s, mode_names[m], len))
			mode = (enum advice_mode)m, found = true;
	if (!found) {
		snprintf(err, errsize, "'%.*s' is not a mode; use all, env or none, then runtimes to leave out as "
			 "-RUNTIME (env,-jvm)", (int)len, s);
		return -EINVAL;
	}
	for (const char *p = s + len; *p == ',';) {
		p++;
		len = strcspn(p, ",");
		if (*p != '-' || len < 2) {
			snprintf(err, errsize, "'%.*s': after the mode come runtimes to leave out, each as -RUNTIME "
				 "(env,-jvm); runtimes: %s", (int)len, p, ADVICE_RUNTIME_LIST);
			return -EINVAL;
		}
		size_t i = 0;
		while (i < NR_ADVICE_RUNTIMES && !(strlen(runtime_names[i]) == len - 1 &&
						   !strncmp(p + 1, runtime_names[i], len - 1)))
			i++;
		if (i == NR_ADVICE_RUNTIMES) {
			snprintf(err, errsize, "'%.*s' is not a runtime; use one of %s", (int)len - 1, p + 1,
				 ADVICE_RUNTIME_LIST);
			return -EINVAL;
		}
		excluded |= 1u << i;
		p += len;
	}
	if (mode == ADVICE_NONE && excluded) {
		snprintf(err, errsize, "'%s': none sets no variable, so there is none to leave out; use env or all "
			 "with -RUNTIME", s);
		return -EINVAL;
	}
	*ret_mode = mode;
	*ret_excluded = excluded;
	return 0;
}

static void append_names(unsigned excluded, const char *sep, const char *prefix, char *buf, size_t size, size_t o)
{
	for (size_t i = 0; i < NR_ADVICE_RUNTIMES && o < size; i++)
		if (excluded & (1u << i))
			o += snprintf(buf + o, size - o, "%s%s%s", o ? sep : "", prefix, runtime_names[i]);
}

void advice_format(enum advice_mode mode, unsigned excluded, char *buf, size_t size)
{
	append_names(excluded, ",", "-", buf, size, snprintf(buf, size, "%s", mode_names[mode]));
}

void advice_runtime_names(unsigned excluded, char *buf, size_t size)
{
	buf[0] = '\0';
	append_names(excluded, ", ", "", buf, size, 0);
}

void advice_compute(const struct advice_input *in, struct advice *ret)
{
	unsigned online = in->online_cpus ? in->online_cpus : 1;
	unsigned threads = online;
	double cpus = online;

	if (in->cpus > 0) {
		/* Round a fractional quota up, as Go and the JVM do: 1.5 CPUs of
		 * time are best used by 2 threads. No more threads than CPUs. */
		threads = (unsigned)ceil(in->cpus - 1e-9);
		if (threads < 1)
			threads = 1;
		if (threads > online)
			threads = online;
		cpus = in->cpus < online ? in->cpus : online;
	}
	ret->threads = threads;
	ret->cpus_milli = (unsigned)llround(cpus * 1000);

	ret->headroom_bytes = UINT64_MAX;
	if (in->budget_bytes)
		ret->headroom_bytes = in->usage_bytes < in->budget_bytes ? in->budget_bytes - in->usage_bytes : 0;

	unsigned jobs = threads;
	if (in->jobs_target) {
		jobs = in->jobs_target;
	} else if (in->budget_bytes) {
		uint64_t per = in->job_bytes ? in->job_bytes : ADVICE_DEFAULT_JOB_BYTES;
		uint64_t fit = ret->headroom_bytes / per;
		if (fit < jobs)
			jobs = fit ? (unsigned)fit : 1;
	}
	if (in->jobs_max && jobs > in->jobs_max)
		jobs = in->jobs_max;
	if (in->jobs_min && jobs < in->jobs_min)
		jobs = in->jobs_min;
	ret->jobs = jobs ? jobs : 1;
}

static struct advice_var *add(struct advice_var *ret, size_t size, size_t *n, const char *name)
{
	if (*n >= size)
		return NULL;
	struct advice_var *v = &ret[(*n)++];
	memset(v, 0, sizeof(*v));
	v->name = name;
	return v;
}

/* A simple variable: kept when the user set it. */
#define SIMPLE(runtime_, name_, fmt_value, why_fmt, ...)                                \
	do {                                                                            \
		if (in->excluded & (1u << (runtime_)))                                  \
			break;                                                          \
		struct advice_var *v_ = add(ret, size, &n, name_);                      \
		if (!v_)                                                                \
			return n;                                                       \
		const char *u_ = lookup(name_, userdata);                               \
		if (u_) {                                                               \
			v_->user_set = true;                                            \
			snprintf(v_->value, sizeof(v_->value), "%s", u_);               \
		} else {                                                                \
			snprintf(v_->value, sizeof(v_->value), "%s", fmt_value);        \
		}                                                                       \
		snprintf(v_->why, sizeof(v_->why), why_fmt, __VA_ARGS__);              \
	} while (0)

/* Flags appended to an options variable (JAVA_TOOL_OPTIONS, NODE_OPTIONS):
 * each flag whose key the user's value does not already hold. Never cut:
 * a JVM given "... -XX:ActiveProcesso" refuses to start. When the whole
 * does not fit, the user's value stays as it is and we say what was left
 * out. */
static void options_var(struct advice_var *v, const char *user, const char *const *keys, const char *const *flags,
			size_t nflags)
{
	size_t need = user ? strlen(user) : 0;
	char skipped[128] = "";
	bool add[4] = { false };

	for (size_t i = 0; i < nflags && i < sizeof(add) / sizeof(add[0]); i++) {
		add[i] = flags[i] && !(user && strstr(user, keys[i]));
		if (add[i])
			need += (need ? 1 : 0) + strlen(flags[i]);
	}
	if (need >= sizeof(v->value)) {
		for (size_t i = 0, o = 0; i < nflags && i < sizeof(add) / sizeof(add[0]); i++)
			if (add[i] && o < sizeof(skipped))
				o += snprintf(skipped + o, sizeof(skipped) - o, "%s%s", o ? " " : "", flags[i]);
		log_warn("advice: %s is left as the user set it: with '%s' added it would be %zu characters, more "
			 "than the %zu supervise builds; add them to it yourself if wanted",
			 v->name, skipped, need, sizeof(v->value) - 1);
		snprintf(v->value, sizeof(v->value), "%s", user ? user : "");
		v->user_set = true;   /* the environment keeps the user's own, whole */
		v->appended = false;
		return;
	}
	size_t o = 0;
	bool added = false;
	if (user)
		o += snprintf(v->value + o, sizeof(v->value) - o, "%s", user);
	for (size_t i = 0; i < nflags && i < sizeof(add) / sizeof(add[0]); i++) {
		if (!add[i])
			continue;
		o += snprintf(v->value + o, sizeof(v->value) - o, "%s%s", o ? " " : "", flags[i]);
		added = true;
	}
	v->user_set = user && !added;
	v->appended = user && added;
}

size_t advice_env_vars(const struct advice_input *in, const struct advice *a,
		       const char *(*lookup)(const char *name, void *userdata), void *userdata,
		       struct advice_var *ret, size_t size)
{
	size_t n = 0;
	bool quota = in->cpus > 0, budget = in->budget_bytes > 0;
	char val[64], cpus[32], mib[32];

	snprintf(cpus, sizeof(cpus), "%g", in->cpus);
	snprintf(mib, sizeof(mib), "%llu", (unsigned long long)(in->budget_bytes / MiB));

	if (quota) {
		snprintf(val, sizeof(val), "%u", a->threads);
		SIMPLE(ADVICE_GO, "GOMAXPROCS", val, "Go: ceil(cpus %s) = %u", cpus, a->threads);
		SIMPLE(ADVICE_RAYON, "RAYON_NUM_THREADS", val, "Rust rayon: ceil(cpus %s) = %u", cpus, a->threads);
		SIMPLE(ADVICE_OPENMP, "OMP_NUM_THREADS", val, "OpenMP: ceil(cpus %s) = %u", cpus, a->threads);
		SIMPLE(ADVICE_INKO, "INKO_PROCESS_THREADS", val, "Inko: ceil(cpus %s) = %u", cpus, a->threads);
		snprintf(val, sizeof(val), "%u", 4 * a->threads);
		SIMPLE(ADVICE_INKO, "INKO_BACKUP_THREADS", val, "Inko: 4 x process threads %u (Inko's own ratio)", a->threads);
	}
	if (budget) {
		snprintf(val, sizeof(val), "%lluMiB", (unsigned long long)(in->budget_bytes / 10 * 9 / MiB));
		SIMPLE(ADVICE_GO, "GOMEMLIMIT", val, "Go: 90%% of the budget %s MiB, leaving 10%% for non-heap memory", mib);
	}
	if (quota || budget) {
		unsigned arenas = a->threads < 2 ? 2 : a->threads;
		snprintf(val, sizeof(val), "%u", arenas);
		SIMPLE(ADVICE_MALLOC, "MALLOC_ARENA_MAX", val,
		       "glibc: max(2, threads %u) instead of 8 x CPUs (each arena costs memory and map areas)",
		       a->threads);
		snprintf(val, sizeof(val), "%u", a->jobs);
		SIMPLE(ADVICE_CARGO, "CARGO_BUILD_JOBS", val, "cargo: advised jobs %u (threads, fewer when the budget's "
						 "headroom holds fewer jobs of 512 MiB)", a->jobs);
	}
	if ((quota || budget) && !(in->excluded & (1u << ADVICE_JVM))) {
		struct advice_var *v = add(ret, size, &n, "JAVA_TOOL_OPTIONS");
		if (!v)
			return n;
		char apc[64] = "", maxram[64] = "";
		if (quota)
			snprintf(apc, sizeof(apc), "-XX:ActiveProcessorCount=%u", a->threads);
		if (budget)
			snprintf(maxram, sizeof(maxram), "-XX:MaxRAM=%sm", mib);
		const char *keys[] = { "-XX:ActiveProcessorCount", "-XX:MaxRAM=" };
		const char *flags[] = { quota ? apc : NULL, budget ? maxram : NULL };
		options_var(v, lookup("JAVA_TOOL_OPTIONS", userdata), keys, flags, 2);
		snprintf(v->why, sizeof(v->why), "JVM: %s%s%s", quota ? "ActiveProcessorCount = ceil(cpus)" : "",
			 quota && budget ? ", " : "", budget ? "MaxRAM = the budget (the heap is a share of it)" : "");
	}
	if (budget && !(in->excluded & (1u << ADVICE_NODE))) {
		struct advice_var *v = add(ret, size, &n, "NODE_OPTIONS");
		if (!v)
			return n;
		char flag[64];
		snprintf(flag, sizeof(flag), "--max-old-space-size=%llu",
			 (unsigned long long)(in->budget_bytes / 4 * 3 / MiB));
		const char *keys[] = { "--max-old-space-size" };
		const char *flags[] = { flag };
		options_var(v, lookup("NODE_OPTIONS", userdata), keys, flags, 1);
		snprintf(v->why, sizeof(v->why), "Node.js: old space = 75%% of the budget %s MiB", mib);
	}
	return n;
}

static char *dup_kv(const char *name, const char *value)
{
	char *s = NULL;
	return asprintf(&s, "%s=%s", name, value) < 0 ? NULL : s;
}

char **advice_env_build(char *const *environ, const struct advice_var *vars, size_t n, const char *page_path)
{
	size_t count = 0;
	while (environ && environ[count])
		count++;
	char **env = calloc(count + n + 2, sizeof(char *));
	if (!env)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < count; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		bool replaced = false;
		for (size_t j = 0; j < n && !replaced; j++)
			replaced = vars[j].appended && strlen(vars[j].name) == klen &&
				   !strncmp(environ[i], vars[j].name, klen);
		if (page_path && klen == 16 && !strncmp(environ[i], "SUPERVISE_ADVICE", 16))
			replaced = true;
		if (replaced)
			continue;
		if (!(env[o++] = strdup(environ[i])))
			goto fail;
	}
	for (size_t j = 0; j < n; j++) {
		if (vars[j].user_set)
			continue;
		if (!(env[o++] = dup_kv(vars[j].name, vars[j].value)))
			goto fail;
	}
	if (page_path && !(env[o++] = dup_kv("SUPERVISE_ADVICE", page_path)))
		goto fail;
	env[o] = NULL;
	return env;
fail:
	advice_env_free(env);
	return NULL;
}

void advice_env_free(char **env)
{
	if (!env)
		return;
	for (char **p = env; *p; p++)
		free(*p);
	free(env);
}

int advice_parse_pressure(const char *text, uint32_t *ret)
{
	const char *p = strstr(text, "some ");
	if (!p)
		return -EINVAL;
	p = strstr(p, "avg10=");
	if (!p)
		return -EINVAL;
	char *end;
	double v = strtod(p + 6, &end);
	if (end == p + 6 || v < 0 || v > 100)
		return -EINVAL;
	*ret = (uint32_t)llround(v * 100);
	return 0;
}
