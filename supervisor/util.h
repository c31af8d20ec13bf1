/* Cleanup attributes and small helpers shared by every capability. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <dirent.h>
#include <sys/types.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closedirp(DIR **d) { if (*d) closedir(*d); }

#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Hand ownership out of a cleanup-scoped variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define streq(a, b) (strcmp((a), (b)) == 0)

/* Read a whole small file (sysfs, cgroupfs, procfs) into a NUL-terminated
 * buffer. Returns length or -errno. */
int read_file_at(int dirfd, const char *path, char *buf, size_t size);
/* Write a string to a file in one write(2), as cgroupfs wants. Returns 0 or -errno. */
int write_file_at(int dirfd, const char *path, const char *s);
/* write(2) until all of buf is written; 0 or -errno (ENOSPC stays ENOSPC). */
int write_all(int fd, const void *buf, size_t len);
/* Replace path with text atomically: a fresh mkstemp file beside it (O_EXCL,
 * so never through a planted name or symlink), mode applied, then renamed
 * over path (rename replaces a symlink, never follows it). 0 or -errno
 * (-ENAMETOOLONG when the temporary name would not fit). */
int write_file_atomic(const char *path, const char *text, size_t len, mode_t mode);
/* Copy s into buf (size > 0) with every byte a terminal could act on
 * escaped: C0 controls and DEL as \n \t \e or \xNN, a backslash as \\, bytes
 * that are not valid UTF-8 and the C1 controls (U+0080..U+009F) as \xNN.
 * For comm and paths on their way to a terminal. Returns buf; never cut
 * inside an escape (cut text ends in "..."). */
const char *escape_text(const char *s, char *buf, size_t size);
/* A buffer that holds any string of n bytes escaped (\xNN: 4 per byte). */
#define ESCAPED_SIZE(n) (4 * (n) + 1)
/* Parse an unsigned decimal that fills the whole string; 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t *ret);
/* vm.max_map_count, 0 when unreadable. */
uint64_t read_max_map_count(void);
/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);
/* Format bytes as "1.5GiB" / "64MiB" / "512B" for messages. */
const char *format_bytes(uint64_t bytes, char *buf, size_t size);
