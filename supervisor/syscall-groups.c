/* The groups follow systemd.exec(5)'s SystemCallFilter= sets, so that an
 * operator's `SystemCallFilter=@system-service ~@privileged` means the same
 * here. Some names exist on one ABI only (socketcall, _llseek, mmap2 on
 * i386) or on none this kernel has (the @obsolete ones): libseccomp resolves
 * them per architecture and sandbox.c skips what it does not know. */
#include <errno.h>
#include <string.h>

#include "syscall-groups.h"
#include "util.h"

#define SET(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct syscall_group groups[] = {
	{ "@default", "always allowed in an allow list: exit, execve, time, futex, identity getters",
	  SET("clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
	      "clock_nanosleep_time64", "execve", "exit", "exit_group", "futex", "futex_time64", "get_robust_list",
	      "get_thread_area", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
	      "getgroups32", "getpgid", "getpgrp", "getpid", "getppid", "getresgid", "getresgid32", "getresuid",
	      "getresuid32", "getrlimit", "getsid", "gettid", "gettimeofday", "getuid", "getuid32", "membarrier",
	      "nanosleep", "pause", "prlimit64", "restart_syscall", "rseq", "rt_sigreturn", "sched_yield",
	      "set_robust_list", "set_thread_area", "set_tid_address", "set_tls", "sigreturn", "time", "ugetrlimit") },
	{ "@aio", "asynchronous I/O, io_uring included",
	  SET("io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup",
	      "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup") },
	{ "@basic-io", "read, write, seek, close, dup",
	  SET("_llseek", "close", "close_range", "dup", "dup2", "dup3", "lseek", "pread64", "preadv", "preadv2",
	      "pwrite64", "pwritev", "pwritev2", "read", "readv", "write", "writev") },
	{ "@chown", "change the owner of files",
	  SET("chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32") },
	{ "@clock", "set the system clock",
	  SET("adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64", "settimeofday",
	      "stime") },
	{ "@cpu-emulation", "CPU emulation (vm86, LDT)", SET("modify_ldt", "subpage_prot", "switch_endian", "vm86", "vm86old") },
	{ "@debug", "debugging, tracing, performance monitoring",
	  SET("lookup_dcookie", "perf_event_open", "pidfd_getfd", "ptrace", "rtas", "sys_debug_setcontext") },
	{ "@file-system", "files and directories: open, stat, create, rename, link, mmap",
	  SET("access", "chdir", "chmod", "close", "creat", "faccessat", "faccessat2", "fallocate", "fchdir", "fchmod",
	      "fchmodat", "fchmodat2", "fcntl", "fcntl64", "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr",
	      "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "ftruncate", "ftruncate64", "futimesat",
	      "getcwd", "getdents", "getdents64", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
	      "inotify_rm_watch", "lgetxattr", "link", "linkat", "listxattr", "llistxattr", "lremovexattr",
	      "lsetxattr", "lstat", "lstat64", "mkdir", "mkdirat", "mknod", "mknodat", "mmap", "mmap2", "munmap",
	      "newfstatat", "oldfstat", "oldlstat", "oldstat", "open", "openat", "openat2", "readlink", "readlinkat",
	      "removexattr", "rename", "renameat", "renameat2", "rmdir", "setxattr", "stat", "stat64", "statfs",
	      "statfs64", "statx", "symlink", "symlinkat", "truncate", "truncate64", "unlink", "unlinkat", "utime",
	      "utimensat", "utimensat_time64", "utimes") },
	{ "@io-event", "event loops: epoll, poll, select, eventfd",
	  SET("_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
	      "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "poll", "ppoll", "ppoll_time64",
	      "pselect6", "pselect6_time64", "select") },
	{ "@ipc", "pipes, SysV IPC, POSIX message queues, memfd, process_vm_*",
	  SET("ipc", "memfd_create", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
	      "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget",
	      "msgrcv", "msgsnd", "pipe", "pipe2", "process_vm_readv", "process_vm_writev", "semctl", "semget",
	      "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget") },
	{ "@keyring", "the kernel keyring", SET("add_key", "keyctl", "request_key") },
	{ "@memlock", "lock memory", SET("mlock", "mlock2", "mlockall", "munlock", "munlockall") },
	{ "@module", "load and unload kernel modules", SET("delete_module", "finit_module", "init_module") },
	{ "@mount", "mount and unmount file systems, the new mount API, chroot",
	  SET("chroot", "fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr", "move_mount",
	      "open_tree", "pivot_root", "umount", "umount2") },
	{ "@network-io", "sockets",
	  SET("accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recv",
	      "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg", "sendto",
	      "setsockopt", "shutdown", "socket", "socketcall", "socketpair") },
	{ "@obsolete", "unusual, obsolete or unimplemented calls",
	  SET("_sysctl", "afs_syscall", "bdflush", "break", "create_module", "ftime", "get_kernel_syms", "getpmsg",
	      "gtty", "idle", "lock", "mpx", "prof", "profil", "putpmsg", "query_module", "security", "sgetmask",
	      "ssetmask", "stty", "sysfs", "tuxcall", "ulimit", "uselib", "ustat", "vserver") },
	{ "@pkey", "memory protection keys", SET("pkey_alloc", "pkey_free", "pkey_mprotect") },
	{ "@privileged", "calls that need capabilities",
	  SET("@chown", "@clock", "@module", "@raw-io", "@reboot", "@swap", "_sysctl", "acct", "bpf", "capset",
	      "chroot", "fanotify_init", "fanotify_mark", "nfsservctl", "open_by_handle_at", "pivot_root",
	      "quotactl", "quotactl_fd", "setdomainname", "setfsuid", "setfsuid32", "setgroups", "setgroups32",
	      "sethostname", "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32", "vhangup") },
	{ "@process", "process control: fork, exec, kill, namespaces",
	  SET("arch_prctl", "capget", "clone", "clone3", "execveat", "fork", "getrusage", "kill", "pidfd_open",
	      "pidfd_send_signal", "prctl", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "setns", "swapcontext", "tgkill",
	      "times", "tkill", "unshare", "vfork", "wait4", "waitid", "waitpid") },
	{ "@raw-io", "raw I/O ports and PCI configuration", SET("ioperm", "iopl", "pciconfig_iobase", "pciconfig_read", "pciconfig_write") },
	{ "@reboot", "reboot and kexec", SET("kexec_file_load", "kexec_load", "reboot") },
	{ "@resources", "change resource limits, priorities, NUMA policy",
	  SET("ioprio_set", "mbind", "migrate_pages", "move_pages", "nice", "sched_setaffinity", "sched_setattr",
	      "sched_setparam", "sched_setscheduler", "set_mempolicy", "set_mempolicy_home_node", "setpriority",
	      "setrlimit") },
	{ "@setuid", "change user and group ids",
	  SET("setgid", "setgid32", "setgroups", "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32",
	      "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32") },
	{ "@signal", "signal handling",
	  SET("rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigsuspend", "rt_sigtimedwait",
	      "rt_sigtimedwait_time64", "sigaction", "sigaltstack", "signal", "signalfd", "signalfd4", "sigpending",
	      "sigprocmask", "sigsuspend") },
	{ "@swap", "enable and disable swap", SET("swapoff", "swapon") },
	{ "@sync", "flush files to storage",
	  SET("fdatasync", "fsync", "msync", "sync", "sync_file_range", "sync_file_range2", "syncfs") },
	{ "@timer", "timers and alarms",
	  SET("alarm", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun",
	      "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
	      "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times") },
	{ "@system-service", "what a general service needs (the usual allow list)",
	  SET("@aio", "@basic-io", "@chown", "@default", "@file-system", "@io-event", "@ipc", "@keyring", "@memlock",
	      "@network-io", "@process", "@resources", "@setuid", "@signal", "@sync", "@timer", "brk", "capget",
	      "capset", "copy_file_range", "fadvise64", "fadvise64_64", "flock", "get_mempolicy", "getcpu",
	      "getpriority", "getrandom", "ioctl", "ioprio_get", "kcmp", "madvise", "mprotect", "mremap",
	      "name_to_handle_at", "oldolduname", "olduname", "personality", "readahead", "readdir",
	      "remap_file_pages", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
	      "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
	      "sched_rr_get_interval_time64", "sched_yield", "sendfile", "sendfile64", "setfsgid", "setfsgid32",
	      "setfsuid", "setfsuid32", "setpgid", "setsid", "splice", "sysinfo", "tee", "umask", "uname",
	      "userfaultfd", "vmsplice") },
};

