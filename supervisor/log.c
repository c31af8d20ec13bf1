#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static enum log_level max_level = LOG_WARN;

void log_set_level(enum log_level level) { max_level = level; }
enum log_level log_get_level(void) { return max_level; }

static void vlog(enum log_level level, const char *fmt, va_list ap)
{
	/* Build the line first so concurrent writers (the guard, the child
	 * before exec) do not interleave within one message. */
	char line[2048];
	int n = snprintf(line, sizeof(line), "supervise: ");
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
	fflush(stderr);
	(void)level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > max_level)
		return;
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
	errno = saved;
}

int log_errno_level(enum log_level level, int r, const char *fmt, ...)
{
	if (level > max_level)
		return r;
	errno = r < 0 ? -r : r;
	va_list ap;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
	return r;
}
