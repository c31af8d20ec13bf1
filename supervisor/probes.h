/* probes: the one probe set per host, pinned under the pin directory
 * (/sys/fs/bpf/supervise, or $SUPERVISE_BPF_PIN_DIR). The first supervise
 * loads and pins it, later ones reuse the pins and register their cgroup, the
 * last one out unpins. Every change to the set is made under an exclusive
 * flock on the pin directory itself (sets in other directories never wait for
 * it); the bpffs mount's root is locked only to mount or unmount it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "track.h"

struct probes {
	int meta_fd, workloads_fd, procs_fd, pids_fd, events_fd, thresholds_fd;
	int sweep_link_fd;          /* iter/task link: bpf_iter_create() runs a sweep */
};

#define PROBES_INIT { -1, -1, -1, -1, -1, -1, -1 }

const char *probes_pin_dir(void);
/* Route libbpf's messages through supervise's log level (quiet; -v: warnings
 * and the verifier log; -v -v: debug). Called by every entry point below. */
void probes_log_init(void);
/* Load or reuse the pinned set, drop registrations of dead supervisors, and
 * register cgroup_id (owned by this process). ret_ring_fd: the workload's
 * event ring buffer (a slot of "events" taken over from an ended run, or a
 * new one), owned by the caller; records of other workloads may be left in
 * it (check track_event.workload). 0 or -errno (logged). */
int probes_register(uint64_t cgroup_id, struct probes *ret, int *ret_ring_fd);
/* Remove cgroup_id and its processes; unpin the set when no workload is left.
 * Closes the fds in p. */
int probes_unregister(struct probes *p, uint64_t cgroup_id);
/* Open the pinned maps for reading only; -ENOENT when no set is pinned. */
int probes_open_pinned(struct probes *ret);
void probes_close(struct probes *p);
/* Run one iter/task sweep; ret_gen: the sweep's generation. */
int probes_sweep(struct probes *p, uint64_t *ret_gen);
/* Say whether cgroup_id (registered by this process) wants the per-event
 * programs (rss_stat, mmap_lock_released) attached, and attach or detach them
 * to match every live registration's wish: they are attached while at least
 * one live workload wants them. The wish lives in the workload's entry of
 * "thresholds" (its "armed" field: the rest of the value is kept), so it dies
 * with the registration: register, unregister and gc settle the links too,
 * after reaping the dead. blocking false: when another supervise holds the
 * set's lock, return -EAGAIN and leave the links as they are (call again).
 * 0 or -errno (logged, but -EAGAIN). */
int probes_arm(struct probes *p, uint64_t cgroup_id, bool want, bool blocking);
/* Are the per-event programs attached now (their link pins exist)? */
bool probes_armed(void);
/* Drop dead registrations; unpin when empty. Returns how many were dropped. */
int probes_gc(void);

/* Each tracked process (key: mm address) for which cb returns >= 0; a
 * negative return stops the walk and is returned. */
int probes_for_each_proc(int procs_fd,
			 int (*cb)(uint64_t key, const struct track_proc *p, void *userdata),
			 void *userdata);
