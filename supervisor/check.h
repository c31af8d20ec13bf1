/* check: what this host supports, each missing piece with a one-line fix. */
#pragma once

#include "cli.h"

/* Prints the report; returns 0 when supervise can run fully, 1 degraded,
 * 125 when it cannot run at all (no cgroup v2). */
int check(const struct config *c);
