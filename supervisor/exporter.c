/* exporter: Prometheus /metrics over libmicrohttpd. Each scrape is one
 * livestate pass rendered by metrics.c; the pass's own duration is reported
 * as supervise_exporter_scrape_duration_seconds. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "exporter.h"
#include "livestate.h"
#include "log.h"
#include "metrics.h"
#include "status.h"
#include "util.h"

int exporter_split_listen(const char *s, char *ret_host, size_t size, unsigned *ret_port)
{
	const char *colon, *host = s;
	size_t hlen;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return -EINVAL;
		host = s + 1;
		hlen = rb - host;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', colon - s))
			return -EINVAL;
		hlen = colon - s;
	}
	uint64_t port;
	if (hlen == 0 || hlen >= size || parse_u64(colon + 1, &port) < 0 || port > 65535)
		return -EINVAL;
	memcpy(ret_host, host, hlen);
	ret_host[hlen] = '\0';
	*ret_port = (unsigned)port;
	return 0;
}

struct exporter {
	unsigned top_procs;
	atomic_uint_fast64_t scrapes;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type, char *body,
			     size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

#define TEXT "text/plain; charset=utf-8"

static enum MHD_Result scrape(struct exporter *e, struct MHD_Connection *conn)
{
	const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	enum metrics_format fmt = accept && strstr(accept, "application/openmetrics-text") ? METRICS_OPENMETRICS
											     : METRICS_PROMETHEUS;
	struct livestate ls;
	if (livestate_read(&ls) < 0) {
		static char msg[] = "supervise exporter: reading the workloads failed (out of memory)\n";
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT, msg, strlen(msg), MHD_RESPMEM_PERSISTENT);
	}
	struct metrics_options o = { .format = fmt, .top_procs = e->top_procs, .scrape_seconds = ls.read_ns / 1e9,
				     .scrapes = atomic_fetch_add(&e->scrapes, 1) + 1 };
	char *body = NULL;
	size_t len = 0;
	int r = metrics_render_string(&ls, &o, &body, &len);
	livestate_free(&ls);
	if (r < 0) {
		static char msg[] = "supervise exporter: rendering the metrics failed\n";
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT, msg, strlen(msg), MHD_RESPMEM_PERSISTENT);
	}
	return reply(conn, MHD_HTTP_OK, metrics_content_type(fmt), body, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct exporter *e = cls;
	if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD)) {
		static char msg[] = "only GET and HEAD\n";
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, msg, strlen(msg), MHD_RESPMEM_PERSISTENT);
	}
	if (streq(url, "/metrics"))
		return scrape(e, conn);
	if (streq(url, "/")) {
		static char page[] = "<!DOCTYPE html><html><head><title>supervise exporter</title></head><body>"
				     "<h1>supervise exporter</h1><p><a href=\"/metrics\">/metrics</a></p></body></html>\n";
		return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", page, strlen(page), MHD_RESPMEM_PERSISTENT);
	}
	static char msg[] = "not found: the metrics are at /metrics\n";
	return reply(conn, MHD_HTTP_NOT_FOUND, TEXT, msg, strlen(msg), MHD_RESPMEM_PERSISTENT);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	if (log_get_level() < LOG_DEBUG)
		return;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("exporter: %s", msg);
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	return sa->sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

int exporter_command(const struct config *c)
{
	const char *listen = c->listen ? c->listen : EXPORTER_LISTEN_DEFAULT;
	char host[256], port_s[8];
	unsigned port;
	if (exporter_split_listen(listen, host, sizeof(host), &port) < 0) {
		log_error("exporter: --listen '%s' is not ADDR:PORT; give e.g. 127.0.0.1:9464 or [::1]:9464 "
			  "(port 0: any free port)", listen);
		return EXIT_SUPERVISE_FAILURE;
	}
	snprintf(port_s, sizeof(port_s), "%u", port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	int gr = getaddrinfo(host, port_s, &hints, &ai);
	if (gr != 0) {
		log_error("exporter: --listen '%s': cannot resolve '%s': %s", listen, host, gai_strerror(gr));
		return EXIT_SUPERVISE_FAILURE;
	}
	if (!is_loopback(ai->ai_addr))
		log_warn("exporter: %s is not a loopback address: every host that reaches it can read the workloads' "
			 "names, cgroups and process names", host);

	/* Blocked before the server thread starts: it inherits the mask, so
	 * SIGINT/SIGTERM reach only sigwait() below. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct exporter e = { .top_procs = c->has_top_procs ? c->top_procs : METRICS_TOP_PROCS_DEFAULT };
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			 (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, handle, &e,
		MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		/* A client that sends nothing is dropped after 10 s of silence. */
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)16,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!d) {
		log_error("exporter: cannot listen on %s (address in use, or not an address of this host); "
			  "choose another with --listen ADDR:PORT", listen);
		return EXIT_SUPERVISE_FAILURE;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	unsigned bound = info ? info->port : port;
	bool v6 = strchr(host, ':') != NULL;
	/* stdout, one line: scripts (and the tests) learn the port chosen for 0. */
	printf("exporter: serving http://%s%s%s:%u/metrics\n", v6 ? "[" : "", host, v6 ? "]" : "", bound);
	fflush(stdout);

	int sig = 0;
	sigwait(&mask, &sig);
	log_info("exporter: %s: stopping", strsignal(sig));
	MHD_stop_daemon(d);
	return 0;
}
