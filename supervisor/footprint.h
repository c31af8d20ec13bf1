/* footprint: the peak RSS expected of a job, learned per command name (comm)
 * from the exit peaks the monitor reports, kept across runs in
 *   $SUPERVISE_CACHE_DIR/footprints         (tests: never the real cache)
 *   /var/cache/supervise/footprints         (root)
 *   ${XDG_CACHE_HOME:-~/.cache}/supervise/footprints
 * as text lines "COMM EWMA_BYTES MAX_BYTES COUNT". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FOOTPRINT_COMM_LEN 16
#define FOOTPRINT_MAX 512

struct footprint {
	char comm[FOOTPRINT_COMM_LEN];
	uint64_t ewma_bytes;      /* mean of exit peaks (weight 1/n, at least 1/64 for the newest) */
	uint64_t max_bytes;       /* largest exit peak seen (decays as ewma does) */
	uint32_t count;
};

struct footprints {
	struct footprint e[FOOTPRINT_MAX];
	size_t n;
	bool dirty;
};

/* --- pure ------------------------------------------------------------------ */

/* Record one exit peak of comm. */
void footprint_learn(struct footprints *t, const char *comm, uint64_t peak_bytes);
/* What a process named comm is expected to peak at: between its average and
 * its largest seen peak; 0 when never seen. */
uint64_t footprint_expected(const struct footprints *t, const char *comm);
/* Parse the file's text into t (bad lines are skipped). */
void footprint_parse(struct footprints *t, const char *text);
/* Format t as the file's text; returns length or -ENOSPC. */
int footprint_format(const struct footprints *t, char *buf, size_t size);

/* --- the cache file ---------------------------------------------------------- */

/* The file's path (see above) into buf; -ENOENT when no home is known. */
int footprint_path(char *buf, size_t size);
/* Load (a missing file is an empty table) and save (atomically, creating the
 * directory). Both log and return -errno on failure; callers go on without. */
int footprint_load(struct footprints *t);
int footprint_save(const struct footprints *t);
