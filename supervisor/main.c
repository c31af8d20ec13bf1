#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "control.h"
#include "footprint.h"
#include "footprints-cmd.h"
#include "cgroup.h"
#include "cli.h"
#include "exporter.h"
#include "log.h"
#include "run.h"
#include "rundir.h"
#include "stat.h"
#include "status.h"
#include "monitor.h"
#include "profile.h"
#include "report.h"
#include "top.h"

static int gc(const struct config *c)
{
	char base[PATH_MAX];
	if (cgroup_resolve_base(c->cgroup_base, base, sizeof(base)) < 0)
		return EXIT_SUPERVISE_FAILURE;
	int n = rundir_gc(base);
	if (n < 0)
		return EXIT_SUPERVISE_FAILURE;
	printf("gc: removed %d stale run%s\n", n, n == 1 ? "" : "s");
	int p = monitor_gc();
	if (p < 0 && p != -ENOENT)
		return EXIT_SUPERVISE_FAILURE;
	if (p > 0)
		printf("gc: dropped %d probe registration%s of dead supervisors\n", p, p == 1 ? "" : "s");
	return 0;
}

static int dispatch(const struct config *c)
{
	switch (c->command) {
	case CMD_HELP:
		cli_usage(stdout);
		return 0;
	case CMD_VERSION:
		printf("supervise %s\n", SUPERVISE_VERSION);
		return 0;
	case CMD_CHECK:
		return check(c);
	case CMD_GC:
		return gc(c);
	case CMD_LS:
		return ls_command(c);
	case CMD_STAT:
		return stat_command(c);
	case CMD_SET:
		return set_command(c);
	case CMD_PRINT_PROFILE:
		return profile_print(c, stdout);
	case CMD_FOOTPRINTS:
		return footprints_command(c);
	case CMD_TOP:
		return top_command(c);
	case CMD_EXPORTER:
		return exporter_command(c);
	case CMD_REPORT:
		return report_command(c);
	case CMD_RUN:
		break;
	}
	return run(c);
}

int main(int argc, char **argv)
{
	struct config c;
	if (cli_parse(argc, argv, &c) < 0)
		return EXIT_SUPERVISE_FAILURE;
	log_set_level(c.verbose >= 2 ? LOG_DEBUG : c.verbose ? LOG_INFO : LOG_WARN);
	footprint_use_file(c.footprints);
	int status = dispatch(&c);
	/* The config's profile strings live until the command is done. */
	profile_free(c.loaded_profile);
	return status;
}
