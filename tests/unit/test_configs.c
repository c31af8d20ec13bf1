/* configs/: every option the example profiles name is an option of
 * `supervise --help` (the profiles are used as supervise $(sed ...) -- CMD). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static char *help_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert(f);
	cli_usage(f);
	fclose(f);
	return buf;
}

/* Is "--opt" in the help text as an option (followed by a space, ',' or end)? */
static bool in_help(const char *help, const char *opt)
{
	size_t n = strlen(opt);
	for (const char *p = help; (p = strstr(p, opt)); p += n) {
		char after = p[n];
		bool start = p == help || p[-1] == ' ' || p[-1] == '[' || p[-1] == '|';
		if (start && (after == ' ' || after == '\n' || after == ',' || after == ']' || after == '='))
			return true;
	}
	return false;
}

static void configs_dir(char *ret, size_t size)
{
	char src[PATH_MAX];
	snprintf(src, sizeof(src), "%s", __FILE__);
	/* tests/unit/test_configs.c → configs, relative to where make ran. */
	snprintf(ret, size, "%s/../../configs", dirname(src));
}

Test(configs, every_option_is_one_supervise_has)
{
	char dir[PATH_MAX];
	configs_dir(dir, sizeof(dir));
	DIR *d = opendir(dir);
	cr_assert(d, "cannot open %s (run from the source tree)", dir);
	char *help = help_text();
	int files = 0, options = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".conf"))
			continue;
		char path[PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "r");
		cr_assert(f, "cannot read %s", path);
		files++;
		char line[512];
		for (int lineno = 1; fgets(line, sizeof(line), f); lineno++) {
			char *hash = strchr(line, '#');
			if (hash)
				*hash = '\0';
			for (char *save, *tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
				if (strncmp(tok, "--", 2))
					continue;
				char opt[128];
				snprintf(opt, sizeof(opt), "%.*s", (int)strcspn(tok, "="), tok);
				options++;
				cr_expect(in_help(help, opt), "%s:%d: %s is not an option in supervise --help", de->d_name,
					  lineno, opt);
			}
		}
		fclose(f);
	}
	closedir(d);
	free(help);
	cr_expect_geq(files, 5, "the five example profiles (JVM, Go, Rust/rayon, Inko, wasm): found %d", files);
	cr_expect_gt(options, 10, "options found: %d", options);
}

Test(configs, the_check_notices_an_unknown_option)
{
	char *help = help_text();
	cr_expect(in_help(help, "--mem"));
	cr_expect(in_help(help, "--raise-map-count"));
	cr_expect(!in_help(help, "--memory"), "a prefix of a real option is not one");
	cr_expect(!in_help(help, "--rlimit-as"));
	free(help);
}
