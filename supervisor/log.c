#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

static enum log_level max_level = LOG_WARN;

void log_set_level(enum log_level level) { max_level = level; }
enum log_level log_get_level(void) { return max_level; }

static void vlog(enum log_level level, const char *fmt, va_list ap)
{
	/* Build the line first so concurrent writers (the guard, the child
	 * before exec) do not interleave within one message. */
	static const char prefix[] = "supervise: ";
	char msg[2048], line[sizeof(prefix) + ESCAPED_SIZE(sizeof(msg))];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Messages carry comm, names and paths the workload chose: escaped,
	 * so none reaches the terminal as a control sequence. */
	memcpy(line, prefix, sizeof(prefix) - 1);
	escape_text(msg, line + sizeof(prefix) - 1, sizeof(line) - sizeof(prefix));
	size_t n = strlen(line);
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
