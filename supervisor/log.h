/* Logging: one line per event, subsystem first ("cgroup: ..."). */
#pragma once

#include <errno.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Prints "supervise: <message>" on stderr when level is enabled. %m is
 * expanded from errno as printf does. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets errno from the negative error r so %m works, logs, returns r. */
int log_errno_level(enum log_level level, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_errno(r, ...) log_errno_level(LOG_ERR, (r), __VA_ARGS__)
