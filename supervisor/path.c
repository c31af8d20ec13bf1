/* path: see path.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "path.h"

int path_parent(const char *path, char *ret, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return -EINVAL;
	size_t len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= size)
		return -ENAMETOOLONG;
	memmove(ret, path, len);   /* ret may be path */
	ret[len] = '\0';
	return 0;
}

const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}
