/* cgroup.c's parsers of kernel text that a process can shape:
 * /proc/self/mountinfo (mount points are paths any user with a mount
 * namespace can choose), /proc/PID/cgroup (cgroup names are chosen by whoever
 * may mkdir in a delegated subtree), flat keyed files (cgroup.events,
 * memory.events, cpu.stat) and cgroup.controllers. The keyed parser also gets
 * a key taken from the input (up to its first NUL). */
#include <limits.h>

#include "cgroup.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *keys[] = { "populated", "frozen", "oom_kill", "oom", "high", "max", "usage_usec" };
	const char *rest;
	size_t rest_len;
	char *key = fuzz_split(data, size, &rest, &rest_len);
	char *s = fuzz_str(data, size);
	char path[PATH_MAX], small[8], names[64];
	uint64_t v;

	if (cgroup_parse_mountinfo(s, path, sizeof(path)) == 0)
		FUZZ_CHECK(strlen(path) < sizeof(path));
	if (cgroup_parse_mountinfo(s, small, sizeof(small)) == 0)
		FUZZ_CHECK(strlen(small) < sizeof(small));
	if (cgroup_parse_proc_cgroup(s, path, sizeof(path)) == 0)
		FUZZ_CHECK(path[0] && strlen(path) < sizeof(path) && !strchr(path, '\n'));
	if (cgroup_parse_proc_cgroup(s, small, sizeof(small)) == 0)
		FUZZ_CHECK(strlen(small) < sizeof(small));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		(void)cgroup_parse_keyed(s, keys[i], &v);
	if (*key)
		(void)cgroup_parse_keyed(rest, key, &v);
	unsigned mask = cgroup_parse_controllers(s);
	FUZZ_CHECK((mask & ~(unsigned)(CGROUP_MEMORY | CGROUP_CPU | CGROUP_PIDS)) == 0);
	cgroup_controller_names(mask, names, sizeof(names));
	FUZZ_CHECK(strlen(names) < sizeof(names));
	cgroup_controller_names(mask, small, sizeof(small));
	FUZZ_CHECK(strlen(small) < sizeof(small));
	free(key);
	free(s);
	return 0;
}
