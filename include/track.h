/* track: the records shared by bpf/track.bpf.c and supervisor/monitor-bpf.c.
 *
 * Every struct starts with a version so that a reader of a pinned map (another
 * supervise, `supervise stat`, bpftool) can tell an incompatible set from this
 * one. Bump TRACK_VERSION whenever a layout, a map or a program changes: the
 * next supervise then replaces the pinned set instead of misreading it. */
#pragma once

#ifdef __bpf__
#include "vmlinux.h"
typedef __u8 track_u8;
typedef __u32 track_u32;
typedef __s32 track_s32;
typedef __u64 track_u64;
typedef __s64 track_s64;
#else
#include <stdint.h>
typedef uint8_t track_u8;
typedef uint32_t track_u32;
typedef int32_t track_s32;
typedef uint64_t track_u64;
typedef int64_t track_s64;
#endif

#define TRACK_VERSION 9
#define TRACK_COMM_LEN 16
/* Deepest cgroup nesting searched above a task for a tracked cgroup. */
#define TRACK_MAX_CGROUP_DEPTH 32
/* Ring buffer slots in "events": at most this many workloads at once. */
#define TRACK_MAX_RINGS 1024
#define TRACK_RING_BYTES (256 * 1024)

/* The kernel's mm counters (enum mm_counter_type, same values in 6.1 and 6.18). */
enum track_member {
	TRACK_FILE = 0,
	TRACK_ANON = 1,
	TRACK_SWAP = 2,   /* swap entries, not resident */
	TRACK_SHMEM = 3,
	TRACK_NR_MEMBERS = 4,
};

/* Map "meta", key 0: what set is pinned. */
struct track_meta {
	track_u32 version;
	track_u32 page_size;
	track_u64 loaded_ns;        /* CLOCK_MONOTONIC when the set was loaded */
};

/* Map "workloads", key: the v2 cgroup id of a supervised leaf (st_ino of its
 * directory). Registered by the supervise that owns it; tracking covers the
 * leaf and every cgroup below it. */
struct track_workload {
	track_u32 version;
	track_u32 owner_pid;        /* the supervise process that registered it */
	track_u64 owner_start;      /* its start time (clock ticks, /proc/PID/stat field 22): pid reuse */
	track_s64 rss_bytes;        /* summed file+anon+shmem of live processes */
	track_u64 peak_rss_bytes;
	track_u32 nr_procs;         /* live processes */
	track_u32 procs_started;
	track_u32 peak_concurrent;
	track_u32 peak_map_count;
	track_u32 peak_map_pid;
	track_u32 ring_slot;        /* index in "events" of the workload's ring buffer */
	char peak_map_comm[TRACK_COMM_LEN];
	/* Written by BPF only (user space writes this value once, at
	 * registration, before any process is tracked). */
	track_u64 rss_alert_fired_seq;  /* rss_alert_seq of the alert that fired */
	track_s64 sum_pending;          /* the sweep's last (sum of processes - rss_bytes) */
	track_u64 sum_max_correction;   /* largest |correction| the sweep applied */
	track_u32 sum_corrections;      /* how many it applied */
	track_u32 _pad2;
};

/* Map "thresholds", key: the workload's cgroup id. Written by user space only
 * (whole values: BPF sees the old or the new one, never a mix); BPF only reads
 * it, so no update of either side is lost. 0 = off. Crossing one sends a ring
 * buffer record: the RSS alert once per arming (user space re-arms by bumping
 * rss_alert_seq), the map alert once per process. */
struct track_thresholds {
	track_u32 version;
	track_u32 map_alert;
	track_u64 rss_alert_bytes;
	track_u64 rss_alert_seq;
	/* Nonzero: this workload is near a threshold and wants the per-event
	 * programs (rss_stat, mmap_lock_released) attached. Read by user space
	 * only (probes.c counts the live workloads that want them: the arm is
	 * reference-counted by state, so a killed supervisor's wish dies with
	 * its registration); BPF never looks at it. */
	track_u32 armed;
	track_u32 _pad;
};

/* Map "procs", key: the address of the process's mm_struct (rss_stat and
 * mmap_lock_released name the mm, not the task). */
struct track_proc {
	track_u32 version;
	track_u32 pid;              /* tgid */
	track_u32 ppid;
	track_u32 flags;            /* TRACK_PROC_* */
	char comm[TRACK_COMM_LEN];
	track_u64 workload;         /* cgroup id of the tracked ancestor (key of "workloads") */
	track_u64 cgroup;           /* cgroup id the process was found in */
	track_u64 start_ns;         /* the thread group leader's start_time, CLOCK_MONOTONIC */
	track_s64 member_bytes[TRACK_NR_MEMBERS];  /* by enum track_member */
	/* What this process has put in its workload's sum: file + anon + shmem
	 * as of the last sweep, exec or fork, or the last rss_stat that moved
	 * it by RSS_QUANTUM (256 KiB) or more. The process's own figure is the
	 * sum of member_bytes (always fresh). */
	track_u64 rss_bytes;
	track_u64 peak_rss_bytes;
	track_u32 map_count;
	track_u32 peak_map_count;
	track_u64 sweep_gen;        /* last iter/task sweep that saw it */
	track_u32 filter_bucket;    /* its bucket in the BPF side's mm_filter */
	track_u32 _pad;
};

#define TRACK_PROC_MAP_ALERTED (1u << 0)
/* Cloned into the workload by a process outside it (the workload's first
 * process is a clone of supervise): until it execs, its mm is a copy of the
 * outsider's, so its figures are its own but not the workload's — they are
 * left out of the workload's RSS sum and peaks, and its exit record (if it
 * never execs) is not the workload's either. Cleared by exec (a fresh entry). */
#define TRACK_PROC_FORKED_IN   (1u << 1)

enum track_event_type {
	TRACK_EV_EXEC = 1,
	TRACK_EV_EXIT = 2,
	TRACK_EV_RSS_ALERT = 3,
	TRACK_EV_MAP_ALERT = 4,
};

/* Ring buffer record, one per exec, exit and threshold crossing (never per
 * page fault). Each workload has its own ring buffer in map "events". */
struct track_event {
	track_u32 version;
	track_u32 type;             /* enum track_event_type */
	track_u32 pid;
	track_u32 ppid;
	char comm[TRACK_COMM_LEN];
	track_u64 workload;
	track_u64 ts_ns;            /* CLOCK_MONOTONIC */
	track_u64 start_ns;
	track_u64 rss_bytes;        /* at the event (exit: last figure seen) */
	track_u64 peak_rss_bytes;
	track_s64 member_bytes[TRACK_NR_MEMBERS];
	track_u32 map_count;
	track_u32 peak_map_count;
	track_s32 exit_code;        /* task->exit_code for TRACK_EV_EXIT */
	track_u32 flags;            /* the process's TRACK_PROC_* flags */
	track_u64 workload_rss_bytes; /* for TRACK_EV_RSS_ALERT */
};
