#include <errno.h>
#include <sys/wait.h>

#include "status.h"

int exit_status_from_wait(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return EXIT_SUPERVISE_FAILURE;
}

int exit_status_from_exec_errno(int err)
{
	/* As sh does: not found (also a missing interpreter or directory in
	 * the path) is 127; found but not runnable is 126. */
	return err == ENOENT || err == ENOTDIR ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
}
