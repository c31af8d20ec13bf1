/* Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c).
 *
 * Every target takes the bytes an attacker or an unlucky file could hold and
 * hands them to one parser of supervise, the way supervise itself gets them
 * (a C string, an argv, a file on disk, a socket message). Besides what ASan
 * and UBSan catch, a target checks the parser's own promises with
 * FUZZ_CHECK: a failed check aborts, and libFuzzer keeps the input. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define FUZZ_CHECK(cond)                                                                         \
	do {                                                                                     \
		if (!(cond))                                                                     \
			fuzz_broken(#cond, __FILE__, __LINE__);                                  \
	} while (0)

/* Through the sanitizers' report channel: make fuzz closes the target's own
 * stderr (-close_fd_mask=2), the reports still get through. */
void __sanitizer_report_error_summary(const char *error_summary);

static inline __attribute__((noreturn)) void fuzz_broken(const char *what, const char *file, int line)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "fuzz: broken promise: %s (%s:%d)", what, file, line);
	__sanitizer_report_error_summary(msg);
	abort();
}

/* The input as a C string (a NUL inside ends it early, as it would for
 * supervise). Free it. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The input as an argv: arguments separated by NUL bytes, at most max of
 * them, NULL-terminated. *ret_copy holds the strings: free both. */
static inline char **fuzz_argv(const uint8_t *data, size_t size, size_t max, int *ret_argc, char **ret_copy)
{
	char *copy = fuzz_str(data, size);
	char **argv = calloc(max + 1, sizeof(*argv));
	int argc = 0;
	if (!argv)
		abort();
	for (size_t o = 0; o <= size && (size_t)argc < max;) {
		argv[argc++] = copy + o;
		o += strlen(copy + o) + 1;
	}
	argv[argc] = NULL;
	*ret_argc = argc;
	*ret_copy = copy;
	return argv;
}

/* Input split at its first NUL byte: *ret_rest is what follows (may be
 * empty). The first part is a C string in the copy returned. */
static inline char *fuzz_split(const uint8_t *data, size_t size, const char **ret_rest, size_t *ret_rest_len)
{
	char *copy = fuzz_str(data, size);
	size_t first = strlen(copy);
	*ret_rest = first < size ? copy + first + 1 : copy + size;
	*ret_rest_len = first < size ? size - first - 1 : 0;
	return copy;
}

/* A private directory for a target that needs a real file or socket:
 * <dir>/<file> is that path; both are removed at exit. In /dev/shm when it
 * is there: a file rewritten every input on a journalling /tmp costs ~2 ms. */
static char fuzz_dir[] = "/dev/shm/supervise-fuzz.XXXXXX";
static char fuzz_path[sizeof(fuzz_dir) + 32];

static inline void fuzz_dir_remove(void)
{
	unlink(fuzz_path);
	rmdir(fuzz_dir);
}

static inline void fuzz_tmpdir(const char *file)
{
	if (!mkdtemp(fuzz_dir)) {
		snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/supervise-fuzz.XXXXXX");
		if (!mkdtemp(fuzz_dir))
			abort();
	}
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/%s", fuzz_dir, file);
	atexit(fuzz_dir_remove);
}

/* supervise's warnings are not what the fuzzer looks at. */
static inline void fuzz_quiet(void)
{
	log_set_level(LOG_ERR);
}
