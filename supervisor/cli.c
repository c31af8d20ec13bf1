#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "log.h"
#include "profile.h"
#include "size.h"
#include "rundir.h"
#include "util.h"

enum {
	OPT_MEM = 0x100,
	OPT_MEM_HIGH,
	OPT_CPUS,
	OPT_PIDS,
	OPT_NAME,
	OPT_CGROUP_BASE,
	OPT_SUMMARY_JSON,
	OPT_BACKEND,
	OPT_JSON,
	OPT_ADVICE,
	OPT_RAISE_MAP_COUNT,
	OPT_JOBS,
	OPT_JOB_MEM,
	OPT_JOBSERVER_STYLE,
	/* sandbox and profiles */
	OPT_SANDBOX,
	OPT_SYSCALL_FILTER,
	OPT_SYSCALL_ACTION,
	OPT_CAP_DROP,
	OPT_CAP_ADD,
	OPT_USER,
	OPT_NO_NEW_PRIVS,
	OPT_PROFILE,
	OPT_PRINT_PROFILE,
	OPT_FOOTPRINTS,
	OPT_CLEAR,
	OPT_GLOBAL,
	OPT_LOG,
	OPT_METRICS_FILE,
	OPT_LISTEN,
	OPT_TOP_PROCS,
	OPT_DELAY,
};

