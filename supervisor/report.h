/* report: `supervise report LOG -o FILE.html` — see report.c. */
#pragma once

struct config;

int report_command(const struct config *c);
