/* cli: the command line into a struct config; no side effects. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "advice.h"
#include "jobserver.h"
#include "monitor.h"
#include "sandbox.h"
#include "size.h"

enum command { CMD_RUN, CMD_CHECK, CMD_GC, CMD_LS, CMD_STAT, CMD_SET, CMD_PRINT_PROFILE, CMD_FOOTPRINTS,
	       CMD_TOP, CMD_EXPORTER, CMD_REPORT, CMD_HELP, CMD_VERSION };

struct config {
	enum command command;
	struct size_arg mem, mem_high;
	bool has_mem, has_mem_high;
	bool mem_auto;              /* --mem auto: mem is resolved at start (memauto.h) */
	const char *mem_arg, *mem_high_arg;    /* as given, for messages */
	double cpus;                /* 0: not set */
	uint64_t pids;              /* 0: not set */
	const char *name;           /* NULL: from the command */
	const char *cgroup_base;    /* NULL: the supervisor's own cgroup */
	const char *summary_json;
	enum monitor_backend backend;
	int verbose;
	bool quiet;                 /* no human summary at the end */
	bool json;                  /* ls, stat: JSON output */
	const char *stat_name;      /* stat NAME, set NAME */
	enum advice_mode advice;    /* --advice all|env|none[,-RUNTIME...] */
	unsigned advice_excluded;   /* its -RUNTIME exclusions: 1 << enum advice_runtime */
	bool raise_map_count;       /* --raise-map-count */
	/* --jobs: run: N (N..N), MIN-MAX, auto (1..0: CPUs); set NAME --jobs
	 * MIN-MAX (0: not given) or auto (jobs_auto, resolved by the supervisor) */
	unsigned jobs_min, jobs_max;
	bool has_jobs;              /* run --jobs: run the jobserver */
	bool jobs_auto;
	struct size_arg job_mem;    /* --job-mem */
	bool has_job_mem;
	enum js_style jobserver_style;  /* --jobserver-style, JS_AUTO by default */
	bool has_advice;            /* --advice given (a profile does not override it) */
	/* sandbox (docs/sandbox.md): the workload's syscalls, capabilities, user */
	bool sandbox;               /* --sandbox: the default deny list, no capabilities */
	const char *syscall_filter; /* --syscall-filter, systemd syntax; repeated: one per line */
	enum sandbox_action syscall_action;  /* --syscall-action, errno by default */
	int syscall_errno;          /* errno action: 0 means EPERM */
	bool has_syscall_action;
	const char *cap_drop, *cap_add;  /* --cap-drop, --cap-add: "all" or names */
	const char *user;           /* --user USER[:GROUP] */
	bool no_new_privs;          /* --no-new-privs (on with any sandbox option) */
	const char *profile;        /* --profile NAME|PATH */
	struct profile *loaded_profile;  /* what profile_apply read, for --print-profile */
	char *const *env_set;       /* NAME=VALUE from the profile's [Environment] */
	const char *footprints;     /* --footprints FILE: this project's learned table */
	bool clear, global;         /* footprints --clear [--global] */
	/* operators: top, exporter, report, --log, --metrics-file */
	const char *log_path;       /* run --log PATH: JSONL events */
	const char *metrics_file;   /* run --metrics-file PATH */
	const char *listen;         /* exporter --listen ADDR:PORT (127.0.0.1:9464) */
	unsigned top_procs;         /* exporter --top-procs N: per-process series */
	bool has_top_procs;
	bool batch;                 /* top -b */
	unsigned iterations;        /* top -n N (0: until q) */
	double delay_s;             /* top --delay S */
	const char *report_log;     /* report LOG */
	const char *output;         /* report -o PATH */
	char **argv;                /* the workload: argv[0] .. NULL */
};

/* Parse argv. Returns 0, or -EINVAL after printing what was wrong and what
 * to do (exit 125). */
int cli_parse(int argc, char **argv, struct config *ret);
void cli_usage(FILE *f);
