/* advice-page: the writing side of the live advice page
 * (include/supervise/advice.h): a one-page file in the run directory, mapped
 * shared, updated under a seqlock; readers sleeping in sv_advice_wait() are
 * woken with FUTEX_WAKE on the seqlock word after each update. */
#pragma once

#include "supervise/advice.h"

struct advice_page;

/* Create the page at path (written to a temporary name and renamed, so a
 * reader never maps a half-initialised page). 0 or -errno (logged). */
int advice_page_create(const char *path, struct advice_page **ret);
/* Publish a record: generation and updated_ns are set here. Wakes waiters. */
void advice_page_publish(struct advice_page *p, const struct sv_advice *a);
/* The last record published (the writer's own copy). */
const struct sv_advice *advice_page_last(const struct advice_page *p);
const char *advice_page_path(const struct advice_page *p);
/* Mark the page ended (SV_ADVICE_ENDED), wake waiters, unmap. The file
 * itself goes with the run directory. */
void advice_page_close(struct advice_page *p);
