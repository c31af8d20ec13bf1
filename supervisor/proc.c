/* proc: see proc.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "util.h"

int proc_stat_parse(const char *text, struct proc_stat *ret)
{
	struct proc_stat s = {};
	const char *open_ = strchr(text, '('), *close_ = strrchr(text, ')');
	if (!open_ || !close_ || close_ < open_ || close_[1] != ' ')
		return -EINVAL;
	char *end;
	long pid = strtol(text, &end, 10);
	if (end == text || pid <= 0)
		return -EINVAL;
	s.pid = (pid_t)pid;
	size_t len = (size_t)(close_ - open_ - 1);
	if (len >= sizeof(s.comm))
		len = sizeof(s.comm) - 1;
	memcpy(s.comm, open_ + 1, len);
	/* Field 3 (state) follows ") ", ppid is field 4, the CPU times 14-17,
	 * starttime field 22. */
	const char *p = close_ + 2;
	s.state = *p;
	int ppid;
	if (sscanf(p, "%*c %d", &ppid) != 1)
		return -EINVAL;
	s.ppid = (pid_t)ppid;
	uint64_t *times[] = { &s.utime, &s.stime, &s.cutime, &s.cstime };   /* fields 14-17 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
		if (field + 1 >= 14 && field + 1 <= 17 && sscanf(p, "%" SCNu64, times[field + 1 - 14]) != 1)
			return -EINVAL;
	}
	if (sscanf(p, "%" SCNu64, &s.starttime) != 1)
		return -EINVAL;
	*ret = s;
	return 0;
}

static const char *status_line(const char *text, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, klen) == 0 && p[klen] == ':')
			return p + klen + 1;
	return NULL;
}

int proc_status_value(const char *text, const char *key, uint64_t *ret)
{
	const char *v = status_line(text, key);
	if (!v)
		return -ENOENT;
	char *end;
	uint64_t n = strtoull(v, &end, 10);
	if (end == v)
		return -EINVAL;
	while (*end == ' ' || *end == '\t')
		end++;
	*ret = strncmp(end, "kB", 2) == 0 ? n * 1024 : n;
	return 0;
}

int proc_status_name(const char *text, char *ret, size_t size)
{
	const char *v = status_line(text, "Name");
	if (!v || !size)
		return -ENOENT;
	while (*v == '\t' || *v == ' ')
		v++;
	size_t len = strcspn(v, "\n");
	if (len >= size)
		len = size - 1;
	memcpy(ret, v, len);
	ret[len] = '\0';
	return 0;
}

int proc_read_stat(pid_t pid, struct proc_stat *ret)
{
	char path[64], text[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int r = read_file_at(AT_FDCWD, path, text, sizeof(text));
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	return proc_stat_parse(text, ret);
}

int pid_starttime(pid_t pid, uint64_t *ret)
{
	struct proc_stat s;
	int r = proc_read_stat(pid, &s);
	if (r < 0)
		return r;
	*ret = s.starttime;
	return 0;
}
