/* jobserver: a GNU make jobserver server, pipe style (--jobserver-auth=R,W with
 * inherited fds: make <= 4.3, cargo/rustc) or fifo style
 * (--jobserver-auth=fifo:PATH: make >= 4.4, ninja >= 1.13, cargo/rustc).
 *
 * Protocol rules kept here (docs/jobserver.md):
 *   - each client has one implicit token that is never in the pipe: a target of
 *     N jobs at once puts N - 1 tokens in circulation;
 *   - a client writes back the byte it read; supervise mints '+';
 *   - tokens are never taken back from a client: the pool shrinks only by
 *     reading tokens that came home (are in the pipe) out again. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum js_style { JS_NONE, JS_PIPE, JS_FIFO, JS_AUTO };

struct jobserver {
	enum js_style style;
	int rfd, wfd;          /* pipe: the ends clients inherit (CLOEXEC here, cleared in the child);
				  fifo: supervise's own O_RDWR description, in both */
	int home_fd;           /* a non-blocking read-write description of our own: take tokens
				  home and mint through it, never through rfd/wfd */
	char fifo[PATH_MAX];   /* fifo style: <run dir>/jobserver */
	dev_t dev;             /* identity of the pipe/fifo, to find who has it open */
	ino_t ino;
	unsigned pool;         /* tokens that exist: in the pipe or held by clients */
	unsigned max_jobs;     /* for -jN in MAKEFLAGS */
	bool full_warned;      /* said once that the pipe is full of junk */
};

#define JOBSERVER_INIT { .style = JS_NONE, .rfd = -1, .wfd = -1, .home_fd = -1 }

/* --- pure ------------------------------------------------------------------ */

/* --jobs N | MIN-MAX | auto. auto: min 1, max 0 (the caller fills in CPUs). */
int jobs_parse(const char *s, unsigned *ret_min, unsigned *ret_max, bool *ret_auto);
int jobserver_style_parse(const char *s, enum js_style *ret);
const char *jobserver_style_name(enum js_style s);
/* auto: the style the command's client understands: fifo for ninja (>= 1.13
 * reads only fifo), pipe for make (4.3 aborts on a fifo string; 4.4 reads
 * both), cargo, rustc and anything else. */
enum js_style jobserver_style_for(char *const *argv);
/* The MAKEFLAGS value: " -jN --jobserver-auth=R,W" or "... =fifo:PATH". */
int jobserver_makeflags(enum js_style style, int rfd, int wfd, const char *fifo, unsigned max_jobs,
			char *buf, size_t size);
/* A warning (static text with the fix) when the command line makes its client
 * ignore our jobserver: make -jN / -j / --jobs (make 4.3 then starts its own,
 * "-jN forced in submake: resetting jobserver mode"), ninja -jN (disables its
 * jobserver client). NULL when fine. */
const char *jobserver_argv_warning(char *const *argv, char *buf, size_t size);
/* Token arithmetic: with pool tokens in existence and in_pipe of them at home,
 * how many to write (> 0) or read home (< 0) to reach target jobs at once. */
int jobserver_plan(unsigned pool, unsigned in_pipe, unsigned target);

/* --- the server ------------------------------------------------------------- */

/* Make the pipe or fifo (fifo in run_dir, mode 0600) with no tokens yet. */
int jobserver_open(struct jobserver *js, enum js_style style, const char *run_dir, unsigned max_jobs);
/* setenv MAKEFLAGS and CARGO_MAKEFLAGS for the workload. */
int jobserver_export(const struct jobserver *js);
/* The fds the workload must inherit (pipe style); returns how many (0..2). */
int jobserver_inherit_fds(const struct jobserver *js, int ret_fds[2]);
/* Tokens at home now (FIONREAD). */
int jobserver_in_pipe(const struct jobserver *js);
/* Move toward target jobs at once: mint, or read home tokens out. */
int jobserver_set_target(struct jobserver *js, unsigned target);
/* Tokens lost with a client that died holding them: forget them (the next
 * jobserver_set_target mints replacements). */
void jobserver_forget(struct jobserver *js, unsigned lost);
void jobserver_close(struct jobserver *js);
