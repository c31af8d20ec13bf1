/* The control-socket protocol (control.c): what a client of
 * <run dir>/control sends to a running supervisor. Each input is sent as one
 * SOCK_SEQPACKET message to a real listening socket (control_listen) and read
 * by control_accept(), as the supervisor's loop does; the pure parser and
 * the client's formatter are checked against each other. */
#include <math.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "fuzz.h"
#include "size.h"

static int listen_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	fuzz_tmpdir(CONTROL_SOCKET);
	listen_fd = control_listen(fuzz_dir);
	if (listen_fd < 0)
		abort();
	return 0;
}

static void check_roundtrip(const struct control_request *req)
{
	char text[512];
	struct control_request back;

	/* What the parser accepted, the client can say again and the
	 * supervisor reads back the same. */
	int n = control_format(req, text, sizeof(text));
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(control_parse(text, &back) == 0);
	FUZZ_CHECK(back.has_mem == req->has_mem && back.has_cpus == req->has_cpus && back.has_jobs == req->has_jobs);
	if (req->has_mem) {
		struct size_arg a;
		FUZZ_CHECK(strcmp(back.mem, req->mem) == 0 && size_parse(back.mem, &a) == 0);
	}
	if (req->has_cpus)
		FUZZ_CHECK(fabs(back.cpus - req->cpus) <= 0.0005 && back.cpus >= 0.01 && back.cpus <= 4096);
	if (req->has_jobs)
		FUZZ_CHECK(back.jobs_min == req->jobs_min && back.jobs_max == req->jobs_max &&
			   req->jobs_min >= 1 && req->jobs_min <= req->jobs_max && req->jobs_max <= 4096);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request req;
	char *s = fuzz_str(data, size);

	if (control_parse(s, &req) == 0)
		check_roundtrip(&req);
	free(s);

	/* Over the socket: the message as bytes (NULs included), at most what
	 * a client may send in one message. */
	if (size > 4096)
		return 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fuzz_path);
	int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	if (send(c, data, size, MSG_NOSIGNAL) < 0)
		abort();
	int conn = control_accept(listen_fd, &req);
	if (conn >= 0) {
		check_roundtrip(&req);
		control_reply(conn, "ok: fuzz");
		close(conn);
	}
	close(c);
	return 0;
}
