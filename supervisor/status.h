/* Exit statuses, as a shell reports them. */
#pragma once

#define EXIT_SUPERVISE_FAILURE 125   /* supervise's own failure */
#define EXIT_NOT_EXECUTABLE    126
#define EXIT_NOT_FOUND         127
#define EXIT_KILLED            137   /* 128 + SIGKILL: OOM or killed at --mem */

/* Pure: a wait(2) status to a shell status: the exit code, or 128+N for
 * signal N. */
int exit_status_from_wait(int wstatus);
/* Pure: the errno of a failed execve to 126 or 127. */
int exit_status_from_exec_errno(int err);
