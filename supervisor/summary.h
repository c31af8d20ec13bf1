/* summary: what a run used — the --summary-json object of DESIGN.md and the
 * short human summary on stderr. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "jobctl.h"
#include "monitor.h"
#include "sandbox.h"

struct run_summary {
	const char *name;
	char *const *command;
	const char *cgroup;
	const char *backend;          /* "bpf" | "procfs" | NULL (no monitor yet) */
	int exit_status;
	const char *killed_by;        /* "kernel-oom" | "supervise" | "signal" | NULL: it exited */
	double wall_seconds;
	bool has_budget;
	uint64_t budget_bytes;
	const char *budget_source;    /* "option" | "cgroup" | "meminfo" | NULL */
	const char *enforced_by;      /* "kernel" | "supervise" | "none" */
	bool has_cgroup_peak;
	uint64_t peak_cgroup_bytes;   /* memory.peak */
	uint64_t oom_kills;           /* memory.events oom_kill */
	uint64_t max_map_count;       /* vm.max_map_count */
	const struct reading *final;  /* NULL when no monitor ran */
	struct jobs_summary jobs;     /* style NULL or "none": no jobserver ran */
	bool killed_at_budget;        /* by supervise, or OOM-killed by the kernel at memory.max */
	struct sandbox_report sandbox;  /* !active: no sandbox option */
};

/* The short human summary: peak memory vs budget, peak map_count vs
 * vm.max_map_count and who held it, the heaviest commands by peak RSS. */
void summary_print(const struct run_summary *s, FILE *f);
/* Build the JSON text (caller frees). */
char *summary_json(const struct run_summary *s);
/* At start: can --summary-json PATH be written (its directory writable, not
 * a directory itself, not too long)? 0, or -errno after saying why; a path
 * refused here is not reported again by summary_write. */
int summary_check_path(const char *path);
/* Write the JSON to path atomically (mkstemp beside it, then rename: never
 * through a planted file or symlink). 0 or -errno (logged). */
int summary_write(const struct run_summary *s, const char *path);
