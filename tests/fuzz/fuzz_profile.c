/* Profiles (profile.c): an INI file from ~/.config/supervise, /etc/supervise,
 * ./configs or a path, parsed with libinih and applied onto the command
 * line's settings. The input is the file's bytes. */
#include "cli.h"
#include "fuzz.h"
#include "profile.h"
#include "rundir.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = NULL;
	char err[1024] = "";
	/* Bytes as they come from disk: NULs included (the reader refuses them). */
	int r = profile_parse((const char *)data, size, "f.conf", &p, err, sizeof(err));
	if (r < 0) {
		/* Every error names the file and the line. */
		FUZZ_CHECK(p == NULL);
		FUZZ_CHECK(!strncmp(err, "f.conf:", 7));
		return 0;
	}
	FUZZ_CHECK(p != NULL);
	struct config c = { .jobserver_style = JS_AUTO };
	if (profile_apply_to(p, &c, err, sizeof(err)) == 0) {
		/* What a profile sets passes the command line's own checks. */
		if (c.name)
			FUZZ_CHECK(run_name_valid(c.name));
		if (c.cpus > 0)
			FUZZ_CHECK(c.cpus >= 0.01 && c.cpus <= 4096);
		if (c.has_jobs && !c.jobs_auto)
			FUZZ_CHECK(c.jobs_min >= 1 && c.jobs_min <= c.jobs_max && c.jobs_max <= 4096);
		if (c.has_mem && c.mem.is_percent)
			FUZZ_CHECK(c.mem.percent > 0 && c.mem.percent <= 100);
		for (char *const *e = c.env_set; e && *e; e++)
			FUZZ_CHECK(strchr(*e, '=') != NULL);
		FILE *f = fopen("/dev/null", "w");
		if (f) {
			profile_print(&c, f);
			fclose(f);
		}
	} else {
		FUZZ_CHECK(!strncmp(err, "f.conf:", 7));
	}
	profile_free(p);
	return 0;
}