static const struct option options[] = {
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "mem-high", required_argument, NULL, OPT_MEM_HIGH },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "pids", required_argument, NULL, OPT_PIDS },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "cgroup-base", required_argument, NULL, OPT_CGROUP_BASE },
	{ "summary-json", required_argument, NULL, OPT_SUMMARY_JSON },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "advice", required_argument, NULL, OPT_ADVICE },
	{ "raise-map-count", no_argument, NULL, OPT_RAISE_MAP_COUNT },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "job-mem", required_argument, NULL, OPT_JOB_MEM },
	{ "jobserver-style", required_argument, NULL, OPT_JOBSERVER_STYLE },
	{ "sandbox", no_argument, NULL, OPT_SANDBOX },
	{ "syscall-filter", required_argument, NULL, OPT_SYSCALL_FILTER },
	{ "syscall-action", required_argument, NULL, OPT_SYSCALL_ACTION },
	{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
	{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
	{ "user", required_argument, NULL, OPT_USER },
	{ "no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "print-profile", no_argument, NULL, OPT_PRINT_PROFILE },
	{ "footprints", required_argument, NULL, OPT_FOOTPRINTS },
	{ "clear", no_argument, NULL, OPT_CLEAR },
	{ "global", no_argument, NULL, OPT_GLOBAL },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "metrics-file", required_argument, NULL, OPT_METRICS_FILE },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "top-procs", required_argument, NULL, OPT_TOP_PROCS },
	{ "delay", required_argument, NULL, OPT_DELAY },
	{ "batch", no_argument, NULL, 'b' },
	{ "iterations", required_argument, NULL, 'n' },
	{ "output", required_argument, NULL, 'o' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{}
};

void cli_usage(FILE *f)
{
	fputs("Usage: supervise [OPTIONS] -- COMMAND [ARG...]\n"
	      "       supervise check\n"
	      "       supervise gc [--cgroup-base PATH]\n"
	      "       supervise ls [--json]\n"
	      "       supervise stat NAME [--json]\n"
	      "       supervise set NAME [--mem SIZE] [--cpus N] [--jobs MIN-MAX|auto]\n"
	      "       supervise footprints [--footprints FILE] [--clear [--global]]\n"
	      "       supervise top [-b] [-n N] [--delay S] [--json]\n"
	      "       supervise exporter [--listen ADDR:PORT] [--top-procs N]\n"
	      "       supervise report LOG -o FILE.html\n"
	      "       supervise --help | --version\n"
	      "\n"
	      "Run COMMAND in a fresh cgroup v2 leaf <base>/supervise/<name>-<id>, forward\n"
	      "signals to it, and remove the leaf when it ends.\n"
	      "\n"
	      "Options:\n"
	      "  --mem SIZE|auto      memory budget: memory.max where the v2 memory controller\n"
	      "                       exists, else enforced by supervise from its readings;\n"
	      "                       auto: the tightest enclosing cgroup limit or MemAvailable,\n"
	      "                       less a reserve (said with -v)\n"
	      "  --mem-high SIZE      memory.high: the kernel throttles and reclaims above it\n"
	      "  --cpus N             CPU quota in CPUs (0.5, 2): cpu.max \"N*100000 100000\"\n"
	      "  --pids N             pids.max: at most N tasks in the workload (1 to 4194304)\n"
	      "  --name NAME          run name ([A-Za-z0-9._-], at most 64, not starting with\n"
	      "                       . or -; default: the command's basename, with -2, -3...\n"
	      "                       when in use)\n"
	      "  --cgroup-base PATH   cgroup under which supervise/ is made: a directory in the\n"
	      "                       v2 mount, or a path relative to its root (default: the\n"
	      "                       cgroup supervise runs in)\n"
	      "  --summary-json PATH  write what the run used as JSON when it ends\n"
	      "  --backend B          how the workload is watched: bpf (kernel probes), procfs\n"
	      "                       (sampling /proc), auto (bpf when it loads; default)\n"
	      "  --jobs N|MIN-MAX|auto  run a make jobserver (MAKEFLAGS, CARGO_MAKEFLAGS): at\n"
	      "                       most N jobs at once (the client's implicit token counted,\n"
	      "                       as make -jN); MIN-MAX or auto (1 to 4 x CPUs) follow\n"
	      "                       memory within --mem, and go beyond the CPUs only while\n"
	      "                       CPU pressure is low; do not also pass -j to make or ninja\n"
	      "  --job-mem SIZE       expected peak of a job before any is learned (512MiB)\n"
	      "  --jobserver-style S  pipe, fifo or auto (from the command; default)\n"
	      "  --footprints FILE    this project's learned job footprints (default: one table\n"
	      "                       per working directory in the cache; the global table\n"
	      "                       answers for commands the project has not seen)\n"
	      "  --advice MODE[,-RUNTIME...]  all (default): set the runtimes' variables\n"
	      "                       (GOMAXPROCS, GOMEMLIMIT, ...; never one the user set) and\n"
	      "                       keep the live advice page SUPERVISE_ADVICE; env: the\n"
	      "                       variables only; none: neither. -RUNTIME leaves one\n"
	      "                       runtime's variables out: go, rayon, openmp, inko, malloc,\n"
	      "                       cargo, jvm, node (env,-jvm: no JAVA_TOOL_OPTIONS, which\n"
	      "                       makes every JVM print \"Picked up JAVA_TOOL_OPTIONS\" on\n"
	      "                       stderr); docs/advice.md\n"
	      "  --log PATH           one JSON object per line as things happen: start, samples,\n"
	      "                       token changes, pauses, set requests, exit (docs/operators.md)\n"
	      "  --metrics-file PATH  this run's Prometheus metrics, rewritten atomically every\n"
	      "                       5 s and at the end (node_exporter textfile collector)\n"
	      "  --raise-map-count    when a process nears vm.max_map_count, raise it to the\n"
	      "                       suggested value (root only; it stays raised)\n"
	      "  --sandbox            deny what builds and servers never need (bpf, mount,\n"
	      "                       modules, kexec, clock, swap, keyctl, namespaces...),\n"
	      "                       drop every capability, set no_new_privs (docs/sandbox.md)\n"
	      "  --syscall-filter F   systemd's SystemCallFilter= syntax: @system-service (allow\n"
	      "                       list), ~@mount ~bpf (deny list); repeat to combine\n"
	      "  --syscall-action A   what a denied call gets: errno (EPERM, default), an errno\n"
	      "                       name (EACCES), kill, or log (it runs; only reported)\n"
	      "  --cap-drop LIST      capabilities the workload loses: all, or names\n"
	      "  --cap-add LIST       capabilities it keeps, also as a non-root --user (ambient)\n"
	      "  --user USER[:GROUP]  run the workload as USER (supplementary groups from the\n"
	      "                       user database; HOME, USER, LOGNAME, SHELL like runuser)\n"
	      "  --no-new-privs       no_new_privs without any other sandbox option\n"
	      "  --profile NAME|PATH  read settings from a profile: ~/.config/supervise/NAME.conf,\n"
	      "                       /etc/supervise/NAME.conf, ./configs/NAME.conf, or PATH;\n"
	      "                       options given here override it\n"
	      "  --print-profile      print the effective settings and where each comes from\n"
	      "  -q, --quiet          no summary on stderr at the end\n"
	      "  -v, --verbose        say what is done (twice: debug)\n"
	      "  -h, --help           this text\n"
	      "  -V, --version        the version\n"
	      "\n"
	      "SIZE: " SIZE_FORMS ".\n"
	      "\n"
	      "Commands:\n"
	      "  check                what this host supports and how to fix what is missing;\n"
	      "                       exit 0 when supervise can run fully, 1 when degraded\n"
	      "  gc                   kill and remove leaves and run directories left by\n"
	      "                       supervisors that died, and unpin the probe set when\n"
	      "                       no supervisor uses it\n"
	      "  ls                   the running workloads: name, pid, backend, RSS, cgroup\n"
	      "  stat NAME            what one running workload uses, per process\n"
	      "                       (--json: the machine-readable form of DESIGN.md)\n"
	      "  set NAME             change a running workload's budget: --mem SIZE (memory.max\n"
	      "                       where present), --cpus N (cpu.max where present),\n"
	      "                       --jobs MIN-MAX or auto (the jobserver's range, as at\n"
	      "                       launch; without --jobs at launch only the advice page's\n"
	      "                       jobs); the advice page follows; exit 1 when refused\n"
	      "  footprints           list the learned footprints of this project (the working\n"
	      "                       directory, or --footprints FILE) and the global table;\n"
	      "                       --clear forgets the project's, --clear --global both\n"
	      "  top                  every workload on the host, live (q quits, s/Enter: one\n"
	      "                       workload's processes); -b plain frames, -n N frames,\n"
	      "                       --delay S between frames (default 2), --json one JSON\n"
	      "                       document per frame\n"
	      "  exporter             Prometheus /metrics for every workload on the host, read at\n"
	      "                       scrape time; --listen ADDR:PORT (default 127.0.0.1:9464),\n"
	      "                       --top-procs N per-process series per workload (default 5)\n"
	      "  report LOG -o FILE   one self-contained HTML page (charts, tables) from a --log\n"
	      "\n"
	      "Exit status: the command's (128+N when killed by signal N); 125 when supervise\n"
	      "itself fails; 126 command not executable; 127 command not found; 137 when the\n"
	      "kernel OOM-killed the workload, or (no v2 memory controller) supervise killed\n"
	      "it at the --mem budget.\n"
	      "Environment: SUPERVISE_RUNTIME_DIR (default /run/supervise) holds run directories;\n"
	      "SUPERVISE_BPF_PIN_DIR (default /sys/fs/bpf/supervise) the shared probe set;\n"
	      "SUPERVISE_CACHE_DIR (default ~/.cache/supervise, root: /var/cache/supervise)\n"
	      "the learned job footprints.\n",
	      f);
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "supervise: %s\n", msg);
	fprintf(stderr, "Try 'supervise --help' for more information.\n");
	return -EINVAL;
}

