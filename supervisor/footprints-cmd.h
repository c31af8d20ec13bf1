/* `supervise footprints`: list and clear the learned footprint tables (the
 * project's and the global one; see footprint.h for where they live). */
#pragma once

#include "cli.h"

/* Returns the exit status: 0, or 125 when a table cannot be read or removed. */
int footprints_command(const struct config *c);
