/* SIZE arguments: "1073741824", "512M", "512MiB", "1.5GiB", "80%". */
#pragma once

#include <stdint.h>

/* The accepted forms, for error messages. */
#define SIZE_FORMS "bytes (1073741824), K/M/G/T or KiB/MiB/GiB/TiB (1024-based: 512M, 512MiB, 1.5GiB), or N% of memory (80%)"

struct size_arg {
	uint64_t bytes;      /* when !is_percent */
	double percent;      /* when is_percent, in (0, 100] */
	int is_percent;
};

/* Pure: parse s. Returns 0, or -EINVAL (not a size) / -ERANGE (too large,
 * zero, or a percentage outside (0, 100]). */
int size_parse(const char *s, struct size_arg *ret);
/* Pure: bytes of a parsed size, given the memory a percentage refers to. */
uint64_t size_resolve(const struct size_arg *a, uint64_t reference_bytes);
/* Pure: a plain decimal ("2", "0.5") filling the whole string: no sign,
 * blanks, exponent, hex, inf or nan. 0, -EINVAL, or -ERANGE (63+ digits). */
int decimal_parse(const char *s, double *ret);
