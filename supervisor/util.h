/* Cleanup attributes and small helpers shared by every capability. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <dirent.h>
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
/* Parse an unsigned decimal that fills the whole string; 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t *ret);
/* vm.max_map_count, 0 when unreadable. */
uint64_t read_max_map_count(void);
/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);
/* Format bytes as "1.5GiB" / "64MiB" / "512B" for messages. */
const char *format_bytes(uint64_t bytes, char *buf, size_t size);
