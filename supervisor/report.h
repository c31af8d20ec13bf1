/* report: `supervise report LOG -o FILE.html` — one self-contained HTML page
 * (no network, no script, no external CSS) from a --log file: memory against
 * the budget over time, tokens target/in use, map_count of the top processes
 * (each with pauses, resumes, set requests and kills marked on the time
 * axis), the per-process peak table, the events and the summary. The charts
 * are inline SVG drawn here. */
#pragma once

#include <stdio.h>

struct config;

int report_command(const struct config *c);
/* Render the page for the log text read from f into out. 0, or -EBADMSG when
 * no line of f is a supervise event (logged). */
int report_render(FILE *f, const char *log_name, FILE *out);
/* Pure: text escaped for HTML (& < > " '). */
void report_escape(FILE *out, const char *s);
