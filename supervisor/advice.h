/* advice: what runtimes should size themselves to — a pure function of the
 * CPU quota, the memory budget and the current reading, and the environment
 * variables well-known runtimes read at start (docs/advice.md has the table).
 *
 * The live numbers (advised threads and jobs) are computed here for now. The
 * governor (supervisor/governor.c, the jobserver issue) is to decide the job
 * count from memory headroom and learned footprints: advice_input.jobs_target
 * takes its decision as input, and advice_compute() then only clamps it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum advice_mode {
	ADVICE_ALL,    /* launch environment and the live page (default) */
	ADVICE_ENV,    /* launch environment only */
	ADVICE_NONE,   /* nothing */
};

/* The runtimes whose launch variables --advice MODE,-RUNTIME leaves out
 * (bit 1 << runtime of advice_input.excluded). The live page is one for all:
 * a runtime is excluded from the environment only. */
enum advice_runtime {
	ADVICE_GO,       /* GOMAXPROCS, GOMEMLIMIT */
	ADVICE_RAYON,    /* RAYON_NUM_THREADS */
	ADVICE_OPENMP,   /* OMP_NUM_THREADS */
	ADVICE_INKO,     /* INKO_PROCESS_THREADS, INKO_BACKUP_THREADS */
	ADVICE_MALLOC,   /* MALLOC_ARENA_MAX */
	ADVICE_CARGO,    /* CARGO_BUILD_JOBS */
	ADVICE_JVM,      /* JAVA_TOOL_OPTIONS (every JVM prints "Picked up JAVA_TOOL_OPTIONS" on stderr) */
	ADVICE_NODE,     /* NODE_OPTIONS */
	NR_ADVICE_RUNTIMES,
};

/* "go, rayon, openmp, inko, malloc, cargo, jvm, node", for messages. */
extern const char ADVICE_RUNTIME_LIST[];

/* Pure: "MODE[,-RUNTIME...]" (all|env|none, then runtimes left out: "env,-jvm").
 * 0, or -EINVAL with what was wrong and what to write in err. */
int advice_parse(const char *s, enum advice_mode *ret_mode, unsigned *ret_excluded, char *err, size_t errsize);
/* The same text back ("env,-jvm"); the names of the excluded runtimes alone
 * ("jvm, node") with advice_runtime_names. */
void advice_format(enum advice_mode mode, unsigned excluded, char *buf, size_t size);
void advice_runtime_names(unsigned excluded, char *buf, size_t size);

/* Expected memory of one parallel job when nothing better is known (the
 * governor learns real footprints per command). */
#define ADVICE_DEFAULT_JOB_BYTES (512ull << 20)

struct advice_input {
	double cpus;               /* CPU quota in CPUs; 0: no quota */
	unsigned online_cpus;      /* CPUs the workload may run on (affinity) */
	uint64_t budget_bytes;     /* memory budget; 0: none */
	uint64_t usage_bytes;      /* the workload's summed RSS now */
	unsigned jobs_min, jobs_max;   /* supervise set --jobs MIN-MAX; 0: none */
	unsigned jobs_target;      /* the governor's decision; 0: none, computed here */
	uint64_t job_bytes;        /* expected footprint of one job; 0: the default */
	unsigned excluded;         /* 1 << enum advice_runtime: variables not to set */
};

struct advice {
	unsigned threads;          /* worker threads: ceil(quota), else online CPUs */
	unsigned jobs;             /* parallel jobs */
	unsigned cpus_milli;       /* the CPUs the figures are based on, 1/1000 */
	uint64_t headroom_bytes;   /* budget - usage, 0 when over, UINT64_MAX without a budget */
};

void advice_compute(const struct advice_input *in, struct advice *ret);

/* One variable of the launch environment. */
struct advice_var {
	const char *name;
	char value[256];           /* what the workload gets (for appended ones: the whole value) */
	char why[160];             /* the formula with its figures, for -v */
	bool user_set;             /* set by the user: kept as is, nothing added */
	bool appended;             /* JAVA_TOOL_OPTIONS, NODE_OPTIONS: our flags added to the user's */
};

#define ADVICE_MAX_VARS 16

/* Pure: the variables to set, given the inputs and a lookup of the current
 * environment (getenv, or a test's own). Returns how many were filled in
 * ret (variables without a basis — no quota, no budget — are left out). */
size_t advice_env_vars(const struct advice_input *in, const struct advice *a,
		       const char *(*lookup)(const char *name, void *userdata), void *userdata,
		       struct advice_var *ret, size_t size);

/* Build a new environment: environ with the variables set (user-set ones
 * untouched), plus SUPERVISE_ADVICE=page_path when page_path is given. The
 * array and its strings are one allocation block list: free with
 * advice_env_free(). NULL on ENOMEM. */
char **advice_env_build(char *const *environ, const struct advice_var *vars, size_t n, const char *page_path);
void advice_env_free(char **env);

/* Pure: "some avg10=1.23 ..." of a *.pressure file to 1/100 % (123). */
int advice_parse_pressure(const char *text, uint32_t *ret);
