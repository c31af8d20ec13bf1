/* exporter: `supervise exporter` — a long-running HTTP endpoint (libmicrohttpd)
 * serving /metrics for every live workload on the host, read at scrape time
 * (livestate: run directories + pinned maps or /proc; no background polling).
 *
 * Loopback by default. One event-driven thread serves every connection with
 * non-blocking sockets: a client that connects and sends nothing, or reads
 * slowly, holds only its own connection (closed after 10 s idle) and never
 * delays another scrape. Connections are capped overall and per address. */
#pragma once

#include <sys/socket.h>

struct config;

#define EXPORTER_LISTEN_DEFAULT "127.0.0.1:9464"

/* Pure: "HOST:PORT" or "[V6]:PORT" into host and port (port 0..65535). 0 or
 * -EINVAL. */
int exporter_split_listen(const char *s, char *ret_host, size_t size, unsigned *ret_port);
int exporter_command(const struct config *c);
