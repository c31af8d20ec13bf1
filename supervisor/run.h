/* run: supervise a workload from start to end. */
#pragma once

#include "cli.h"

/* Returns the exit status supervise exits with. */
int run(const struct config *cfg);
