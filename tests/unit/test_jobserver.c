/* The jobserver's pure parts: --jobs parsing, style choice, MAKEFLAGS, the -j
 * warning, token arithmetic; learned footprints (table and file format). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "footprint.h"
#include "jobserver.h"

#define MIB (1ull << 20)

Test(jobs, parse_forms)
{
	unsigned lo, hi;
	bool a;
	cr_assert_eq(jobs_parse("4", &lo, &hi, &a), 0);
	cr_expect(lo == 4 && hi == 4 && !a);
	cr_assert_eq(jobs_parse("2-16", &lo, &hi, &a), 0);
	cr_expect(lo == 2 && hi == 16 && !a);
	cr_assert_eq(jobs_parse("auto", &lo, &hi, &a), 0);
	cr_expect(lo == 1 && hi == 0 && a);
	static const char *const bad[] = { "", "0", "-3", "4-2", "1-", "x", "2-x", "5000", "1-5000", "auto2", NULL };
	for (size_t i = 0; bad[i]; i++)
		cr_expect_eq(jobs_parse(bad[i], &lo, &hi, &a), -EINVAL, "'%s' should be refused", bad[i]);
}

Test(jobs, style_for_the_command)
{
	char *make[] = { "make", NULL }, *ninja[] = { "/usr/bin/ninja", NULL }, *cargo[] = { "cargo", "build", NULL };
	cr_expect_eq(jobserver_style_for(make), JS_PIPE, "make 4.3 aborts on a fifo string");
	cr_expect_eq(jobserver_style_for(ninja), JS_FIFO, "ninja 1.13 reads only fifo");
	cr_expect_eq(jobserver_style_for(cargo), JS_PIPE);
	enum js_style s;
	cr_expect(jobserver_style_parse("fifo", &s) == 0 && s == JS_FIFO);
	cr_expect_eq(jobserver_style_parse("socket", &s), -EINVAL);
}

Test(jobs, makeflags)
{
	char buf[256];
	cr_assert_eq(jobserver_makeflags(JS_PIPE, 3, 4, NULL, 8, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, " -j8 --jobserver-auth=3,4");
	cr_assert_eq(jobserver_makeflags(JS_FIFO, -1, -1, "/run/supervise/x/jobserver", 2, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, " -j2 --jobserver-auth=fifo:/run/supervise/x/jobserver");
	cr_expect_eq(jobserver_makeflags(JS_PIPE, 3, 4, NULL, 8, buf, 8), -ENAMETOOLONG);
}

Test(jobs, dash_j_warnings)
{
	char buf[512];
	char *a[] = { "make", "-j8", NULL };
	char *b[] = { "make", "-kj", "all", NULL };
	char *c[] = { "make", "--jobs=4", NULL };
	char *d[] = { "make", "-C", "src", "all", NULL };
	char *e[] = { "make", "-f", "-jfile", NULL };
	char *f[] = { "ninja", "-j4", NULL };
	char *g[] = { "cargo", "build", "-j4", NULL };
	const char *w = jobserver_argv_warning(a, buf, sizeof(buf));
	cr_expect(w && strstr(w, "drop '-j8'") && strstr(w, "forced in submake"), "%s", w ? w : "(none)");
	cr_expect(jobserver_argv_warning(b, buf, sizeof(buf)) != NULL);
	cr_expect(jobserver_argv_warning(c, buf, sizeof(buf)) != NULL);
	cr_expect(jobserver_argv_warning(d, buf, sizeof(buf)) == NULL);
	/* -f takes the next argument as its value: "-jfile" there is a file name. */
	cr_expect(jobserver_argv_warning(e, buf, sizeof(buf)) == NULL);
	w = jobserver_argv_warning(f, buf, sizeof(buf));
	cr_expect(w && strstr(w, "ninja"), "%s", w ? w : "(none)");
	cr_expect(jobserver_argv_warning(g, buf, sizeof(buf)) == NULL, "cargo -j is a cap, not a jobserver reset");
}

Test(jobs, token_arithmetic_keeps_the_implicit_token_out_of_the_pipe)
{
	/* target 1: the client's implicit token only, nothing in the pipe. */
	cr_expect_eq(jobserver_plan(0, 0, 1), 0);
	cr_expect_eq(jobserver_plan(0, 0, 4), 3);
	cr_expect_eq(jobserver_plan(3, 1, 6), 2);
}

Test(jobs, tokens_are_never_taken_back_from_clients)
{
	/* 7 tokens exist, 2 at home, target 3 (2 tokens): only the 2 at home go now. */
	cr_expect_eq(jobserver_plan(7, 2, 3), -2);
	/* All out with clients: nothing to read home. */
	cr_expect_eq(jobserver_plan(7, 0, 1), 0);
	cr_expect_eq(jobserver_plan(7, 7, 1), -7);
}

/* Learned footprints: tests/unit/test_footprint.c. */
