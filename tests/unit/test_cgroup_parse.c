#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>

#include "cgroup.h"

/* Read off this project's hybrid host. */
static const char *hybrid =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

Test(mountinfo, hybrid_host)
{
	char p[PATH_MAX];
	cr_assert_eq(cgroup_parse_mountinfo(hybrid, p, sizeof(p)), 0);
	cr_expect_str_eq(p, "/sys/fs/cgroup/unified");
}

Test(mountinfo, pure_v2_with_optional_fields)
{
	/* systemd hosts carry optional fields ("shared:9") before the " - ". */
	const char *mi = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
			 "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";
	char p[PATH_MAX];
	cr_assert_eq(cgroup_parse_mountinfo(mi, p, sizeof(p)), 0);
	cr_expect_str_eq(p, "/sys/fs/cgroup");
}

Test(mountinfo, escaped_space)
{
	const char *mi = "30 23 0:26 / /mnt/my\\040cgroups rw - cgroup2 none rw\n";
	char p[PATH_MAX];
	cr_assert_eq(cgroup_parse_mountinfo(mi, p, sizeof(p)), 0);
	cr_expect_str_eq(p, "/mnt/my cgroups");
}

Test(mountinfo, v1_only_is_enoent)
{
	const char *mi = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
			 "36 31 0:33 / /sys/fs/cgroup/cgroup2ish rw - tmpfs cgroup2 rw\n";
	char p[PATH_MAX];
	cr_expect_eq(cgroup_parse_mountinfo(mi, p, sizeof(p)), -ENOENT);
	cr_expect_eq(cgroup_parse_mountinfo("", p, sizeof(p)), -ENOENT);
}

Test(proc_cgroup, v2_line_among_v1)
{
	const char *t = "9:name=systemd:/\n4:memory:/process_api/1313\n0::/supervise/sh-ba98ea3e\n";
	char p[PATH_MAX];
	cr_assert_eq(cgroup_parse_proc_cgroup(t, p, sizeof(p)), 0);
	cr_expect_str_eq(p, "/supervise/sh-ba98ea3e");
	cr_assert_eq(cgroup_parse_proc_cgroup("0::/\n", p, sizeof(p)), 0);
	cr_expect_str_eq(p, "/");
	cr_expect_eq(cgroup_parse_proc_cgroup("4:memory:/a\n", p, sizeof(p)), -ENOENT);
}

Test(keyed, cgroup_events)
{
	uint64_t v = 99;
	cr_assert_eq(cgroup_parse_keyed("populated 1\nfrozen 0\n", "populated", &v), 0);
	cr_expect_eq(v, 1);
	cr_assert_eq(cgroup_parse_keyed("populated 1\nfrozen 0\n", "frozen", &v), 0);
	cr_expect_eq(v, 0);
	cr_assert_eq(cgroup_parse_keyed("populated 0", "populated", &v), 0, "no trailing newline");
	cr_expect_eq(v, 0);
}

Test(keyed, memory_events_prefix_keys_do_not_match)
{
	/* "oom" must not match "oom_kill" or "oom_group_kill". */
	const char *t = "low 0\nhigh 12\nmax 3\noom_group_kill 0\noom_kill 2\noom 5\n";
	uint64_t v;
	cr_assert_eq(cgroup_parse_keyed(t, "oom", &v), 0);
	cr_expect_eq(v, 5);
	cr_assert_eq(cgroup_parse_keyed(t, "oom_kill", &v), 0);
	cr_expect_eq(v, 2);
	cr_assert_eq(cgroup_parse_keyed(t, "high", &v), 0);
	cr_expect_eq(v, 12);
	cr_expect_eq(cgroup_parse_keyed(t, "oom_ki", &v), -ENOENT);
	cr_expect_eq(cgroup_parse_keyed("oom_kill x\n", "oom_kill", &v), -EINVAL);
}

Test(keyed, large_values)
{
	uint64_t v;
	cr_assert_eq(cgroup_parse_keyed("usage_usec 18446744073709551615\n", "usage_usec", &v), 0);
	cr_expect_eq(v, UINT64_MAX);
}

Test(controllers, mask_and_names)
{
	cr_expect_eq(cgroup_parse_controllers("hugetlb\n"), 0u);
	unsigned m = cgroup_parse_controllers("cpuset cpu io memory hugetlb pids rdma misc\n");
	cr_expect_eq(m, (unsigned)(CGROUP_MEMORY | CGROUP_CPU | CGROUP_PIDS));
	char buf[64];
	cr_expect_str_eq(cgroup_controller_names(CGROUP_MEMORY | CGROUP_PIDS, buf, sizeof(buf)), "memory, pids");
	cr_expect_str_eq(cgroup_controller_names(0, buf, sizeof(buf)), "");
}

Test(leaf, path)
{
	char p[PATH_MAX];
	cr_assert_eq(cgroup_leaf_path("/sys/fs/cgroup", "make", "0011aabb", p, sizeof(p)), 0);
	cr_expect_str_eq(p, "/sys/fs/cgroup/supervise/make-0011aabb");
	char small[8];
	cr_expect_eq(cgroup_leaf_path("/sys/fs/cgroup", "make", "00", small, sizeof(small)), -ENAMETOOLONG);
}
