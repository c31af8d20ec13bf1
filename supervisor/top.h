/* top: `supervise top` — every workload on the host on one screen, refreshed,
 * in the habits of top/htop (ncurses): a header for the host, one row per
 * workload, and on s/Enter the processes of the selected one. -b prints plain
 * text frames (no escapes) for logs and scripts; --json one JSON document per
 * line per frame. Reads livestate like `stat`: it costs the workloads
 * nothing and needs no daemon. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "livestate.h"

struct config;

int top_command(const struct config *c);

/* Pure, for tests: what a name or comm becomes on a terminal — bytes that are
 * not printable ASCII become '?', so no workload can send escapes. */
void top_sanitize(const char *in, char *out, size_t size);
