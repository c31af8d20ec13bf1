#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "advice-page.h"
#include "log.h"
#include "util.h"

struct advice_page {
	struct sv_advice_page *page;
	size_t size;
	struct sv_advice last;
	char path[PATH_MAX];
};

#define WORDS (sizeof(struct sv_advice) / sizeof(uint64_t))

int advice_page_create(const char *path, struct advice_page **ret)
{
	_cleanup_free_ struct advice_page *p = calloc(1, sizeof(*p));
	char tmp[PATH_MAX + 8];
	long pagesize = sysconf(_SC_PAGESIZE);

	if (!p)
		return -ENOMEM;
	/* A cut path would put the page (or the temporary) somewhere else. */
	if ((size_t)snprintf(p->path, sizeof(p->path), "%s", path) >= sizeof(p->path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(p->path))
		return log_errno(-ENAMETOOLONG, "advice: the page's path %s is longer than a path can be", path);
	p->size = pagesize > 0 && (size_t)pagesize >= sizeof(struct sv_advice_page) ? (size_t)pagesize : 4096;
	/* 0644: any user of the workload reads it; only the supervisor writes. */
	_cleanup_close_ int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return log_errno(-errno, "advice: creating %s failed: %m", tmp);
	/* Allocate the page, not just size it: a sparse page on a full
	 * filesystem (/run is a small tmpfs) raises SIGBUS at our first store
	 * into the mapping, killing supervise before the workload starts. */
	int e = posix_fallocate(fd, 0, (off_t)p->size);
	if (e != 0) {
		int r = log_errno(-e, "advice: allocating the page %s failed: %m%s", tmp,
				  e == ENOSPC ? " (the runtime directory's filesystem is full)" : "");
		unlink(tmp);
		return r;
	}
	void *m = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		int r = log_errno(-errno, "advice: mapping %s failed: %m", tmp);
		unlink(tmp);
		return r;
	}
	p->page = m;
	p->page->version = SV_ADVICE_VERSION;
	p->page->record_size = sizeof(struct sv_advice);
	p->page->writer_pid = (uint32_t)getpid();
	__atomic_store_n(&p->page->magic, SV_ADVICE_MAGIC, __ATOMIC_RELEASE);
	if (rename(tmp, path) < 0) {
		int r = log_errno(-errno, "advice: renaming %s to %s failed: %m", tmp, path);
		munmap(m, p->size);
		unlink(tmp);
		return r;
	}
	*ret = TAKE_PTR(p);
	return 0;
}

void advice_page_publish(struct advice_page *p, const struct sv_advice *a)
{
	union {
		struct sv_advice a;
		uint64_t w[WORDS];
	} copy = { .a = *a };
	uint64_t *dst = (uint64_t *)&p->page->record;
	/* Only this process writes seq: a plain read of our own last value. */
	uint32_t s = p->page->seq;

	copy.a.generation = p->last.generation + 1;
	copy.a.updated_ns = now_ns();
	/* Odd: readers retry. The release fence orders the odd store before the
	 * record's stores (the reader's acquire fence pairs with it). */
	__atomic_store_n(&p->page->seq, s + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (size_t i = 0; i < WORDS; i++)
		__atomic_store_n(&dst[i], copy.w[i], __ATOMIC_RELAXED);
	__atomic_store_n(&p->page->seq, s + 2, __ATOMIC_RELEASE);
	p->last = copy.a;
	/* Shared futex: the sleepers are other processes. */
	syscall(SYS_futex, &p->page->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

const struct sv_advice *advice_page_last(const struct advice_page *p)
{
	return &p->last;
}

const char *advice_page_path(const struct advice_page *p)
{
	return p->path;
}

void advice_page_close(struct advice_page *p)
{
	if (!p)
		return;
	struct sv_advice a = p->last;
	a.flags |= SV_ADVICE_ENDED;
	advice_page_publish(p, &a);
	munmap(p->page, p->size);
	free(p);
}
