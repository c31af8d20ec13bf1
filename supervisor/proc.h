/* proc: reading /proc/PID/{stat,status} — the parsers are pure (unit-tested),
 * the readers bound what they read. Every field a process controls (its comm)
 * is parsed so that it cannot pose as another field. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_stat {
	pid_t pid, ppid;
	char state;
	char comm[16];
	uint64_t utime, stime;      /* fields 14, 15: its own CPU time, clock ticks */
	uint64_t cutime, cstime;    /* fields 16, 17: of its children it waited for */
	uint64_t starttime;         /* field 22, clock ticks since boot */
};

/* Pure: the text of /proc/PID/stat. comm may hold spaces and parentheses:
 * the fields after it are found from the last ')'. 0 or -EINVAL. */
int proc_stat_parse(const char *text, struct proc_stat *ret);
/* Pure: the number of a "Key:\tN kB" line of /proc/PID/status, in bytes (the
 * plain number for keys without a unit, like PPid). The key is matched only
 * at the start of a line: the Name line (the process's comm) cannot spoof it.
 * -ENOENT when the line is absent. */
int proc_status_value(const char *text, const char *key, uint64_t *ret);
/* Pure: the Name line's value (escaped by the kernel, one line) into ret. */
int proc_status_name(const char *text, char *ret, size_t size);

/* /proc/PID/stat read and parsed; -ESRCH when the process is gone. */
int proc_read_stat(pid_t pid, struct proc_stat *ret);
/* Start time of a live pid, or -ESRCH. */
int pid_starttime(pid_t pid, uint64_t *ret);
