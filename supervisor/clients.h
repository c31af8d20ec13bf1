/* clients: which build tool a command runs, its version, and whether it reads
 * supervise's jobserver — so supervise never reports "N jobs at once" to a
 * tool that ignores the tokens.
 *
 *   make        any GNU make reads the pipe style; >= 4.4 the fifo style too
 *   ninja       reads a jobserver only from 1.13 (fifo style); 1.11 (Debian 12)
 *               runs CPUs + 2 jobs whatever the tokens say: supervise passes
 *               -jN instead (the governor's start value) and says so
 *   cmake --build DIR
 *               runs the generator's tool, named in DIR/CMakeCache.txt
 *               (CMAKE_MAKE_PROGRAM): judged as that tool; `-j N` / `--parallel`
 *               on cmake reaches make as -jN (make then ignores the jobserver)
 *   cargo       reads both styles (the jobserver crate)
 *
 * The pure parts (kind from argv[0], version parsing, the cache file, argv
 * rewriting) are unit-tested in tests/unit/test_clients.c; client_detect()
 * runs `TOOL --version` (bounded: 2 s, 4 KiB). */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "jobserver.h"

enum client_kind { CLIENT_OTHER, CLIENT_MAKE, CLIENT_NINJA, CLIENT_CARGO, CLIENT_CMAKE };

struct client_version {
	unsigned major, minor, patch;
	bool known;
};

struct client_info {
	enum client_kind kind;           /* of argv[0] */
	enum client_kind tool;           /* what runs the jobs: kind, or cmake --build's generator tool */
	struct client_version version;   /* of tool (known false: could not tell) */
	char tool_path[PATH_MAX];        /* the program asked for its version */
	char build_dir[PATH_MAX];        /* cmake --build DIR */
	bool reads_jobserver;            /* tool takes supervise's tokens */
	bool user_jobs;                  /* the command line already sets a job count */
	enum js_style style;             /* the style tool reads (JS_PIPE when it reads none) */
};

/* --- pure ------------------------------------------------------------------ */

enum client_kind client_kind_of(const char *argv0);
const char *client_kind_name(enum client_kind k);
/* The first "N.N[.N]" in a --version text ("GNU Make 4.3", "1.11.1",
 * "cmake version 3.25.1"). 0 or -EINVAL. */
int client_parse_version(const char *text, struct client_version *ret);
/* Does this tool of this version read a jobserver, and which style? An
 * unknown version of ninja is taken as not reading one (the safe side: it is
 * given -j). */
bool client_reads_jobserver(enum client_kind tool, const struct client_version *v, enum js_style *ret_style);
/* From a CMakeCache.txt text: the generator tool (CMAKE_MAKE_PROGRAM) into
 * ret_prog and its kind. -ENOENT when the cache names none. */
int client_cmake_cache_tool(const char *text, char *ret_prog, size_t size, enum client_kind *ret_kind);
/* The DIR of `cmake --build DIR ...`, or NULL when argv is not one. */
const char *client_cmake_build_dir(char *const *argv);
/* Does the command line set the job count itself (ninja -jN, cmake --build
 * -j N / --parallel N)? make's -j is jobserver_argv_warning's. */
bool client_argv_sets_jobs(enum client_kind kind, char *const *argv);
/* A new argv (caller frees the array and its strings with client_argv_free)
 * with "-jN" added where tool takes it: after argv[0] for ninja, after
 * `--build DIR` as "-j N" for cmake. */
char **client_argv_with_jobs(char *const *argv, const struct client_info *ci, unsigned jobs);
void client_argv_free(char **argv);

/* --- detection ---------------------------------------------------------------- */

/* Fill ret for the command: kind, the tool, its version (runs it with
 * --version), whether and how it reads the jobserver. Never fails: what
 * cannot be told is left unknown (logged at debug level). */
void client_detect(char *const *argv, struct client_info *ret);
