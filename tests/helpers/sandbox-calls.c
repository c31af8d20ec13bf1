/* sandbox-calls: make the privileged calls a sandbox must deny, and say what
 * each returned, one line each: "NAME errno=EPERM" or "NAME ok".
 *
 *   sandbox-calls kexec_load init_module clock_settime unshare mount bpf
 *   sandbox-calls i386-unshare i386-getpid   (int 0x80: the i386 ABI)
 *   sandbox-calls chown-file PATH            (chown PATH to 12345)
 *   sandbox-calls getppid N                  (N calls, for the benchmark)
 *   sandbox-calls pid                        ("pid N": who made the calls)
 *
 * Exit 0 when every call was made (whatever it returned), 2 on bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>

static void report(const char *name, long r, int err)
{
	if (r < 0)
		printf("%s errno=%s\n", name, strerrorname_np(err) ? strerrorname_np(err) : "?");
	else
		printf("%s ok\n", name);
	fflush(stdout);
}

#if defined(__x86_64__)
/* The i386 entry: the number and arguments in eax, ebx; the kernel looks
 * the call up in the i386 table and seccomp sees AUDIT_ARCH_I386. */
static long int80(long nr, long a1)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a1) : "memory");
	return ret;
}
#endif

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		long r;
		errno = 0;
		if (!strcmp(a, "kexec_load")) {
			r = syscall(SYS_kexec_load, 0, 0, NULL, 0);
		} else if (!strcmp(a, "init_module")) {
			r = syscall(SYS_init_module, "", 0, "");
		} else if (!strcmp(a, "clock_settime")) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			/* The same time again: harmless if it ever went through. */
			r = clock_settime(CLOCK_REALTIME, &ts);
		} else if (!strcmp(a, "unshare")) {
			r = unshare(CLONE_NEWNS);
		} else if (!strcmp(a, "mount")) {
			r = mount("none", "/nonexistent-sandbox-test", "tmpfs", 0, NULL);
		} else if (!strcmp(a, "bpf")) {
			union bpf_attr attr;
			memset(&attr, 0, sizeof(attr));
			r = syscall(SYS_bpf, BPF_PROG_GET_NEXT_ID, &attr, sizeof(attr));
		} else if (!strcmp(a, "i386-unshare") || !strcmp(a, "i386-getpid")) {
#if defined(__x86_64__)
			/* i386 numbers: unshare 310, getpid 20 */
			r = int80(!strcmp(a, "i386-unshare") ? 310 : 20, CLONE_NEWNS);
			if (r < 0 && r > -4096) {
				errno = (int)-r;
				r = -1;
			}
#else
			r = -1;
			errno = ENOSYS;
#endif
		} else if (!strcmp(a, "chown-file") && i + 1 < argc) {
			r = chown(argv[++i], 12345, 12345);
		} else if (!strcmp(a, "pid")) {
			printf("pid %d\n", (int)getpid());
			continue;
		} else if (!strcmp(a, "getppid") && i + 1 < argc) {
			long n = atol(argv[++i]);
			for (long k = 0; k < n; k++)
				syscall(SYS_getppid);
			r = 0;
		} else {
			fprintf(stderr, "sandbox-calls: unknown call '%s'\n", a);
			return 2;
		}
		report(a, r, errno);
	}
	return 0;
}