static int parse_size_opt(const char *opt, const char *arg, struct size_arg *ret)
{
	int r = size_parse(arg, ret);
	if (r == -ERANGE)
		return bad("%s: '%s' is out of range; give a size above zero (a percentage from 0 to 100%%): %s",
			   opt, arg, SIZE_FORMS);
	if (r < 0)
		return bad("%s: '%s' is not a size; use %s", opt, arg, SIZE_FORMS);
	return 0;
}

static int parse_cpus(const char *arg, double *ret)
{
	double v;
	/* Plain decimals only, as sizes: strtod would take "1e3", "0x10", " 2".
	 * cpu.max wants at least 1 ms of quota per 100 ms period. */
	if (decimal_parse(arg, &v) < 0 || v < 0.01 || v > 4096)
		return bad("--cpus: '%s' is not a CPU count; give a number from 0.01 to 4096 (0.5, 2)", arg);
	*ret = v;
	return 0;
}

/* The kernel's PID_MAX_LIMIT on 64-bit: pids.max above it means "max". */
#define PIDS_MAX_LIMIT 4194304

static int parse_pids(const char *arg, uint64_t *ret)
{
	uint64_t v;
	if (parse_u64(arg, &v) < 0 || v == 0)
		return bad("--pids: '%s' is not a positive whole number", arg);
	if (v > PIDS_MAX_LIMIT)
		return bad("--pids: %s is above the kernel's limit of %d tasks; give at most %d, or leave --pids out "
			   "for no limit", arg, PIDS_MAX_LIMIT, PIDS_MAX_LIMIT);
	*ret = v;
	return 0;
}

