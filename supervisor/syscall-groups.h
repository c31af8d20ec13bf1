/* syscall-groups: systemd's system call groups (@mount, @system-service...)
 * and the default deny list of --sandbox, as names. Pure data: resolving a
 * name to a number per architecture is libseccomp's job (sandbox.c). */
#pragma once

#include <stddef.h>

struct syscall_group {
	const char *name;        /* "@mount" */
	const char *help;        /* one line, for docs/sandbox.md and --help */
	const char *const *members;  /* NULL-terminated: syscall names and "@group"s */
};

/* The group named name ("@mount"), or NULL. */
const struct syscall_group *syscall_group_find(const char *name);
/* Every group, in the order docs/sandbox.md lists them. */
const struct syscall_group *syscall_groups(size_t *ret_n);

/* The --sandbox default deny list: groups and names (NULL-terminated), each
 * with the reason it is denied (docs/sandbox.md prints the same table). */
struct syscall_deny {
	const char *item;        /* "@mount" or "bpf" */
	const char *reason;
};
extern const struct syscall_deny sandbox_default_deny[];

/* Call fn for every syscall name a group or name stands for (groups
 * expanded recursively, names may repeat). Returns 0, or -ENOENT for an
 * unknown "@group" (nested unknown groups are a bug in the table). */
int syscall_group_expand(const char *item, void (*fn)(const char *name, void *userdata), void *userdata);
