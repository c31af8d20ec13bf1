/* jobobs: what the jobserver shows, read-only observers of jobctl's state —
 *   the tokens file  <run dir>/tokens, "TARGET AVAILABLE IN_USE PAUSED\n",
 *                    written on change, read by `supervise stat` (one
 *                    definition here: writer and reader share it);
 *   the status line  one live line on a terminal, at most 4 times a second;
 *   the decision log $SUPERVISE_DECISION_LOG, one line per decision applied:
 *                    "NS target=N action=N rss=BYTES alert_latency_ns=NS|-1". */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

#define TOKENS_FILE "tokens"

/* target counts jobs at once (the implicit token included); available: in the
 * pipe; in_use: with clients; paused: pauses applied over the run. */
struct tokens_state {
	unsigned target, available, in_use, paused;
};

/* Format/parse the file's one line. parse: 0 or -EINVAL. */
int tokens_format(const struct tokens_state *t, char *buf, size_t size);
int tokens_parse(const char *text, struct tokens_state *ret);
/* Read <dir>/tokens (bounded read); -errno when missing or malformed. */
int tokens_read(const char *dir, struct tokens_state *ret);

struct jobobs {
	char run_dir[4096];
	char tokens_line[64];     /* last written, to write only on change */
	bool status_line;         /* stderr is a terminal */
	uint64_t status_ns;       /* last live status line */
	bool status_shown;
	FILE *decision_log;
};

void jobobs_open(struct jobobs *o, const char *run_dir, bool status_line);
void jobobs_tokens(struct jobobs *o, const struct tokens_state *t);
void jobobs_status(struct jobobs *o, uint64_t now_ns, size_t jobs, unsigned target, uint64_t rss_bytes,
		   uint64_t budget_bytes, unsigned paused);
/* Ends the live status line (before the summary is printed). */
void jobobs_status_end(struct jobobs *o);
void jobobs_decision(struct jobobs *o, unsigned target, int action, uint64_t rss_bytes, uint64_t alert_ns);
void jobobs_close(struct jobobs *o);
