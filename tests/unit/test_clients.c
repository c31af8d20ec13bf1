/* clients: build tool kind, version parsing, which ones read the jobserver,
 * cmake's cache, and the -j a ninja without a jobserver client is given. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clients.h"

Test(clients, kind_from_the_program_name)
{
	cr_expect_eq(client_kind_of("make"), CLIENT_MAKE);
	cr_expect_eq(client_kind_of("/usr/bin/gmake"), CLIENT_MAKE);
	cr_expect_eq(client_kind_of("/usr/bin/ninja"), CLIENT_NINJA);
	cr_expect_eq(client_kind_of("samu"), CLIENT_NINJA);
	cr_expect_eq(client_kind_of("cargo"), CLIENT_CARGO);
	cr_expect_eq(client_kind_of("/opt/cmake/bin/cmake"), CLIENT_CMAKE);
	cr_expect_eq(client_kind_of("makefile-helper"), CLIENT_OTHER);
	cr_expect_eq(client_kind_of("./build.sh"), CLIENT_OTHER);
}

Test(clients, versions_from_real_version_texts)
{
	struct client_version v;
	cr_assert_eq(client_parse_version("GNU Make 4.3\nBuilt for x86_64-pc-linux-gnu\n", &v), 0);
	cr_expect(v.known && v.major == 4 && v.minor == 3 && v.patch == 0);
	cr_assert_eq(client_parse_version("1.11.1\n", &v), 0);
	cr_expect(v.major == 1 && v.minor == 11 && v.patch == 1);
	cr_assert_eq(client_parse_version("1.13.0.git\n", &v), 0);
	cr_expect(v.major == 1 && v.minor == 13);
	cr_assert_eq(client_parse_version("cmake version 3.25.1\n\nCMake suite maintained", &v), 0);
	cr_expect(v.major == 3 && v.minor == 25 && v.patch == 1);
	/* A number inside a word is not a version. */
	cr_assert_eq(client_parse_version("x86_64 build2 then 4.4.1", &v), 0);
	cr_expect(v.major == 4 && v.minor == 4 && v.patch == 1);
	cr_expect_eq(client_parse_version("", &v), -EINVAL);
	cr_expect_eq(client_parse_version("no version here 7\n", &v), -EINVAL);
	cr_expect(!v.known);
}

Test(clients, ninja_reads_the_jobserver_from_1_13_fifo_style)
{
	enum js_style s;
	struct client_version v111 = { 1, 11, 1, true }, v113 = { 1, 13, 0, true }, v2 = { 2, 0, 0, true };
	struct client_version unknown = { 0 };
	cr_expect(!client_reads_jobserver(CLIENT_NINJA, &v111, &s));
	cr_expect(client_reads_jobserver(CLIENT_NINJA, &v113, &s) && s == JS_FIFO);
	cr_expect(client_reads_jobserver(CLIENT_NINJA, &v2, &s) && s == JS_FIFO);
	/* Unknown: treated as not reading it (then it gets -j, which is safe). */
	cr_expect(!client_reads_jobserver(CLIENT_NINJA, &unknown, &s));
	struct client_version m43 = { 4, 3, 0, true };
	cr_expect(client_reads_jobserver(CLIENT_MAKE, &m43, &s) && s == JS_PIPE);
	cr_expect(client_reads_jobserver(CLIENT_CARGO, &unknown, &s) && s == JS_PIPE);
}

