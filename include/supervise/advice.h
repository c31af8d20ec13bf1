/* supervise/advice.h — read the live advice page of the supervise that runs
 * this program: how many worker threads and parallel jobs to run now, the
 * memory budget, usage and headroom, the map_count headroom of the worst
 * process, and pressure.
 *
 * supervise exports SUPERVISE_ADVICE=<path> (a file in its run directory) to
 * the workload. The page is a shared mapping written by the supervisor under
 * a seqlock: sv_advice_read() copies a consistent record without a system
 * call; sv_advice_wait() sleeps on a futex until the next update.
 *
 *     sv_advice_handle *h;
 *     struct sv_advice a;
 *     if (sv_advice_open(NULL, &h) == 0) {
 *             sv_advice_read(h, &a);
 *             resize_pool(a.threads);
 *             while (sv_advice_wait(h, a.generation, 1000) >= 0) {
 *                     sv_advice_read(h, &a);
 *                     resize_pool(a.threads);
 *             }
 *     }
 *
 * Link with `pkg-config --libs supervise-advice` (-lsupervise-advice).
 * Functions return 0 (or a positive value where said) on success and a
 * negative errno on failure. */
#ifndef SUPERVISE_ADVICE_H
#define SUPERVISE_ADVICE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SV_ADVICE_MAGIC   0x56415653u   /* "SVAV" little-endian */
#define SV_ADVICE_VERSION 1u
#define SV_ADVICE_ENV     "SUPERVISE_ADVICE"

/* flags */
#define SV_ADVICE_HOLD_JOBS  (1u << 0)  /* a process is above the map_count threshold:
                                           start no new jobs (the jobserver holds tokens) */
#define SV_ADVICE_ENDED      (1u << 1)  /* the supervisor has ended; no more updates */
#define SV_ADVICE_CPU_QUOTA  (1u << 2)  /* cpus is a quota (--cpus / supervise set --cpus) */

/* One consistent record. All fields are read together under the seqlock. */
struct sv_advice {
	uint64_t generation;          /* +1 at every update; starts at 1 */
	uint64_t updated_ns;          /* CLOCK_MONOTONIC of the update */
	uint32_t threads;             /* advised worker threads (>= 1) */
	uint32_t jobs;                /* advised parallel jobs (>= 1) */
	uint32_t jobs_min, jobs_max;  /* the allowed range (supervise set --jobs); 0: none */
	uint32_t cpus_milli;          /* CPU quota or CPUs available, in 1/1000 CPU */
	uint32_t flags;               /* SV_ADVICE_* */
	uint64_t budget_bytes;        /* memory budget; 0: none */
	uint64_t usage_bytes;         /* summed RSS of the workload's processes */
	uint64_t headroom_bytes;      /* budget - usage (0 when over); UINT64_MAX without a budget */
	uint32_t max_map_count;       /* vm.max_map_count */
	uint32_t map_count_worst;     /* the largest map_count of a live process ... */
	uint32_t map_count_worst_pid; /* ... and its pid (0: none) */
	uint32_t map_count_headroom;  /* max_map_count - map_count_worst */
	uint32_t mem_pressure_x100;   /* memory.pressure "some avg10", in 1/100 % (1234 = 12.34 %) */
	uint32_t cpu_pressure_x100;   /* cpu.pressure "some avg10", in 1/100 % */
};

/* The shared page: a header, the seqlock word and the record. The layout is
 * fixed for SV_ADVICE_VERSION; new fields are only appended to the record. */
struct sv_advice_page {
	uint32_t magic;               /* SV_ADVICE_MAGIC once the page is ready */
	uint32_t version;             /* SV_ADVICE_VERSION */
	uint32_t record_size;         /* sizeof(struct sv_advice) as written */
	uint32_t writer_pid;
	uint32_t seq;                 /* seqlock: odd while an update is written; also the futex word */
	uint32_t _pad;
	struct sv_advice record;
};

typedef struct sv_advice_handle sv_advice_handle;

/* Map the page at path (NULL: $SUPERVISE_ADVICE). -ENOENT when there is no
 * page (not running under supervise, or --advice env/none), -EPROTO when the
 * file is not an advice page of a version this library reads. */
int sv_advice_open(const char *path, sv_advice_handle **ret);
/* Copy a consistent record (retries while an update is being written;
 * -EAGAIN if one stays half-written for a second: the writer died in it). */
int sv_advice_read(sv_advice_handle *h, struct sv_advice *ret);
/* Sleep until the generation differs from seen_generation, or timeout_ms
 * passes (negative: no timeout). 1: changed, 0: timed out, -errno. No busy
 * polling: a futex wait on the seqlock word, woken by the supervisor. */
int sv_advice_wait(sv_advice_handle *h, uint64_t seen_generation, int timeout_ms);
void sv_advice_close(sv_advice_handle *h);

#ifdef __cplusplus
}
#endif

#endif
