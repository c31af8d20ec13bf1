/* metrics: the live state of runs as Prometheus metrics — the text exposition
 * format 0.0.4 (Prometheus, node_exporter's textfile collector) or OpenMetrics
 * 1.0 (Accept: application/openmetrics-text; GitLab's metrics reports take
 * either). One renderer serves `supervise exporter` (every run on the host,
 * read at scrape time) and `--metrics-file` (the run's own state, rewritten
 * atomically). Metric names are a contract: docs/operators.md lists them and
 * docs/grafana-dashboard.json uses them; add, never rename. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "livestate.h"

enum metrics_format { METRICS_PROMETHEUS, METRICS_OPENMETRICS };

#define METRICS_TOP_PROCS_DEFAULT 5

struct metrics_options {
	enum metrics_format format;
	/* Per-process series only for this many processes of each workload,
	 * heaviest RSS first: bounded cardinality whatever the workload forks. */
	unsigned top_procs;
	/* The exporter's own figures; scrape_seconds < 0 leaves them out. */
	double scrape_seconds;
	uint64_t scrapes;
};

const char *metrics_content_type(enum metrics_format format);
/* Render ls into f. 0 or -EIO. */
int metrics_render(const struct livestate *ls, const struct metrics_options *o, FILE *f);
/* The same into a malloc'd string (*ret_len bytes, NUL-terminated). */
int metrics_render_string(const struct livestate *ls, const struct metrics_options *o, char **ret,
			  size_t *ret_len);
/* Write the metrics to path atomically: a temp file beside it (mkstemp, never
 * matching "*.prom"), then rename(2) over path, so a reader sees the old or
 * the new file whole. 0 or -errno (logged). */
int metrics_write_file(const char *path, const struct livestate *ls, const struct metrics_options *o);
/* Pure: append a label value escaped as the exposition format wants
 * (backslash, double quote, newline). */
void metrics_escape_label(FILE *f, const char *s);
