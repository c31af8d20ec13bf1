/* footprint: the peak RSS expected of a job, learned across runs.
 *
 * Two kinds of entry (docs/jobserver.md, "Learned footprints"):
 *  - per job identity: a hash of the job root's command line and working
 *    directory (a make recipe, a compiler invocation) → the peak the whole job
 *    reached last time and how long it took to get there;
 *  - per command name (comm): a histogram of exit peaks (8 buckets an octave,
 *    4 MiB .. 128 GiB) with a running mean and the largest peak. A job never
 *    seen is sized by a high percentile of its command (FOOTPRINT_PERCENTILE),
 *    never by the mean: a bimodal command (cc1plus on small and huge units, the
 *    linker, rustc on a leaf and on the top crate) would fit neither mode.
 *
 * Tables are scoped: the project's (one per working directory, or the file
 * named by --footprints) holds identities and commands; the global one holds
 * commands only and answers when the project has not seen a command. Files:
 *   $SUPERVISE_CACHE_DIR/                  (tests: never the real cache)
 *   /var/cache/supervise/                  (root)
 *   ${XDG_CACHE_HOME:-~/.cache}/supervise/
 * with "footprints" (global) and "footprints.<16 hex digits>" (per project)
 * inside; that directory must be owned by the euid with mode 0700.
 *
 * Everything read back is clamped (FOOTPRINT_MAX_BYTES, counts) before use, so
 * a hostile or damaged file cannot make the governor's sums wrap. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FOOTPRINT_COMM_LEN 16
#define FOOTPRINT_MAX_CMDS 256
#define FOOTPRINT_MAX_IDS 4096
#define FOOTPRINT_BUCKETS 120          /* 15 octaves from 4 MiB, 8 per octave */
#define FOOTPRINT_PERCENTILE 90
#define FOOTPRINT_MAX_BYTES (1ull << 40) /* anything larger is clamped to 1 TiB */
#define FOOTPRINT_HIST_CAP 1024        /* samples kept: older ones fade by halving */
/* The learned size of "a job" (any command), kept beside the commands. */
#define FOOTPRINT_JOB_COMM "[job]"

struct fp_cmd {
	char comm[FOOTPRINT_COMM_LEN];
	uint64_t mean_bytes;           /* running mean (weight 1/n, at least 1/64) */
	uint64_t max_bytes;            /* largest peak seen */
	uint32_t count;                /* samples in hist (<= FOOTPRINT_HIST_CAP) */
	uint16_t hist[FOOTPRINT_BUCKETS];
};

struct fp_id {
	uint64_t id;
	uint64_t peak_bytes;           /* likely peak: the last one, fading down from a larger */
	uint32_t ramp_ms;              /* start -> peak, last time */
	uint32_t dur_ms;               /* start -> end (running time), last time; 0: unknown */
	uint32_t count;
	char comm[FOOTPRINT_COMM_LEN]; /* its heaviest command, for listing */
};

struct footprints {
	struct fp_cmd cmd[FOOTPRINT_MAX_CMDS];
	size_t nr_cmd;
	struct fp_id ids[FOOTPRINT_MAX_IDS];
	size_t nr_ids;
	bool dirty;
};

/* Where an estimate came from (log lines, `supervise footprints`). */
enum fp_source { FP_NONE, FP_IDENTITY, FP_COMMAND, FP_GLOBAL_COMMAND };

struct fp_estimate {
	uint64_t bytes;                /* 0: nothing known */
	uint32_t ramp_ms;              /* FP_IDENTITY: start -> peak last time */
	uint32_t dur_ms;               /* FP_IDENTITY: start -> end last time (0: unknown) */
	enum fp_source source;
};

/* --- pure ------------------------------------------------------------------ */

/* Record one peak of comm in its histogram. */
void footprint_learn(struct footprints *t, const char *comm, uint64_t peak_bytes);
/* Record a whole job's peak under its identity (comm: its heaviest command). */
void footprint_learn_id(struct footprints *t, uint64_t id, const char *comm, uint64_t peak_bytes, uint32_t ramp_ms,
			uint32_t dur_ms);
/* What a process named comm is expected to peak at: the FOOTPRINT_PERCENTILE
 * of its peaks (bucket upper bound, at most the largest seen); with fewer than
 * 3 peaks the largest. 0 when never seen. */
uint64_t footprint_expected(const struct footprints *t, const char *comm);
/* The running mean of comm's peaks, 0 when never seen. */
uint64_t footprint_mean(const struct footprints *t, const char *comm);
/* pct-th percentile of one command's peaks (bucket upper bound, capped at max). */
uint64_t footprint_percentile(const struct fp_cmd *c, unsigned pct);
/* The top of the mode of c's peaks that a job holding rss_bytes is in (peaks
 * from the first learned bucket at or above rss_bytes up to the next gap of
 * half an octave with none), at most the largest peak; 0 when no peak is at
 * or above rss_bytes. For a bimodal command a small job's likely peak is the
 * small mode's top until it grows past it. */
uint64_t footprint_mode_top(const struct fp_cmd *c, uint64_t rss_bytes);
const struct fp_cmd *footprint_find_cmd(const struct footprints *t, const char *comm);
const struct fp_id *footprint_find_id(const struct footprints *t, uint64_t id);
/* A job's identity: FNV-1a over its root's argv (NUL-separated, as
 * /proc/PID/cmdline) and working directory. Never 0. */
uint64_t footprint_identity(const char *cmdline, size_t len, const char *cwd);
/* The estimate for a job: its identity in project, else the percentile of comm
 * in project (3 peaks or more), else in global; either table may be NULL. */
void footprint_estimate(const struct footprints *project, const struct footprints *global, uint64_t id,
			const char *comm, struct fp_estimate *ret);
const char *footprint_source_name(enum fp_source s);
/* Parse the file's text into t: bad lines are skipped, figures clamped. */
void footprint_parse(struct footprints *t, const char *text);
/* Format t as the file's text; returns length or -ENOSPC. */
int footprint_format(const struct footprints *t, char *buf, size_t size);

/* --- the cache files ------------------------------------------------------- */

/* --footprints FILE: the project table is FILE (NULL: per working directory). */
void footprint_use_file(const char *path);
/* The cache directory (see above) into buf; -ENOENT when no home is known. */
int footprint_dir(char *buf, size_t size);
/* The global table's and the current project's paths. -ENOENT as above. */
int footprint_global_path(char *buf, size_t size);
int footprint_project_path(char *buf, size_t size);
/* Load (a missing file is an empty table) and save (atomically: a fresh
 * O_EXCL temp file in the same directory, renamed over). The directory is
 * checked first: supervise's cache directory must be owned by the euid with
 * mode 0700 (created so when missing); the directory of a --footprints FILE
 * must be owned by the euid or root and not writable by others. Both log and
 * return -errno on failure; callers go on without. */
int footprint_load(struct footprints *t, const char *path);
int footprint_save(const struct footprints *t, const char *path);
/* Remove one table file (`supervise footprints --clear`). 0 when absent. */
int footprint_remove(const char *path);
