/* json-c with cleanup attributes. */
#pragma once

#include <json.h>

static inline void json_object_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}