/* A budget below a page is legal but cannot hold a process: say so. */
static void warn_tiny(const char *opt, const char *arg, const struct size_arg *a)
{
	long page = sysconf(_SC_PAGESIZE);
	if (!a->is_percent && page > 0 && a->bytes < (uint64_t)page)
		log_warn("%s %s is %" PRIu64 " byte%s, below one page (%ld bytes): no process fits in it; did you "
			 "mean %sM or %sG?", opt, arg, a->bytes, a->bytes == 1 ? "" : "s", page, arg, arg);
}

int cli_parse(int argc, char **argv, struct config *ret)
{
	struct config c = { .command = CMD_RUN, .jobserver_style = JS_AUTO };
	int r;

	static const struct {
		const char *name;
		enum command cmd;
	} commands[] = { { "check", CMD_CHECK }, { "gc", CMD_GC }, { "ls", CMD_LS }, { "stat", CMD_STAT },
			 { "set", CMD_SET }, { "footprints", CMD_FOOTPRINTS }, { "top", CMD_TOP },
			 { "exporter", CMD_EXPORTER }, { "report", CMD_REPORT } };
	const char *cmd_name = NULL;
	for (size_t i = 0; argc >= 2 && i < ELEMENTSOF(commands); i++)
		if (streq(argv[1], commands[i].name)) {
			c.command = commands[i].cmd;
			cmd_name = commands[i].name;
			argv++, argc--;
			break;
		}

	/* Running: '+' stops at the first non-option, so the workload's own
	 * options are never taken for ours. Commands (stat NAME --json) take
	 * options anywhere. */
	const char *optstring = c.command == CMD_RUN ? "+:vqhV" : ":vqhVbn:o:";
	optind = 1;
	opterr = 0;
	for (int opt; (opt = getopt_long(argc, argv, optstring, options, NULL)) != -1;) {
		switch (opt) {
		case OPT_MEM:
			/* auto: the tightest enclosing limit (memauto.h), read at start. */
			if (c.command == CMD_RUN && streq(optarg, "auto")) {
				c.mem_auto = true;
			} else {
				if ((r = parse_size_opt("--mem", optarg, &c.mem)) < 0)
					return r;
				warn_tiny("--mem", optarg, &c.mem);
				c.mem_auto = false;
			}
			c.has_mem = true;
			c.mem_arg = optarg;
			break;
		case OPT_MEM_HIGH:
			if ((r = parse_size_opt("--mem-high", optarg, &c.mem_high)) < 0)
				return r;
			warn_tiny("--mem-high", optarg, &c.mem_high);
			c.has_mem_high = true;
			c.mem_high_arg = optarg;
			break;
		case OPT_CPUS:
			if ((r = parse_cpus(optarg, &c.cpus)) < 0)
				return r;
			break;
		case OPT_PIDS:
			if ((r = parse_pids(optarg, &c.pids)) < 0)
				return r;
			break;
		case OPT_NAME:
			/* A leading '-' would make `supervise stat NAME` read it as an option. */
			if (!run_name_valid(optarg) || optarg[0] == '-')
				return bad("--name: '%s' is not a valid name; use 1 to 64 of A-Z a-z 0-9 . _ - "
					   "(not starting with a dot or a dash)", optarg);
			c.name = optarg;
			break;
		case OPT_CGROUP_BASE:
			c.cgroup_base = optarg;
			break;
		case OPT_SUMMARY_JSON:
			if (!*optarg)
				return bad("--summary-json: the path is empty");
			c.summary_json = optarg;
			break;
		case OPT_BACKEND:
			if (streq(optarg, "bpf"))
				c.backend = MONITOR_BPF;
			else if (streq(optarg, "procfs"))
				c.backend = MONITOR_PROCFS;
			else if (streq(optarg, "auto"))
				c.backend = MONITOR_AUTO;
			else
				return bad("--backend: '%s' is not a backend; use bpf, procfs or auto", optarg);
			break;
		case OPT_JSON:
			c.json = true;
			break;
		case OPT_ADVICE: {
			char err[256];
			if (advice_parse(optarg, &c.advice, &c.advice_excluded, err, sizeof(err)) < 0)
				return bad("--advice: %s", err);
			c.has_advice = true;
			break;
		}
		case OPT_RAISE_MAP_COUNT:
			c.raise_map_count = true;
			break;
		case OPT_JOBS:
			if (c.command == CMD_SET) {
				/* auto: the supervisor knows its CPUs; it resolves it as at launch. */
				c.jobs_auto = streq(optarg, "auto");
				if (!c.jobs_auto && control_parse_jobs(optarg, &c.jobs_min, &c.jobs_max) < 0)
					return bad("--jobs: '%s' is not a range; give MIN-MAX or N, from 1 to 4096 (2-8), "
						   "or auto", optarg);
				break;
			}
			if (jobs_parse(optarg, &c.jobs_min, &c.jobs_max, &c.jobs_auto) < 0)
				return bad("--jobs: '%s' is not a job count; use N, MIN-MAX (1 to 4096) or auto", optarg);
			c.has_jobs = true;
			break;
		case OPT_JOB_MEM:
			if ((r = parse_size_opt("--job-mem", optarg, &c.job_mem)) < 0)
				return r;
			if (c.job_mem.is_percent)
				return bad("--job-mem: '%s': give a size, not a percentage", optarg);
			c.has_job_mem = true;
			break;
		case OPT_JOBSERVER_STYLE:
			if (jobserver_style_parse(optarg, &c.jobserver_style) < 0)
				return bad("--jobserver-style: '%s' is not a style; use pipe, fifo or auto", optarg);
			break;
		case OPT_SANDBOX:
			c.sandbox = true;
			break;
		case OPT_SYSCALL_FILTER:
			/* Repeated: one assignment per line, as SystemCallFilter= lines combine. */
			if (c.syscall_filter && asprintf((char **)&c.syscall_filter, "%s\n%s", c.syscall_filter, optarg) < 0)
				return -ENOMEM;
			if (!c.syscall_filter)
				c.syscall_filter = optarg;
			break;
		case OPT_SYSCALL_ACTION:
			if (sandbox_action_parse(optarg, &c.syscall_action, &c.syscall_errno) < 0)
				return bad("--syscall-action: '%s' is not an action; use errno, kill, log or an errno "
					   "name (EPERM, EACCES)", optarg);
			c.has_syscall_action = true;
			break;
		case OPT_CAP_DROP:
			c.cap_drop = optarg;
			break;
		case OPT_CAP_ADD:
			c.cap_add = optarg;
			break;
		case OPT_USER:
			c.user = optarg;
			break;
		case OPT_NO_NEW_PRIVS:
			c.no_new_privs = true;
			break;
		case OPT_PROFILE:
			c.profile = optarg;
			break;
		case OPT_PRINT_PROFILE:
			c.command = CMD_PRINT_PROFILE;
			break;
		case OPT_FOOTPRINTS:
			if (!*optarg)
				return bad("--footprints: the path is empty");
			c.footprints = optarg;
			break;
		case OPT_CLEAR:
		case OPT_GLOBAL:
			if (c.command != CMD_FOOTPRINTS)
				return bad("%s is an option of 'supervise footprints'", opt == OPT_CLEAR ? "--clear" : "--global");
			*(opt == OPT_CLEAR ? &c.clear : &c.global) = true;
			break;
		case OPT_LOG:
		case OPT_METRICS_FILE:
		case 'o':
			if (!*optarg)
				return bad("%s: the path is empty", opt == 'o' ? "-o" : opt == OPT_LOG ? "--log" : "--metrics-file");
			*(opt == 'o' ? &c.output : opt == OPT_LOG ? &c.log_path : &c.metrics_file) = optarg;
			break;
		case OPT_LISTEN:
			c.listen = optarg;
			break;
		case OPT_TOP_PROCS: {
			uint64_t v;
			if (parse_u64(optarg, &v) < 0 || v > 1000)
				return bad("--top-procs: '%s' is not a count; give 0 to 1000", optarg);
			c.top_procs = (unsigned)v;
			c.has_top_procs = true;
			break;
		}
		case 'n': {
			uint64_t v;
			if (parse_u64(optarg, &v) < 0 || v == 0 || v > 1000000)
				return bad("-n: '%s' is not a frame count; give a whole number from 1", optarg);
			c.iterations = (unsigned)v;
			break;
		}
		case OPT_DELAY: {
			char *end;
			errno = 0;
			double v = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(v) || v < 0.1 || v > 3600)
				return bad("--delay: '%s' is not a delay; give seconds from 0.1 to 3600 (1, 0.5)", optarg);
			c.delay_s = v;
			break;
		}
		case 'b':
			c.batch = true;
			break;
		case 'v':
			c.verbose++;
			break;
		case 'q':
			c.quiet = true;
			break;
		case 'h':
			c.command = CMD_HELP;
			*ret = c;
			return 0;
		case 'V':
			c.command = CMD_VERSION;
			*ret = c;
			return 0;
		case ':':
			return bad("option '%s' needs a value", argv[optind - 1]);
		default: {
			/* stat/set of a run whose name starts with '-' (from a command
			 * named so): the name goes after '--'. */
			const char *a = optind > 0 ? argv[optind - 1] : "";
			char hint[160] = "";
			if ((c.command == CMD_STAT || c.command == CMD_SET) && a[0] == '-' && run_name_valid(a))
				snprintf(hint, sizeof(hint), "; a run named '%s' goes after '--': supervise %s -- %s", a,
					 cmd_name, a);
			if (optopt)
				return bad("unknown option '-%c'%s", optopt, hint);
			return bad("unknown option '%s'%s", a, hint);
		}
		}
	}

	if (c.command == CMD_STAT || c.command == CMD_SET) {
		if (optind >= argc)
			return bad("%s needs a run name: supervise %s NAME ('supervise ls' lists them)", cmd_name, cmd_name);
		c.stat_name = argv[optind++];
		if (!run_name_valid(c.stat_name))
			return bad("%s: '%s' is not a run name", cmd_name, c.stat_name);
	}
	if (c.command == CMD_FOOTPRINTS && c.global && !c.clear)
		return bad("footprints: --global goes with --clear (listing shows both tables)");
	if (c.command == CMD_REPORT) {
		if (optind >= argc)
			return bad("report needs a log: supervise report LOG -o FILE.html (LOG from --log)");
		c.report_log = argv[optind++];
		if (!c.output)
			return bad("report: give where to write the page: -o FILE.html");
	}
	if ((c.batch || c.iterations || c.delay_s) && c.command != CMD_TOP)
		return bad("-b, -n and --delay are options of 'supervise top'");
	if ((c.listen || c.has_top_procs) && c.command != CMD_EXPORTER)
		return bad("--listen and --top-procs are options of 'supervise exporter'");
	if (c.output && c.command != CMD_REPORT)
		return bad("-o is an option of 'supervise report'");
	if ((c.log_path || c.metrics_file) && c.command != CMD_RUN && c.command != CMD_PRINT_PROFILE)
		return bad("--log and --metrics-file are options of a run: supervise --log PATH -- COMMAND");
	if (c.command == CMD_SET && !c.has_mem && c.cpus <= 0 && !c.jobs_max && !c.jobs_auto)
		return bad("set: give what to change: --mem SIZE, --cpus N or --jobs MIN-MAX|auto");
	/* The profile fills in what the command line left out. */
	if (c.profile && (c.command == CMD_RUN || c.command == CMD_PRINT_PROFILE) && profile_apply(c.profile, &c) < 0)
		return -EINVAL;
	if (c.command == CMD_PRINT_PROFILE) {
		*ret = c;
		return 0;
	}
	if (c.command != CMD_RUN) {
		if (optind < argc)
			return bad("'supervise %s' takes no further arguments (got '%s')", cmd_name, argv[optind]);
		*ret = c;
		return 0;
	}

	/* Require '--': it makes clear where supervise's options end. */
	if (optind >= argc && !(optind > 1 && streq(argv[optind - 1], "--")))
		return bad("no command given; usage: supervise [OPTIONS] -- COMMAND [ARG...]");
	if (!(optind > 1 && streq(argv[optind - 1], "--")))
		return bad("missing '--' before the command '%s'; usage: supervise [OPTIONS] -- COMMAND [ARG...]",
			   argv[optind]);
	if (optind >= argc)
		return bad("no command after '--'; usage: supervise [OPTIONS] -- COMMAND [ARG...]");
	if (!argv[optind][0])
		return bad("the command after '--' is an empty string");

	if (c.has_mem && !c.mem_auto && c.has_mem_high && !c.mem.is_percent && !c.mem_high.is_percent &&
	    c.mem_high.bytes > c.mem.bytes)
		return bad("--mem-high (%s) is above --mem (%s); memory.high must be at or below memory.max",
			   c.mem_high_arg, c.mem_arg);
	if ((c.has_job_mem || c.jobserver_style != JS_AUTO) && !c.has_jobs)
		return bad("--job-mem and --jobserver-style need --jobs (N, MIN-MAX or auto)");
	c.argv = argv + optind;
	*ret = c;
	return 0;
}