Test(clients, cmake_cache_names_the_generator_tool)
{
	char prog[256];
	enum client_kind k;
	const char *ninja = "# This is the CMakeCache file.\n"
			    "CMAKE_GENERATOR:INTERNAL=Ninja\n"
			    "//Program used to build from build.ninja files.\n"
			    "CMAKE_MAKE_PROGRAM:FILEPATH=/usr/bin/ninja\n"
			    "CMAKE_C_COMPILER:FILEPATH=/usr/bin/cc\n";
	cr_assert_eq(client_cmake_cache_tool(ninja, prog, sizeof(prog), &k), 0);
	cr_expect_str_eq(prog, "/usr/bin/ninja");
	cr_expect_eq(k, CLIENT_NINJA);
	const char *make = "CMAKE_GENERATOR:INTERNAL=Unix Makefiles\r\nCMAKE_MAKE_PROGRAM:FILEPATH=/usr/bin/gmake\r\n";
	cr_assert_eq(client_cmake_cache_tool(make, prog, sizeof(prog), &k), 0);
	cr_expect_str_eq(prog, "/usr/bin/gmake");
	cr_expect_eq(k, CLIENT_MAKE);
	cr_expect_eq(client_cmake_cache_tool("CMAKE_GENERATOR:INTERNAL=Ninja\n", prog, sizeof(prog), &k), -ENOENT);
	cr_expect_eq(client_cmake_cache_tool("CMAKE_MAKE_PROGRAM:FILEPATH=\n", prog, sizeof(prog), &k), -ENOENT);
}

Test(clients, cmake_build_dir_and_user_job_counts)
{
	char *b1[] = { "cmake", "--build", "out", NULL }, *b2[] = { "cmake", "--build=out2", "--target", "x", NULL };
	char *conf[] = { "cmake", "-S", ".", "-B", "out", NULL }, *mk[] = { "make", "--build", "x", NULL };
	cr_expect_str_eq(client_cmake_build_dir(b1), "out");
	cr_expect_str_eq(client_cmake_build_dir(b2), "out2");
	cr_expect_null(client_cmake_build_dir(conf));
	cr_expect_null(client_cmake_build_dir(mk));

	char *nj[] = { "ninja", "-j4", NULL }, *nj2[] = { "ninja", "-C", "b", NULL };
	char *cj[] = { "cmake", "--build", "out", "-j", "8", NULL }, *cp[] = { "cmake", "--build", "out", "--parallel", NULL };
	char *ct[] = { "cmake", "--build", "out", "--", "-k", NULL };
	cr_expect(client_argv_sets_jobs(CLIENT_NINJA, nj));
	cr_expect(!client_argv_sets_jobs(CLIENT_NINJA, nj2));
	cr_expect(client_argv_sets_jobs(CLIENT_CMAKE, cj));
	cr_expect(client_argv_sets_jobs(CLIENT_CMAKE, cp));
	cr_expect(!client_argv_sets_jobs(CLIENT_CMAKE, ct));
}

static char *joined(char **argv)
{
	static char buf[512];
	buf[0] = '\0';
	for (char **a = argv; a && *a; a++) {
		strcat(buf, a == argv ? "" : " ");
		strcat(buf, *a);
	}
	return buf;
}

Test(clients, dash_j_goes_where_the_tool_takes_it)
{
	char *nj[] = { "/usr/bin/ninja", "-C", "build", "all", NULL };
	struct client_info ni = { .kind = CLIENT_NINJA, .tool = CLIENT_NINJA };
	char **out = client_argv_with_jobs(nj, &ni, 3);
	cr_assert_not_null(out);
	cr_expect_str_eq(joined(out), "/usr/bin/ninja -j3 -C build all");
	client_argv_free(out);

	char *cm[] = { "cmake", "--build", "out", "--target", "lib", NULL };
	struct client_info ci = { .kind = CLIENT_CMAKE, .tool = CLIENT_NINJA };
	out = client_argv_with_jobs(cm, &ci, 5);
	cr_assert_not_null(out);
	cr_expect_str_eq(joined(out), "cmake --build out -j 5 --target lib");
	client_argv_free(out);

	char *cm2[] = { "cmake", "--build=out", NULL };
	out = client_argv_with_jobs(cm2, &ci, 2);
	cr_assert_not_null(out);
	cr_expect_str_eq(joined(out), "cmake --build=out -j 2");
	client_argv_free(out);

	/* `cmake --build` with no directory: nothing to rewrite. */
	char *bad[] = { "cmake", "--build", NULL };
	cr_expect_null(client_argv_with_jobs(bad, &ci, 2));
}
