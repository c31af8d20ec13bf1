/* path: the small path operations every unit needs, once. Pure. */
#pragma once

#include <stddef.h>

/* The parent of path ("/a/b/c" → "/a/b"; "/a" → "/") into ret. -EINVAL when
 * path has no '/', -ENAMETOOLONG when ret is too small. */
int path_parent(const char *path, char *ret, size_t size);
/* The last component ("/a/b/c" → "c"; "c" → "c"): a pointer into path. */
const char *path_basename(const char *path);
