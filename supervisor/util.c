#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>

#include "util.h"

int read_file_at(int dirfd, const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	return (int)len;
}

int write_file_at(int dirfd, const char *path, const char *s)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* cgroupfs parses each write(2) on its own: one call, whole string. */
	size_t len = strlen(s);
	ssize_t n = write(fd, s, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENOSPC;   /* a regular file returns 0 only when nothing fits */
		p += n, len -= (size_t)n;
	}
	return 0;
}

int write_file_atomic(const char *path, const char *text, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fchmod(fd, mode) < 0 ? -errno : write_all(fd, text, len);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* Length of the valid UTF-8 sequence at s of a printable code point
 * (U+00A0 and up, no surrogates), 0 when it is not one. */
static size_t utf8_printable(const unsigned char *s)
{
	size_t n;
	uint32_t cp;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
		return 0;
	return n;
}

const char *escape_text(const char *s, char *buf, size_t size)
{
	size_t o = 0, mark = 0;   /* mark: the last piece boundary with room for "..." */
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	if (!size)
		return buf;
	while (*p) {
		char esc[8];
		size_t n = utf8_printable(p), elen;
		const char *piece = (const char *)p;
		if (n) {
			elen = n;
		} else if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			elen = n = 1;
		} else {
			n = 1;
			piece = esc;
			elen = (size_t)(*p == '\\' ? snprintf(esc, sizeof(esc), "\\\\")
				       : *p == '\n' ? snprintf(esc, sizeof(esc), "\\n")
				       : *p == '\t' ? snprintf(esc, sizeof(esc), "\\t")
				       : *p == 0x1b ? snprintf(esc, sizeof(esc), "\\e")
						    : snprintf(esc, sizeof(esc), "\\x%02x", *p));
		}
		if (o + 4 <= size)
			mark = o;
		if (o + elen + 1 > size) {   /* does not fit: cut at a boundary, say so */
			if (mark + 4 <= size)
				memcpy(buf + mark, "...", 4);
			else
				buf[0] = '\0';
			return buf;
		}
		memcpy(buf + o, piece, elen);
		o += elen, p += n;
	}
	buf[o] = '\0';
	return buf;
}

int parse_u64(const char *s, uint64_t *ret)
{
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

const char *format_bytes(uint64_t bytes, char *buf, size_t size)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned u = 0;
	double v = bytes;
	while (v >= 1024 && u < ELEMENTSOF(units) - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%" PRIu64 "B", bytes);
	else if (v == (double)(uint64_t)v)
		snprintf(buf, size, "%" PRIu64 "%s", (uint64_t)v, units[u]);
	else
		snprintf(buf, size, "%.1f%s", v, units[u]);
	return buf;
}

uint64_t read_max_map_count(void)
{
	char text[32];
	uint64_t v = 0;
	if (read_file_at(AT_FDCWD, "/proc/sys/vm/max_map_count", text, sizeof(text)) > 0) {
		text[strcspn(text, "\n")] = '\0';
		parse_u64(text, &v);
	}
	return v;
}
