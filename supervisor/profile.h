/* profile: settings from an INI file (libinih), keys named as systemd's
 * unit properties. The command line overrides the profile; errors name
 * file:line and the key; --print-profile says where each setting came from.
 *
 *   [Run]         Name=
 *   [Resources]   MemoryMax= MemoryHigh= CPUQuota= TasksMax=
 *   [Sandbox]     Sandbox= SystemCallFilter= SystemCallErrorNumber=
 *                 SystemCallAction= CapabilityBoundingSet= AmbientCapabilities=
 *                 NoNewPrivileges= User= Group=
 *   [Jobs]        Jobs= JobMemory= JobserverStyle=
 *   [Advice]      Mode= RaiseMapCount=
 *   [Environment] NAME=VALUE...
 */
#pragma once

#include <stdio.h>

struct config;
struct profile;

/* Pure: parse text (as read from filename, for messages). 0 with *ret, or
 * -EINVAL with err "FILE:LINE: Key=: what is wrong". */
int profile_parse(const char *text, size_t len, const char *filename, struct profile **ret, char *err,
		  size_t errsize);
/* Pure: fill in what c does not have yet. 0 or -EINVAL with err. The
 * strings c points to then belong to p: keep p as long as c is used. */
int profile_apply_to(struct profile *p, struct config *c, char *err, size_t errsize);
void profile_free(struct profile *p);

/* Find (NAME: ~/.config/supervise, /etc/supervise, ./configs; or a PATH),
 * read, parse and apply; prints what was wrong. 0 or -errno. */
int profile_apply(const char *name_or_path, struct config *c);
/* --print-profile: the effective settings, each with its origin. */
int profile_print(const struct config *c, FILE *f);
