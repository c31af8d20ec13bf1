/* /proc parsers, path helpers and cpu.max: pure, exact. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "path.h"
#include "proc.h"

Test(proc, stat_with_a_hostile_comm)
{
	/* comm holds ") R 1 " and spaces: fields are counted from the last ')'. */
	const char *text = "4242 (a) R 1 (b c) S 77 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
			   "987654 1000 200 18446744073709551615\n";
	struct proc_stat s;
	cr_assert_eq(proc_stat_parse(text, &s), 0);
	cr_expect_eq(s.pid, 4242);
	cr_expect_eq(s.ppid, 77);
	cr_expect_eq(s.state, 'S');
	cr_expect_str_eq(s.comm, "a) R 1 (b c");
	cr_expect_eq(s.starttime, 987654);
	cr_expect(s.utime == 1 && s.stime == 2 && s.cutime == 0 && s.cstime == 0, "CPU times %llu %llu %llu %llu",
		  (unsigned long long)s.utime, (unsigned long long)s.stime, (unsigned long long)s.cutime,
		  (unsigned long long)s.cstime);
	cr_assert_eq(proc_stat_parse("7 (make) S 1 7 7 0 -1 0 0 0 0 0 11 12 130 140 20 0 1 0 55\n", &s), 0);
	cr_expect(s.utime == 11 && s.stime == 12 && s.cutime == 130 && s.cstime == 140 && s.starttime == 55);
	cr_expect_eq(proc_stat_parse("12 (x S 1", &s), -EINVAL);
	cr_expect_eq(proc_stat_parse("", &s), -EINVAL);
}

Test(proc, status_keys_match_only_at_line_start)
{
	/* A process named "VmRSS: 99999999" must not set its own RSS. */
	const char *text = "Name:\tVmRSS:\t99999999 kB\nUmask:\t0022\nState:\tS (sleeping)\nPPid:\t17\n"
			   "VmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nRssAnon:\t     512 kB\n";
	uint64_t v;
	cr_assert_eq(proc_status_value(text, "VmRSS", &v), 0);
	cr_expect_eq(v, 1024 * 1024);
	cr_assert_eq(proc_status_value(text, "PPid", &v), 0);
	cr_expect_eq(v, 17, "no unit: the plain number");
	cr_expect_eq(proc_status_value(text, "VmSwap", &v), -ENOENT);
	cr_expect_eq(proc_status_value(text, "Rss", &v), -ENOENT, "a prefix of a key is not the key");
	char name[16];
	cr_assert_eq(proc_status_name(text, name, sizeof(name)), 0);
	cr_expect_str_eq(name, "VmRSS:\t99999999");
	/* A zombie: no VmRSS line at all, only the spoof in Name. */
	cr_expect_eq(proc_status_value("Name:\tVmRSS: 5 kB\nState:\tZ (zombie)\n", "VmRSS", &v), -ENOENT);
}

Test(path, parent_and_basename)
{
	char buf[64];
	cr_assert_eq(path_parent("/a/b/c", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/a/b");
	cr_assert_eq(path_parent("/a", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/");
	cr_expect_eq(path_parent("a", buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(path_parent("/abcdef/g", buf, 4), -ENAMETOOLONG);
	snprintf(buf, sizeof(buf), "/x/y/z");
	cr_assert_eq(path_parent(buf, buf, sizeof(buf)), 0, "in place");
	cr_expect_str_eq(buf, "/x/y");
	cr_expect_str_eq(path_basename("/a/b/cc"), "cc");
	cr_expect_str_eq(path_basename("cc"), "cc");
}

Test(cgroup, cpu_max_as_cpus)
{
	double q;
	cr_assert_eq(cgroup_parse_cpu_max("150000 100000\n", &q), 0);
	cr_expect_float_eq(q, 1.5, 1e-9);
	cr_assert_eq(cgroup_parse_cpu_max("max 100000\n", &q), 0);
	cr_expect_float_eq(q, 0.0, 1e-9);
	cr_expect_eq(cgroup_parse_cpu_max("abc", &q), -EINVAL);
	cr_expect_eq(cgroup_parse_cpu_max("1000 0", &q), -EINVAL);
}
