/* control: change a running workload's budget from another shell —
 * `supervise set NAME --mem SIZE | --cpus N | --jobs MIN-MAX`.
 *
 * The running supervisor listens on a SOCK_SEQPACKET unix socket
 * <run dir>/control, bound under umask 077 in a private 0700 directory and
 * renamed into place (owner only at every moment); each request's peer is
 * checked with SO_PEERCRED (our euid or root), and a request whose client
 * has already hung up (it timed out on a stopped supervisor) is dropped. A
 * request is one message of "key=value" lines (mem=SIZE as given, cpus=N,
 * jobs=MIN-MAX or jobs=auto); the reply is one message, "ok: what was
 * applied" or "error: why" (then nothing was applied). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CONTROL_SOCKET "control"

struct control_request {
	bool has_mem, has_cpus, has_jobs;
	char mem[64];               /* SIZE as given: a percentage is resolved by the supervisor */
	double cpus;
	unsigned jobs_min, jobs_max;
	bool jobs_auto;             /* jobs=auto: the supervisor resolves it (control_jobs_auto) */
};

/* --jobs auto from its CPU count, as jobctl_open resolves it at launch:
 * 1 to 4 x CPUs (the governor goes beyond the CPUs only while CPU pressure
 * is low). */
#define JOBS_AUTO_PER_CPU 4
void control_jobs_auto(unsigned cpus, unsigned *ret_min, unsigned *ret_max);

/* Pure: "MIN-MAX" or "N" (MIN = MAX = N), 1 <= MIN <= MAX <= 4096. */
int control_parse_jobs(const char *s, unsigned *ret_min, unsigned *ret_max);
/* Pure: request to text and back. */
int control_format(const struct control_request *req, char *buf, size_t size);
int control_parse(const char *text, struct control_request *ret);

/* Supervisor side: listen on <run_dir>/control. Returns the listening fd
 * (non-blocking, CLOEXEC) or -errno (logged). */
int control_listen(const char *run_dir);
/* Accept one connection and read its request (bounded wait). Returns the
 * connection fd (reply on it, then close) or -errno. */
int control_accept(int listen_fd, struct control_request *ret);
void control_reply(int conn_fd, const char *text);

/* Client side: send req to the run NAME and print the reply. Returns the
 * exit status of `supervise set`: 0 applied, 1 refused (the reply says
 * why; nothing was applied), 125 no such run or no answer. */
struct config;
int set_command(const struct config *c);
