/* configs/: every example profile parses with the profile parser and applies
 * cleanly (the way `supervise --profile NAME` reads it), every setting in it
 * has a comment nearby saying why, and the profiles the issue names exist. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profile.h"

static void configs_dir(char *ret, size_t size)
{
	char src[PATH_MAX];
	snprintf(src, sizeof(src), "%s", __FILE__);
	/* tests/unit/test_configs.c → configs, relative to where make ran. */
	snprintf(ret, size, "%s/../../configs", dirname(src));
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "r");
	cr_assert(f, "cannot read %s", path);
	char *buf = NULL;
	size_t cap = 0;
	*ret_len = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	return buf;
}

Test(configs, every_profile_parses_and_applies)
{
	char dir[PATH_MAX];
	configs_dir(dir, sizeof(dir));
	DIR *d = opendir(dir);
	cr_assert(d, "cannot open %s (run from the source tree)", dir);
	int files = 0;
	bool seen_build = false;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".conf"))
			continue;
		char path[PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		size_t n;
		char *text = slurp(path, &n);
		struct profile *p = NULL;
		char err[1024] = "";
		cr_expect(profile_parse(text, n, de->d_name, &p, err, sizeof(err)) == 0, "%s", err);
		if (p) {
			struct config c = { .jobserver_style = JS_AUTO };
			cr_expect(profile_apply_to(p, &c, err, sizeof(err)) == 0, "%s", err);
			cr_expect(c.has_mem || c.sandbox || c.syscall_filter, "%s sets neither memory nor a sandbox",
				  de->d_name);
			profile_free(p);
		}
		/* The old form (supervise $(sed ...)) is gone: no "--option" lines. */
		cr_expect(!strstr(text, "\n--"), "%s still has command-line options", de->d_name);
		/* Every Key=value has a comment in the lines above it, within its section. */
		int lineno = 0;
		bool commented = false;
		for (char *save, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			lineno++;
			if (line[0] == '#')
				commented = true;
			else if (line[0] == '[')
				commented = false;
			else if (strchr(line, '=') && strncmp(line, "Name=", 5))
				cr_expect(commented, "%s:%d: %s has no comment saying why", de->d_name, lineno, line);
		}
		seen_build |= !strcmp(de->d_name, "build-sandboxed.conf");
		free(text);
		files++;
	}
	closedir(d);
	cr_expect_geq(files, 6, "the example profiles (JVM, Go, Rust/rayon, Inko, wasm, build-sandboxed): found %d",
		      files);
	cr_expect(seen_build, "configs/build-sandboxed.conf is missing");
}

Test(configs, the_help_names_the_profile_options)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cli_usage(f);
	fclose(f);
	static const char *const opts[] = { "--profile", "--print-profile", "--sandbox", "--syscall-filter",
					    "--syscall-action", "--cap-drop", "--cap-add", "--user", "--no-new-privs" };
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		cr_expect(strstr(buf, opts[i]), "%s is not in --help", opts[i]);
	free(buf);
}