/* What a build or a server never needs and a compromised one would love.
 * Left allowed on purpose: ptrace and process_vm_* (debuggers, sanitizers,
 * within what the kernel's ptrace rules already allow), personality (setarch
 * in reproducible builds), NUMA policy (JVMs with UseNUMA), io_uring. */
const struct syscall_deny sandbox_default_deny[] = {
	{ "bpf", "loads kernel programs and reads kernel maps (our own probes among them)" },
	{ "perf_event_open", "kernel tracing and profiling of other processes; a common exploit vector" },
	{ "@reboot", "kexec_load, kexec_file_load, reboot: replaces or stops the running kernel" },
	{ "@module", "init_module, finit_module, delete_module: kernel code" },
	{ "@mount", "mount, umount2, pivot_root, chroot and the new mount API (fsopen, fsmount, move_mount, "
		    "open_tree, mount_setattr): changes what every process sees" },
	{ "@swap", "swapon, swapoff: host-wide memory policy" },
	{ "@clock", "settimeofday, clock_settime, clock_adjtime, adjtimex: the host's clock" },
	{ "@raw-io", "iopl, ioperm, pciconfig_*: hardware access" },
	{ "@obsolete", "uselib, ustat, sysfs, _sysctl and other dead calls: only old exploits use them" },
	{ "acct", "process accounting for the whole host" },
	{ "open_by_handle_at", "opens files by handle, around path checks (the 'shocker' container escape)" },
	{ "@keyring", "keyctl, add_key, request_key: kernel keyrings are not namespaced" },
	{ "userfaultfd", "lets an unprivileged process stall the kernel inside a page fault (exploit timing)" },
	{ "lookup_dcookie", "kernel profiling internals" },
	{ "quotactl", "file system quotas" },
	{ "quotactl_fd", "file system quotas" },
	{ "nfsservctl", "the kernel NFS server" },
	{ "syslog", "the kernel log buffer (addresses that defeat KASLR)" },
	{ "fanotify_init", "watches every file access on a mount" },
	{ "vhangup", "hangs up the terminal" },
	{ "sethostname", "the host's name (no UTS namespace here)" },
	{ "setdomainname", "the host's NIS domain name" },
	{ "unshare", "new namespaces: an unprivileged user namespace gives back every capability inside it" },
	{ "setns", "joins other namespaces" },
	{ NULL, NULL },
};

const struct syscall_group *syscall_group_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(groups); i++)
		if (streq(groups[i].name, name))
			return &groups[i];
	return NULL;
}

const struct syscall_group *syscall_groups(size_t *ret_n)
{
	*ret_n = ELEMENTSOF(groups);
	return groups;
}

int syscall_group_expand(const char *item, void (*fn)(const char *name, void *userdata), void *userdata)
{
	if (item[0] != '@') {
		fn(item, userdata);
		return 0;
	}
	const struct syscall_group *g = syscall_group_find(item);
	if (!g)
		return -ENOENT;
	for (const char *const *m = g->members; *m; m++) {
		int r = syscall_group_expand(*m, fn, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}
