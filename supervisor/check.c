#include <bpf/libbpf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "check.h"
#include "log.h"
#include "rundir.h"
#include "status.h"
#include "util.h"

struct report {
	int degraded;
};

static void line(struct report *rep, bool ok, const char *what, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void line(struct report *rep, bool ok, const char *what, const char *fix, const char *fmt, ...)
{
	char value[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	printf("%-4s %-22s %s\n", ok ? "ok" : "no", what, value);
	if (!ok) {
		rep->degraded = 1;
		if (fix)
			printf("     %-22s fix: %s\n", "", fix);
	}
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

int check(const struct config *c)
{
	struct report rep = { 0 };
	const char *mount;
	char base[PATH_MAX], names[64], path[PATH_MAX + 64];

	log_set_level(LOG_ERR);
	if (cgroup_v2_mount(&mount) < 0) {
		line(&rep, false, "cgroup v2 mount", "mount -t cgroup2 none /sys/fs/cgroup (or boot with "
			   "systemd.unified_cgroup_hierarchy=1)", "none in /proc/self/mountinfo");
		return EXIT_SUPERVISE_FAILURE;
	}
	line(&rep, true, "cgroup v2 mount", NULL, "%s", mount);

	if (cgroup_resolve_base(c->cgroup_base, base, sizeof(base)) < 0) {
		line(&rep, false, "cgroup base", "pass --cgroup-base to an existing v2 cgroup", "%s",
		     c->cgroup_base ? c->cgroup_base : "(own cgroup unreadable)");
		return EXIT_SUPERVISE_FAILURE;
	}
	line(&rep, true, "cgroup base", NULL, "%s", base);

	unsigned have = 0, all = CGROUP_MEMORY | CGROUP_CPU | CGROUP_PIDS;
	cgroup_available(base, &have);
	char fix[512], list[64];
	/* cgroup_no_v1= takes a comma list without spaces. */
	cgroup_controller_names(all & ~have, names, sizeof(names));
	size_t o = 0;
	for (const char *p = names; *p && o + 1 < sizeof(list); p++)
		if (*p != ' ')
			list[o++] = *p;
	list[o] = '\0';
	snprintf(fix, sizeof(fix), "boot with systemd.unified_cgroup_hierarchy=1 (or cgroup_no_v1=%s) so the "
		 "controllers move to v2; until then supervise enforces --mem itself from its readings", list);
	line(&rep, (have & all) == all, "controllers", fix, "%s available below %s%s%s",
	     have ? cgroup_controller_names(have, names, sizeof(names)) : "none of memory, cpu, pids",
	     base, (have & all) == all ? "" : "; missing: ",
	     (have & all) == all ? "" : cgroup_controller_names(all & ~have, names, sizeof(names)));

	/* Without a leaf supervise still runs (procfs, --mem enforced by
	 * itself): the fix is how to get one. */
	static const char leaf_fix[] =
		"a subtree delegated to you: 'systemd-run --user --scope -p Delegate=yes supervise ...', or "
		"--cgroup-base to a cgroup you own (a container with its own cgroup namespace and a writable "
		"/sys/fs/cgroup), or run as root; until then supervise runs without a leaf: the procfs backend "
		"watches the process tree and supervise enforces --mem itself";
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", base);
	bool delegatable = access(path, W_OK) == 0;
	line(&rep, delegatable, "delegation", leaf_fix, "%s is %swritable by uid %d", path, delegatable ? "" : "not ",
	     (int)geteuid());

	/* Make and remove a probe leaf: the one sure test of permission. */
	uint32_t id = 0;
	getrandom(&id, sizeof(id), 0);
	char sdir[PATH_MAX + 16], leaf[PATH_MAX + 64];
	snprintf(sdir, sizeof(sdir), "%s/supervise", base);
	snprintf(leaf, sizeof(leaf), "%s/check-%08x", sdir, id);
	bool made_sdir = mkdir(sdir, 0755) == 0;
	int err = made_sdir || errno == EEXIST ? 0 : errno;
	if (err)
		snprintf(leaf, sizeof(leaf), "%s", sdir);   /* the mkdir that failed */
	else if (mkdir(leaf, 0755) < 0)
		err = errno;
	else
		rmdir(leaf);
	if (made_sdir)
		rmdir(sdir);
	errno = err;
	line(&rep, err == 0, "create leaves", delegatable ? leaf_fix : "see delegation above",
	     err ? "mkdir %s: %m" : "yes, under %s", err ? leaf : sdir);

	/* Where runs are recorded: refused when another user could plant runs in it. */
	int rr = rundir_check_root();
	line(&rep, rr == 0 || rr == -ENOENT, "runtime directory", "see the 'rundir:' message on stderr", "%s%s", rundir_root(),
	     rr == 0 ? " (not writable by others)" : rr == -ENOENT ? " (made at the first run, mode 0700)"
									  : " is refused");

	struct stat st;
	bool btf = stat("/sys/kernel/btf/vmlinux", &st) == 0;
	line(&rep, btf, "BTF", "use a kernel built with CONFIG_DEBUG_INFO_BTF=y; until then the procfs backend is used",
	     btf ? "/sys/kernel/btf/vmlinux" : "no /sys/kernel/btf/vmlinux");

	libbpf_print_fn_t old = libbpf_set_print(silent_print);
	int tp = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL);
	int rb = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	libbpf_set_print(old);
	errno = tp < 0 ? -tp : rb < 0 ? -rb : EPERM;
	line(&rep, tp == 1 && rb == 1 && err == 0, "BPF",
	     "run with CAP_BPF and CAP_PERFMON (or as root) and a cgroup leaf; until then the procfs backend is used",
	     tp == 1 && rb == 1 && err == 0 ? "programs and ring buffers load"
	     : tp == 1 && rb == 1		 ? "programs load, but the probes track a cgroup leaf and there is none"
					 : "cannot load programs or ring buffers as uid %d (%m)", (int)geteuid());

	uint64_t mmc = read_max_map_count();
	/* Not a degradation: supervise watches against whatever the limit is. */
	printf("%-4s %-22s %" PRIu64 "%s\n", "ok", "vm.max_map_count", mmc,
	       mmc && mmc < 262144 ? " (JVMs, Elasticsearch and wasm hosts often want "
				     "'sysctl -w vm.max_map_count=262144')" : "");

	bool psi = access("/proc/pressure/memory", R_OK) == 0;
	snprintf(path, sizeof(path), "%s/memory.pressure", base);
	bool cg_psi = access(path, R_OK) == 0;
	line(&rep, psi && cg_psi, "PSI", "boot with psi=1 (CONFIG_PSI)", "%s",
	     psi && cg_psi ? "/proc/pressure and per-cgroup memory.pressure" : psi ? "no per-cgroup memory.pressure"
									 : "no /proc/pressure/memory");

	printf("%s\n", rep.degraded ? "supervise can run, degraded: see the fixes above"
				    : "supervise can run with every capability");
	return rep.degraded ? 1 : 0;
}
