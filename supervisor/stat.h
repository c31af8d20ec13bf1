/* stat, ls: observers of running workloads. */
#pragma once

#include "cli.h"

int stat_command(const struct config *c);   /* supervise stat NAME [--json] */
int ls_command(const struct config *c);     /* supervise ls [--json] */
