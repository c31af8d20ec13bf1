/* What rundir.c reads back from disk and /proc: run.json (written by another
 * supervise, maybe another user's: `ls`, `stat`, `set` and gc read it), the
 * text of /proc/PID/stat (proc_stat_starttime: the comm field is the
 * workload's to choose), and run names from the command line.
 *
 * run.json goes through the real loader: the input is written to
 * <tmp>/run.json and rundir_read() opens it. */
#include <fcntl.h>
#include <unistd.h>

#include "cgroup.h"
#include "fuzz.h"
#include "rundir.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	fuzz_tmpdir("run.json");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_info ri;
	char name[RUN_NAME_MAX + 1], small[8];
	uint64_t t;
	char *s = fuzz_str(data, size);

	int fd = open(fuzz_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (rundir_read(fuzz_dir, &ri) == 0) {
		FUZZ_CHECK(memchr(ri.name, '\0', sizeof(ri.name)));
		FUZZ_CHECK(memchr(ri.cgroup, '\0', sizeof(ri.cgroup)));
		FUZZ_CHECK(memchr(ri.backend, '\0', sizeof(ri.backend)));
		/* The leaf gc would kill and remove: the file may say anything
		 * ("cgroup": null once came back as "(null)", "cgroup": 5 comes
		 * back as "5"), the check gc makes before using it
		 * (cgroup_validate_leaf) passes only an absolute, canonical
		 * path inside the v2 mount, in a supervise/ directory. */
		const char *mount;
		if (ri.cgroup[0] && cgroup_validate_leaf(ri.cgroup) == 0 && cgroup_v2_mount(&mount) == 0)
			FUZZ_CHECK(ri.cgroup[0] == '/' && !strncmp(ri.cgroup, mount, strlen(mount)) &&
				   strstr(ri.cgroup, "/supervise/"));
		/* run_owner_alive() with whatever pid the file claims: reads
		 * /proc only, kills nothing. */
		(void)run_owner_alive(&ri);
	}

	(void)proc_stat_starttime(s, &t);

	/* A default name made from any command is a name supervise accepts. */
	run_name_from_command(s, name, sizeof(name));
	FUZZ_CHECK(run_name_valid(name));
	run_name_from_command(s, small, sizeof(small));
	FUZZ_CHECK(strlen(small) < sizeof(small));
	(void)run_name_valid(s);
	free(s);
	return 0;
}
