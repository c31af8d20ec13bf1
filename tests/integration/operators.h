/*
 * What the operators' tests (top, exporter, --metrics-file, --log, report)
 * share on top of harness.h: a private BPF pin directory (h_private_pin_dir:
 * another tree's supervise must not replace our probe set), starting a named
 * workload and
 * waiting until `supervise ls` lists it, the RSS /proc shows for a leaf, and
 * running a shell command for its output.
 */
#pragma once

#include "harness.h"

#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void op_setup(void)
{
	h_setup();
	h_private_pin_dir();
}

static void op_teardown(void)
{
	h_teardown();
	h_remove_pin_dir();
}

H_FN bool op_have(const char *program)
{
	char *cmd = h_strf("command -v %s >/dev/null 2>&1", program);
	int r = system(cmd);
	free(cmd);
	return r == 0;
}

/* Run a shell command; its stdout (newly allocated) and exit code. */
H_FN char *op_sh(const char *cmd, int *ret_code)
{
	FILE *p = popen(cmd, "r");
	cr_assert(p, "popen %s: %s", cmd, strerror(errno));
	struct h_buf b = { 0 };
	h_buf_add(&b, "", 0);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		h_buf_add(&b, buf, n);
	int st = pclose(p);
	if (ret_code)
		*ret_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	return b.data;
}

/* The leaf of a running workload: <base>/supervise/<name>-<id>. */
H_FN char *op_leaf(const char *name)
{
	DIR *d = opendir(h_leaf_parent());
	cr_assert(d, "%s: %s", h_leaf_parent(), strerror(errno));
	struct dirent *de;
	char *leaf = NULL;
	size_t nl = strlen(name);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, name, nl) && de->d_name[nl] == '-' && strlen(de->d_name + nl + 1) == 8)
			leaf = h_strf("%s/%s", h_leaf_parent(), de->d_name);
	closedir(d);
	cr_assert(leaf, "no leaf of %s in %s (%s)", name, h_leaf_parent(), h_list_dir(h_leaf_parent()));
	return leaf;
}

/* Start a workload named name (argv after "--"), waiting until its leaf holds
 * a process. */
H_FN void op_start_workload_with(struct h_proc *p, const char *name, const char *backend, const char *const *cmd)
{
	const char *args[32] = { "--cgroup-base", H.base, "--name", name, "-q", "--backend", backend, "--" };
	size_t n = 8;
	for (size_t i = 0; cmd[i] && n < 31; i++)
		args[n++] = cmd[i];
	args[n] = NULL;
	h_startv(p, NULL, args);
	/* Watched from the moment run.json names the backend; running once the
	 * workload's first process is in. */
	char *rj = h_strf("%s/%s/run.json", H.runtime_dir, name);
	char buf[8192] = "";
	for (double end = h_now() + H_TIMEOUT_S; !strstr(buf, "\"backend\""); h_sleep_ms(20)) {
		H_ASSERT(p, h_now() < end && !h_poll_exit(p), "%s never named a backend: %s", rj, buf);
		h_read_file(rj, buf, sizeof(buf));
	}
	free(rj);
	char *leaf = op_leaf(name);
	for (double end = h_now() + H_TIMEOUT_S; h_cg_populated(leaf) != 1; h_sleep_ms(20))
		H_ASSERT(p, h_now() < end, "%s never held a process", leaf);
	free(leaf);
}

H_FN void op_start_workload(struct h_proc *p, const char *name, const char *const *cmd)
{
	op_start_workload_with(p, name, "auto", cmd);
}

/* Summed VmRSS (bytes) of the processes in a leaf, as /proc shows them. */
H_FN uint64_t op_proc_rss(const char *leaf)
{
	char path[PATH_MAX], buf[65536];
	snprintf(path, sizeof(path), "%s/cgroup.procs", leaf);
	if (h_read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	uint64_t sum = 0;
	for (char *s = buf, *e; *s; s = e) {
		long pid = strtol(s, &e, 10);
		if (e == s)
			break;
		char st[PATH_MAX], text[8192];
		snprintf(st, sizeof(st), "/proc/%ld/status", pid);
		if (h_read_file(st, text, sizeof(text)) < 0)
			continue;
		char *v = strstr(text, "\nVmRSS:");
		if (v)
			sum += strtoull(v + 7, NULL, 10) * 1024;
	}
	return sum;
}

/* Wait until the leaf's /proc RSS reaches at least bytes. */
H_FN bool op_wait_rss(const char *leaf, uint64_t bytes, double timeout_s)
{
	for (double end = h_now() + timeout_s; op_proc_rss(leaf) < bytes; h_sleep_ms(50))
		if (h_now() > end)
			return false;
	return true;
}

/* A TCP port that was free on loopback a moment ago. */
H_FN unsigned op_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		  getsockname(fd, (struct sockaddr *)&a, &len) == 0, "a free port: %s", strerror(errno));
	close(fd);
	return ntohs(a.sin_port);
}

/* The value of the sample whose line starts with prefix (name{labels...),
 * or -1 when absent. */
H_FN double op_metric(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, prefix, n)) {
			const char *sp = strchr(l + n, ' ');
			const char *nl = strchr(l + n, '\n');
			if (sp && (!nl || sp < nl))
				return strtod(sp + 1, NULL);
		}
	return -1;
}
