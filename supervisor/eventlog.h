/* eventlog: `--log PATH` — one JSON object per line, written with one write(2)
 * as it happens (a reader tailing the file sees whole lines). Every line has
 *   "event"   start | sample | threshold | tokens | pause | resume | map_count |
 *             set | kill | exit
 *   "version" EVENTLOG_VERSION (the format; bumped when a key changes meaning)
 *   "mono"    CLOCK_MONOTONIC seconds, "wall" Unix seconds (both with µs)
 * and the event's own keys (docs/operators.md lists them).
 *
 * Samples are rate-limited so a multi-hour build's log stays a few MiB: one
 * at most every EVENTLOG_SAMPLE_MIN_S while the workload changes, and one every
 * EVENTLOG_SAMPLE_MAX_S while it idles. Threshold, token, pause and map_count
 * events are derived from the same readings by comparing with the last one.
 *
 * Use: eventlog_open → eventlog_start → eventlog_observe on every reading →
 * eventlog_event for what the caller knows (set requests) → eventlog_exit →
 * eventlog_close. No function here fails the run: a write error is logged
 * once and the log is then closed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "livestate.h"

#define EVENTLOG_VERSION 1
#define EVENTLOG_SAMPLE_MIN_S 2
#define EVENTLOG_SAMPLE_MAX_S 60

struct json_object;
struct eventlog;

int eventlog_open(const char *path, struct eventlog **ret);
/* Run start: name, command, cgroup, backend, limits, jobserver. obj's keys
 * are added to the line (ownership of obj is taken). */
void eventlog_start(struct eventlog *el, struct json_object *obj);
/* A reading of the run (w->r.procs: live processes, heaviest first). */
void eventlog_observe(struct eventlog *el, const struct workload_state *w, uint64_t mono_ns);
/* Any event with its keys (ownership of obj, which may be NULL, is taken). */
void eventlog_event(struct eventlog *el, const char *event, struct json_object *obj);
void eventlog_close(struct eventlog *el);

/* Pure: is a sample due? last_ns 0: none written yet. */
bool eventlog_sample_due(uint64_t now_ns, uint64_t last_ns, bool changed);
/* Pure: has the workload changed enough since the last sample to be worth a
 * line (RSS by 2 % or 1 MiB, processes, map_count by 5 %, tokens, pauses)? */
bool eventlog_changed(const struct workload_state *last, const struct workload_state *now);
/* Pure: the band of a percentage of a limit — 0 (<50), 1 (50..80), 2 (80..90),
 * 3 (90..100), 4 (>=100). A threshold event is written when it changes. */
int eventlog_band(uint64_t value, uint64_t limit);
