/* The command line (cli.c): sizes, --cpus, --pids, --jobs N|MIN-MAX|auto,
 * names, commands, in any order. The input is argv[1..] separated by NUL
 * bytes. */
#include <getopt.h>

#include "cli.h"
#include "fuzz.h"
#include "rundir.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

/* cli_parse() runs once per process in supervise and starts getopt at
 * optind = 1; glibc then keeps a pointer into the previous argv when that
 * parse stopped inside a cluster ("-hv"). Start each input from a fresh
 * getopt state. */
static void reset_getopt(void)
{
	char arg0[] = "supervise", *argv[] = { arg0, NULL };
	optind = 0;
	opterr = 0;
	while (getopt(1, argv, "") != -1)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;
	int n;
	char **args = fuzz_argv(data, size, 64, &n, &copy);
	char **argv = calloc(n + 2, sizeof(*argv));
	struct config c;

	argv[0] = "supervise";
	memcpy(argv + 1, args, n * sizeof(*args));
	reset_getopt();
	if (cli_parse(n + 1, argv, &c) == 0) {
		FUZZ_CHECK(c.command >= CMD_RUN && c.command <= CMD_VERSION);
		if (c.command == CMD_RUN) {
			/* A workload to run, never an empty command. */
			FUZZ_CHECK(c.argv && c.argv[0] && c.argv[0][0]);
			if (c.has_jobs && !c.jobs_auto)
				FUZZ_CHECK(c.jobs_min >= 1 && c.jobs_min <= c.jobs_max && c.jobs_max <= 4096);
		}
		if (c.command == CMD_STAT || c.command == CMD_SET)
			FUZZ_CHECK(c.stat_name && run_name_valid(c.stat_name));
		if (c.command == CMD_SET && c.jobs_max)
			FUZZ_CHECK(c.jobs_min >= 1 && c.jobs_min <= c.jobs_max && c.jobs_max <= 4096);
		if (c.cpus)
			FUZZ_CHECK(c.cpus >= 0.01 && c.cpus <= 4096);
	}
	free(argv);
	free(args);
	free(copy);
	return 0;
}
