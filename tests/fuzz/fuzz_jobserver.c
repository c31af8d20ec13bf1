/* The jobserver's inputs (jobserver.c): --jobs N|MIN-MAX|auto and
 * --jobserver-style (jobs_parse, jobserver_style_parse), the workload's own
 * command line that picks the style and is checked for a -j that would make
 * the client ignore our jobserver (jobserver_style_for,
 * jobserver_argv_warning), and the auth string supervise writes into
 * MAKEFLAGS (jobserver_makeflags: the fifo path comes from the run directory,
 * SUPERVISE_RUNTIME_DIR). supervise is a jobserver server: it writes
 * --jobserver-auth and never parses one.
 *
 * Input: the first argument (up to a NUL) is a --jobs / style / fifo path
 * value; all NUL-separated arguments together are the workload's argv. */
#include <limits.h>

#include "control.h"
#include "fuzz.h"
#include "jobserver.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;
	int argc;
	char **argv = fuzz_argv(data, size, 64, &argc, &copy);
	const char *v = argv[0];
	unsigned lo = 0, hi = 0, clo = 0, chi = 0;
	bool is_auto = false;
	enum js_style st;
	char buf[PATH_MAX + 64], small[24];

	int r = jobs_parse(v, &lo, &hi, &is_auto);
	if (r == 0 && !is_auto)
		FUZZ_CHECK(lo >= 1 && lo <= hi && hi <= 4096);
	/* `supervise --jobs` and `supervise set --jobs` (control_parse_jobs)
	 * accept the same MIN-MAX and N forms: they must agree. */
	int cr = control_parse_jobs(v, &clo, &chi);
	if (!is_auto) {
		FUZZ_CHECK((r == 0) == (cr == 0));
		if (r == 0)
			FUZZ_CHECK(lo == clo && hi == chi);
	}
	if (jobserver_style_parse(v, &st) == 0)
		FUZZ_CHECK(st == JS_PIPE || st == JS_FIFO || st == JS_AUTO);

	/* The auth string with a hostile fifo path: whole, or refused. */
	r = jobserver_makeflags(JS_FIFO, -1, -1, v, 4096, buf, sizeof(buf));
	if (r == 0)
		FUZZ_CHECK(strstr(buf, v) && strstr(buf, "--jobserver-auth=fifo:"));
	r = jobserver_makeflags(JS_FIFO, -1, -1, v, UINT_MAX, small, sizeof(small));
	FUZZ_CHECK(r == 0 || r == -ENAMETOOLONG);
	FUZZ_CHECK(strlen(small) < sizeof(small));
	r = jobserver_makeflags(JS_PIPE, INT_MAX, INT_MIN, NULL, UINT_MAX, buf, sizeof(buf));
	FUZZ_CHECK(r == 0);

	st = jobserver_style_for(argv);
	FUZZ_CHECK(st == JS_PIPE || st == JS_FIFO);
	const char *w = jobserver_argv_warning(argv, buf, sizeof(buf));
	if (w)
		FUZZ_CHECK(w == buf && strlen(buf) < sizeof(buf));
	w = jobserver_argv_warning(argv, small, sizeof(small));
	if (w)
		FUZZ_CHECK(strlen(small) < sizeof(small));

	/* Token arithmetic on the lengths seen: never takes more home than are
	 * at home, never mints past the target. */
	if (size >= 12) {
		unsigned pool, in_pipe, target;
		memcpy(&pool, data, 4), memcpy(&in_pipe, data + 4, 4), memcpy(&target, data + 8, 4);
		pool %= 65536, target %= 65536;
		in_pipe = pool ? in_pipe % (pool + 1) : 0;
		int d = jobserver_plan(pool, in_pipe, target);
		if (d < 0)
			FUZZ_CHECK((unsigned)-d <= in_pipe);
		if (d > 0)
			FUZZ_CHECK(pool + (unsigned)d + 1 == target);
	}
	free(argv);
	free(copy);
	return 0;
}
