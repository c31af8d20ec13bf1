#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"

static const struct {
	const char *suffix;
	unsigned shift;
} suffixes[] = {
	/* 1024-based throughout, as systemd's MemoryMax= does. */
	{ "", 0 },   { "B", 0 },
	{ "K", 10 }, { "KiB", 10 },
	{ "M", 20 }, { "MiB", 20 },
	{ "G", 30 }, { "GiB", 30 },
	{ "T", 40 }, { "TiB", 40 },
};

/* Digits with an optional fraction at s: where they end, NULL when there
 * are none. strtod alone would also take " 2", "inf", "0x10" and exponents. */
static const char *scan_decimal(const char *s)
{
	const char *p = s;
	if (!s || !isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return p;
}

/* strtod of the first n characters (already scanned: digits, a fraction). */
static int decimal_value(const char *s, size_t n, double *ret)
{
	char number[64];
	if (n >= sizeof(number))
		return -ERANGE;
	memcpy(number, s, n);
	number[n] = '\0';
	*ret = strtod(number, NULL);
	return 0;
}

int decimal_parse(const char *s, double *ret)
{
	const char *p = scan_decimal(s);
	if (!p || *p)
		return -EINVAL;
	return decimal_value(s, (size_t)(p - s), ret);
}

int size_parse(const char *s, struct size_arg *ret)
{
	const char *p = scan_decimal(s);
	double v;
	if (!p)
		return -EINVAL;
	int r = decimal_value(s, (size_t)(p - s), &v);
	if (r < 0)
		return r;

	if (strcmp(p, "%") == 0) {
		if (!(v > 0) || v > 100)
			return -ERANGE;
		*ret = (struct size_arg){ .percent = v, .is_percent = 1 };
		return 0;
	}

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcmp(p, suffixes[i].suffix) != 0)
			continue;
		double bytes = ldexp(v, suffixes[i].shift);
		/* 2^63 keeps every later sum and comparison in range. */
		if (bytes >= 9223372036854775808.0)
			return -ERANGE;
		if (bytes < 1)
			return -ERANGE;
		*ret = (struct size_arg){ .bytes = (uint64_t)bytes };
		return 0;
	}
	return -EINVAL;
}

uint64_t size_resolve(const struct size_arg *a, uint64_t reference_bytes)
{
	if (!a->is_percent)
		return a->bytes;
	return (uint64_t)((double)reference_bytes * a->percent / 100.0);
}
