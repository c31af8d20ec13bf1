/* libsupervise-advice: the reading side of the live advice page
 * (include/supervise/advice.h). The writer is supervisor/advice-page.c.
 *
 * Seqlock, reader side: load seq (acquire); odd means an update is being
 * written, so retry; copy the record with relaxed atomic loads; an acquire
 * fence; load seq again: unchanged means the copy is one update's record. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "supervise/advice.h"

struct sv_advice_handle {
	const struct sv_advice_page *page;
	size_t size;
};

#define WORDS (sizeof(struct sv_advice) / sizeof(uint64_t))
_Static_assert(sizeof(struct sv_advice) % sizeof(uint64_t) == 0, "the record is copied in 64-bit words");
_Static_assert(__builtin_offsetof(struct sv_advice_page, record) % 8 == 0, "the record is 8-byte aligned");

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sv_advice_open(const char *path, sv_advice_handle **ret)
{
	struct stat st;
	sv_advice_handle *h;
	void *p;
	int fd, err;

	if (!path)
		path = getenv(SV_ADVICE_ENV);
	if (!path || !*path)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	if (st.st_size < (off_t)sizeof(struct sv_advice_page)) {
		close(fd);
		return -EPROTO;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	err = errno;
	close(fd);
	if (p == MAP_FAILED)
		return -err;
	const struct sv_advice_page *page = p;
	if (__atomic_load_n(&page->magic, __ATOMIC_ACQUIRE) != SV_ADVICE_MAGIC ||
	    page->version != SV_ADVICE_VERSION || page->record_size < sizeof(struct sv_advice)) {
		munmap(p, (size_t)st.st_size);
		return -EPROTO;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		munmap(p, (size_t)st.st_size);
		return -ENOMEM;
	}
	h->page = page;
	h->size = (size_t)st.st_size;
	*ret = h;
	return 0;
}

int sv_advice_read(sv_advice_handle *h, struct sv_advice *ret)
{
	union {
		struct sv_advice a;
		uint64_t w[WORDS];
	} copy;
	const uint64_t *src;
	int64_t deadline = 0;
	uint32_t s0, s1;

	if (!h || !ret)
		return -EINVAL;
	src = (const uint64_t *)&h->page->record;
	for (unsigned spins = 0;; spins++) {
		s0 = __atomic_load_n(&h->page->seq, __ATOMIC_ACQUIRE);
		if (s0 & 1) {
			/* An update takes well under a microsecond; a writer that
			 * stays odd for a second has died in the middle of one. */
			if (spins % 1024 == 1023) {
				if (!deadline)
					deadline = mono_ms() + 1000;
				else if (mono_ms() > deadline)
					return -EAGAIN;
				sched_yield();
			}
			continue;
		}
		for (size_t i = 0; i < WORDS; i++)
			copy.w[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s1 = __atomic_load_n(&h->page->seq, __ATOMIC_RELAXED);
		if (s0 == s1)
			break;
	}
	*ret = copy.a;
	return 0;
}

int sv_advice_wait(sv_advice_handle *h, uint64_t seen_generation, int timeout_ms)
{
	int64_t deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : 0;

	if (!h)
		return -EINVAL;
	for (;;) {
		uint32_t s = __atomic_load_n(&h->page->seq, __ATOMIC_ACQUIRE);
		/* generation is one aligned 64-bit word: its load is never torn. */
		if (!(s & 1) && __atomic_load_n(&h->page->record.generation, __ATOMIC_RELAXED) != seen_generation)
			return 1;
		struct timespec ts, *tsp = NULL;
		if (timeout_ms >= 0) {
			int64_t left = deadline - mono_ms();
			if (left <= 0)
				return 0;
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (left % 1000) * 1000000;
			tsp = &ts;
		}
		/* Shared (not FUTEX_PRIVATE): the writer is another process. The
		 * kernel sleeps only while seq still equals s, so an update that
		 * lands between the load and the wait is not missed. */
		long r = syscall(SYS_futex, &h->page->seq, FUTEX_WAIT, s, tsp, NULL, 0);
		if (r < 0 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
			return -errno;
	}
}

void sv_advice_close(sv_advice_handle *h)
{
	if (!h)
		return;
	munmap((void *)h->page, h->size);
	free(h);
}
