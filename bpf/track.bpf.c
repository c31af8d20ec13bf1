// SPDX-License-Identifier: GPL-2.0
/* track: per process RSS and map_count of every process inside a supervised
 * cgroup subtree, aggregated per workload in maps. One set of these programs
 * serves every supervise on the host (pinned under /sys/fs/bpf/supervise/).
 *
 * Hooks (tracepoints, tp_btf and iterators only: fentry and kprobes do not
 * load on the machines this runs on):
 *   task_newtask, sched_process_exec  start tracking a process's mm
 *   rss_stat                          RSS by member, for any mm we track
 *   mmap_lock_released                mm->map_count, exact at each unlock
 *   sched_process_exit                final figures to the ring buffer, drop state
 *   iter/task                         pre-existing processes, exact re-sync,
 *                                     stale entries
 * Must load on 6.1 (Debian) and 6.18: layout differences are handled with CO-RE. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "track.h"

char LICENSE[] SEC("license") = "GPL";

#define CLONE_VM     0x00000100
#define CLONE_THREAD 0x00010000
#define PF_EXITING   0x00000004
#define PF_KTHREAD   0x00200000

/* Filled by user space before load. */
const volatile __u32 page_size = 4096;
const volatile __u32 nr_cpus = 1;       /* possible CPUs, for the exact per-CPU sum */

/* rss_stat moves a workload's sum when one of its processes' RSS has moved
 * by this much since it last did (include/track.h, track_proc.rss_bytes):
 * between sweeps, the sum is within nr_procs x RSS_QUANTUM of the sum of its
 * processes' member figures (docs/probes.md). */
#define RSS_QUANTUM (256 * 1024)

/* Generation of the iter/task sweep; entries not seen by two sweeps in a row
 * belong to processes that are gone (a missed exit) and are dropped. */
__u64 sweep_gen;

/* The sweep's last step (drop stale entries, sum, heal) runs one at a time,
 * each pass summing under an id of its own. Two sweeps whose task walks
 * overlap read the same sweep_gen at their ends: the second added its sums
 * onto the first's, and both heals then saw the same doubled sum, which
 * passes the "same difference twice" test (seen: a 42 MiB memhog's sum and
 * peak raised by 31 MiB, with 20 supervisors on a loaded host). A pass that
 * finds another running skips; the next sweep does it. */
__u32 final_busy;
__u64 sum_pass;

/* How many tracked mms fall in each bucket. rss_stat and mmap_lock_released
 * fire for every process on the host; one load from this array (no helper
 * call) turns away the untracked ones before the hash lookup, which costs
 * ~80 ns even when it finds nothing. A bucket shared with a tracked mm only
 * sends the others on to that lookup. */
#define MM_FILTER_BUCKETS 4096
__u32 mm_filter[MM_FILTER_BUCKETS];

/* The bucket of an mm: x86's per-mm context id, unique and sequential, so
 * buckets fill evenly. (The mm's address cannot be used: the verifier forbids
 * arithmetic on a kernel pointer.) Without it every mm shares bucket 0 and
 * the filter only says whether anything is tracked at all. */
static __always_inline __u32 mm_bucket(struct mm_struct *mm)
{
	if (bpf_core_field_exists(mm->context.ctx_id))
		return mm->context.ctx_id & (MM_FILTER_BUCKETS - 1);
	return 0;
}

static __always_inline bool mm_maybe_tracked(struct mm_struct *mm)
{
	return mm_filter[mm_bucket(mm)] != 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct track_meta);
} meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);                 /* v2 cgroup id */
	__type(value, struct track_workload);
} workloads SEC(".maps");

/* Alert thresholds: user space writes, BPF only reads (track.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);                 /* v2 cgroup id */
	__type(value, struct track_thresholds);
} thresholds SEC(".maps");

/* The sweep's scratch: each workload's sum over its processes, by the pass
 * that summed it (an entry of an older pass counts as 0). */
struct sweep_sum {
	__u64 gen;                          /* sum_pass of the pass */
	__s64 sum;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);                 /* v2 cgroup id */
	__type(value, struct sweep_sum);
} sweep_sums SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u64);                 /* mm_struct address */
	__type(value, struct track_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);                 /* tgid */
	__type(value, __u64);               /* key in procs */
} pids SEC(".maps");

/* Processes whose mm went through exit_mmap, between that and their exec
 * (the process goes on in a new mm) or their exit record. Keyed by tgid, not
 * by mm: once exit_mmap is done the mm_struct is freed and its address is
 * soon another process's mm (on 6.1 both exec_mmap and exit_mm free it
 * before sched_process_exec / sched_process_exit fire). LRU: an entry nobody
 * takes (a missed exit) ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);                 /* tgid */
	__type(value, struct track_proc);
} ending SEC(".maps");

/* One ring buffer per running workload, so that concurrent supervisors never
 * consume each other's records. A slot's ring buffer stays with the set when
 * its run ends and the next run to start takes it over (its workload's
 * ring_slot): an update or delete of a map-in-map from user space waits for
 * an RCU grace period (10-20 ms here), which a start then does not pay. */
struct events_rb {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TRACK_RING_BYTES);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, TRACK_MAX_RINGS);
	__type(key, __u32);                 /* ring slot */
	__array(values, struct events_rb);
} events SEC(".maps");

/* 6.1 keeps the counters as an atomic array (struct mm_rss_stat); 6.2+ as one
 * percpu_counter per member. */
struct mm_rss_stat___old {
	atomic_long_t count[TRACK_NR_MEMBERS];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/* A one-slot per-CPU array whose only use is to learn each CPU's per-CPU
 * offset: the address a per-CPU lookup returns minus the array's unrelocated
 * per-CPU pointer. (The kernel's own __per_cpu_offset and this_cpu_off are
 * not resolvable here: no KALLSYMS_ALL.) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_offset_probe SEC(".maps");

/* Scratch space to copy the head of cpu_offset_probe's struct bpf_array into
 * (a map pointer cannot be offset in BPF; a copy of it can). */
#define ARRAY_HEAD_MAX 480
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[ARRAY_HEAD_MAX + 8]);
} array_head SEC(".maps");

/* The unrelocated per-CPU pointer of cpu_offset_probe's only slot. */
static __noinline void *cpu_offset_base(void)
{
	__u32 off = bpf_core_field_offset(struct bpf_array, pptrs);
	__u32 zero = 0;
	char *buf;

	buf = bpf_map_lookup_elem(&array_head, &zero);
	if (!buf || off > ARRAY_HEAD_MAX)
		return NULL;
	if (bpf_probe_read_kernel(buf, off + 8, &cpu_offset_probe))
		return NULL;
	return *(void **)(buf + off);
}

static __always_inline bool old_rss_layout(void)
{
	return bpf_core_type_exists(struct mm_rss_stat___old);
}

/* The readers of each layout are separate (noinline) functions: the reader
 * of the layout the running kernel lacks holds a failed CO-RE relocation,
 * which is harmless only if it sits in code the verifier proves dead. Inlined,
 * clang hoists the relocated offsets above the layout test. */
static __noinline long rss_counter_old(struct mm_struct *mm, int member)
{
	struct mm_struct___old *o = (void *)mm;

	switch (member) {
	case 0: return BPF_CORE_READ(o, rss_stat.count[0].counter);
	case 1: return BPF_CORE_READ(o, rss_stat.count[1].counter);
	case 2: return BPF_CORE_READ(o, rss_stat.count[2].counter);
	case 3: return BPF_CORE_READ(o, rss_stat.count[3].counter);
	}
	return 0;
}

static __noinline long rss_counter_new(struct mm_struct *mm, int member)
{
	switch (member) {
	case 0: return BPF_CORE_READ(mm, rss_stat[0].count);
	case 1: return BPF_CORE_READ(mm, rss_stat[1].count);
	case 2: return BPF_CORE_READ(mm, rss_stat[2].count);
	case 3: return BPF_CORE_READ(mm, rss_stat[3].count);
	}
	return 0;
}

struct cpu_sum_ctx {
	__s32 *counters;
	void *base;                 /* cpu_offset_probe's per-CPU pointer */
	long sum;
};

static long cpu_sum_one(__u32 cpu, void *data)
{
	struct cpu_sum_ctx *c = data;
	__u32 zero = 0;
	void *slot;
	unsigned long addr;
	__s32 v = 0;

	slot = bpf_map_lookup_percpu_elem(&cpu_offset_probe, &zero, cpu);
	if (!slot)
		return 1;
	/* Copy the slot's address out as a plain number: the verifier does not
	 * allow arithmetic on a map value pointer with an unknown operand. */
	bpf_probe_read_kernel(&addr, sizeof(addr), &slot);
	bpf_probe_read_kernel(&v, sizeof(v), (void *)((unsigned long)c->counters + (addr - (unsigned long)c->base)));
	c->sum += v;
	return 0;
}

/* What percpu_counter_sum() returns: the global count plus every CPU's part. */
static __noinline long rss_counter_new_exact(struct mm_struct *mm, int member)
{
	struct cpu_sum_ctx c = {};

	switch (member) {
	case 0: c.counters = BPF_CORE_READ(mm, rss_stat[0].counters); break;
	case 1: c.counters = BPF_CORE_READ(mm, rss_stat[1].counters); break;
	case 2: c.counters = BPF_CORE_READ(mm, rss_stat[2].counters); break;
	case 3: c.counters = BPF_CORE_READ(mm, rss_stat[3].counters); break;
	}
	c.sum = rss_counter_new(mm, member);
	c.base = cpu_offset_base();
	if (c.counters && c.base)
		bpf_loop(nr_cpus, cpu_sum_one, &c, 0);
	return c.sum;
}

/* The counter the kernel keeps for the mm, in pages. On 6.2+ the fast read
 * is the percpu_counter's global count, which lags the true value by less
 * than nr_cpus * batch pages (batch = max(32, 2 * nr_cpus)); the exact read
 * (used by the sweep) adds the per-CPU parts. 6.1's atomics are exact. */
static __always_inline long mm_counter(struct mm_struct *mm, int member, bool exact)
{
	if (old_rss_layout())
		return rss_counter_old(mm, member);
	return exact ? rss_counter_new_exact(mm, member) : rss_counter_new(mm, member);
}

static __always_inline __s64 pages_to_bytes(long pages)
{
	return (__s64)pages * page_size;
}

static __always_inline __u64 rss_of(const struct track_proc *p)
{
	__s64 s = p->member_bytes[TRACK_FILE] + p->member_bytes[TRACK_ANON] +
		  p->member_bytes[TRACK_SHMEM];

	return s > 0 ? s : 0;
}

/* Nearest tracked cgroup at or above the task's v2 cgroup: 0 when none. */
static __always_inline __u64 find_workload(struct task_struct *task, __u64 *ret_cgroup)
{
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);

	*ret_cgroup = BPF_CORE_READ(cg, kn, id);
	for (int i = 0; i < TRACK_MAX_CGROUP_DEPTH && cg; i++) {
		__u64 id = BPF_CORE_READ(cg, kn, id);

		if (bpf_map_lookup_elem(&workloads, &id))
			return id;
		cg = BPF_CORE_READ(cg, self.parent, cgroup);
	}
	return 0;
}

static __always_inline void fill_event(struct track_event *e, __u32 type, const struct track_proc *p)
{
	e->version = TRACK_VERSION;
	e->type = type;
	e->pid = p->pid;
	e->ppid = p->ppid;
	__builtin_memcpy(e->comm, p->comm, sizeof(e->comm));
	e->workload = p->workload;
	e->ts_ns = bpf_ktime_get_ns();
	e->start_ns = p->start_ns;
	e->rss_bytes = p->rss_bytes;
	e->peak_rss_bytes = p->peak_rss_bytes;
	for (int i = 0; i < TRACK_NR_MEMBERS; i++)
		e->member_bytes[i] = p->member_bytes[i];
	e->map_count = p->map_count;
	e->peak_map_count = p->peak_map_count;
	e->exit_code = 0;
	e->flags = p->flags;
	e->workload_rss_bytes = 0;
}

static __always_inline void emit(__u32 type, const struct track_proc *p, const struct track_workload *w,
				 int exit_code)
{
	__u64 wid = p->workload;
	struct track_event *e;
	__u32 slot;
	void *rb;

	/* No registration, no ring buffer: its run is leaving. */
	if (!w)
		w = bpf_map_lookup_elem(&workloads, &wid);
	if (!w)
		return;
	slot = w->ring_slot;
	rb = bpf_map_lookup_elem(&events, &slot);
	if (!rb)
		return;
	e = bpf_ringbuf_reserve(rb, sizeof(*e), 0);
	if (!e)
		return;
	fill_event(e, type, p);
	e->exit_code = exit_code;
	if (w)
		e->workload_rss_bytes = w->rss_bytes > 0 ? w->rss_bytes : 0;
	bpf_ringbuf_submit(e, 0);
}

/* Raise *peak to v; a few tries against concurrent raisers on other CPUs
 * (each retry means another CPU raised it, so few are ever needed). */
static __always_inline void raise_u64(__u64 *peak, __u64 v)
{
	for (int i = 0; i < 4; i++) {
		__u64 old = *peak;

		if (v <= old || __sync_val_compare_and_swap(peak, old, v) == old)
			return;
	}
}

static __always_inline void raise_u32(__u32 *peak, __u32 v)
{
	for (int i = 0; i < 4; i++) {
		__u32 old = *peak;

		if (v <= old || __sync_val_compare_and_swap(peak, old, v) == old)
			return;
	}
}

/* The workload whose sums and peaks p's figures go into: none while p is a
 * copy of an outsider's mm (TRACK_PROC_FORKED_IN). */
static __always_inline struct track_workload *counted_workload(const struct track_proc *p)
{
	if (p->flags & TRACK_PROC_FORKED_IN)
		return NULL;
	return bpf_map_lookup_elem(&workloads, &p->workload);
}

/* Workload RSS moves by the process's delta; its peak and the alert follow. */
static __always_inline void workload_add_rss(struct track_workload *w, const struct track_proc *p, __s64 delta)
{
	struct track_thresholds *t;
	__u64 wid = p->workload, fired;
	__s64 now;

	if (!delta)
		return;
	now = __sync_fetch_and_add(&w->rss_bytes, delta) + delta;
	if (now > 0)
		raise_u64(&w->peak_rss_bytes, now);
	/* Only a rise crosses an alert: no threshold lookup on the way down. */
	if (delta < 0)
		return;
	t = bpf_map_lookup_elem(&thresholds, &wid);
	if (!t || !t->rss_alert_bytes || (__u64)now < t->rss_alert_bytes)
		return;
	/* Once per arming: whoever moves fired_seq to this seq sends the record. */
	fired = w->rss_alert_fired_seq;
	if (fired != t->rss_alert_seq &&
	    __sync_val_compare_and_swap(&w->rss_alert_fired_seq, fired, t->rss_alert_seq) == fired)
		emit(TRACK_EV_RSS_ALERT, p, w, 0);
}

static __always_inline void proc_set_map_count(struct track_proc *p, struct track_workload *w, __u32 n)
{
	p->map_count = n;
	if (n > p->peak_map_count)
		p->peak_map_count = n;
	if (!w)
		return;
	if (n > w->peak_map_count) {
		w->peak_map_count = n;
		w->peak_map_pid = p->pid;
		__builtin_memcpy(w->peak_map_comm, p->comm, sizeof(w->peak_map_comm));
	}
	if (p->flags & TRACK_PROC_MAP_ALERTED)
		return;
	__u64 wid = p->workload;
	struct track_thresholds *t = bpf_map_lookup_elem(&thresholds, &wid);
	if (t && t->map_alert && n >= t->map_alert) {
		p->flags |= TRACK_PROC_MAP_ALERTED;
		emit(TRACK_EV_MAP_ALERT, p, w, 0);
	}
}

/* Set the member figures of p from the mm, returning the change of its RSS. */
static __always_inline __s64 proc_sync_rss(struct track_proc *p, struct mm_struct *mm, bool exact)
{
	__u64 old = p->rss_bytes;

	for (int i = 0; i < TRACK_NR_MEMBERS; i++)
		p->member_bytes[i] = pages_to_bytes(mm_counter(mm, i, exact));
	p->rss_bytes = rss_of(p);
	if (p->rss_bytes > p->peak_rss_bytes)
		p->peak_rss_bytes = p->rss_bytes;
	return (__s64)p->rss_bytes - (__s64)old;
}

/* Stop tracking the process whose mm is key; the exit record goes out first. */
static __always_inline void untrack(__u64 key, struct track_proc *p, bool report, int exit_code)
{
	struct track_workload *w = bpf_map_lookup_elem(&workloads, &p->workload);
	__u32 pid = p->pid;
	__u32 p_bucket = p->filter_bucket;
	__u64 *cur;

	if (w) {
		/* A forked-in copy's RSS never went into the sum. */
		if (!(p->flags & TRACK_PROC_FORKED_IN))
			__sync_fetch_and_add(&w->rss_bytes, -(__s64)p->rss_bytes);
		__sync_fetch_and_add(&w->nr_procs, -1);
	}
	if (report)
		emit(TRACK_EV_EXIT, p, w, exit_code);
	cur = bpf_map_lookup_elem(&pids, &pid);
	if (cur && *cur == key)
		bpf_map_delete_elem(&pids, &pid);
	/* Only the CPU whose delete succeeded counts the entry out. */
	if (bpf_map_delete_elem(&procs, &key) == 0)
		__sync_fetch_and_add(&mm_filter[p_bucket & (MM_FILTER_BUCKETS - 1)], -1);
}

/* The entry of task's process in "ending", if it is that process's (not a
 * process that had the pid before). */
static __always_inline struct track_proc *ending_of(struct task_struct *task, __u32 tgid)
{
	struct track_proc *e = bpf_map_lookup_elem(&ending, &tgid);

	if (!e || e->pid != tgid || e->start_ns != BPF_CORE_READ(task, group_leader, start_time))
		return NULL;
	return e;
}

/* Start tracking task's process under workload wid (flags: TRACK_PROC_*).
 * is_new: a process the workload has not had before (fork, a sweep finding
 * one), not one that goes on in a new mm (exec); it counts in procs_started. */
static __always_inline struct track_proc *track_process(struct task_struct *task, struct mm_struct *mm,
							__u64 wid, __u64 cgroup, bool exact, __u32 flags,
							bool is_new)
{
	struct track_workload *w;
	struct track_proc p = {}, *pp, *old;
	__u64 key = (__u64)mm, *prev;
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u32 n;

	w = bpf_map_lookup_elem(&workloads, &wid);
	if (!w)
		return NULL;
	p.version = TRACK_VERSION;
	p.pid = tgid;
	p.flags = flags;
	p.ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_probe_read_kernel_str(p.comm, sizeof(p.comm), task->comm);
	p.workload = wid;
	p.cgroup = cgroup;
	p.start_ns = BPF_CORE_READ(task, group_leader, start_time);
	p.sweep_gen = sweep_gen;
	/* A process has one mm: an entry of this tgid under another mm is left
	 * from a race with exec (a sweep saw the new mm between exec_mmap and
	 * sched_process_exec: the same process going on, not a new one); an
	 * entry of another pid under this mm is left from a freed mm whose
	 * address was reused. Both are stale. */
	/* The same goes for its figures in "ending": a sweep saw the new mm
	 * after exit_mmap and before sched_process_exec. */
	if (ending_of(task, tgid)) {
		is_new = false;
		bpf_map_delete_elem(&ending, &tgid);
	}
	prev = bpf_map_lookup_elem(&pids, &tgid);
	if (prev && *prev != key) {
		__u64 pkey = *prev;

		old = bpf_map_lookup_elem(&procs, &pkey);
		if (old && old->pid == tgid) {
			if (old->start_ns == p.start_ns)
				is_new = false;
			untrack(pkey, old, false, 0);
		}
	}
	old = bpf_map_lookup_elem(&procs, &key);
	if (old) {
		if (old->pid == tgid)
			return NULL;
		untrack(key, old, false, 0);
	}
	/* Count the bucket in first: an event between the insert and the
	 * count would otherwise be turned away. */
	p.filter_bucket = mm_bucket(mm);
	__sync_fetch_and_add(&mm_filter[p.filter_bucket & (MM_FILTER_BUCKETS - 1)], 1);
	if (bpf_map_update_elem(&procs, &key, &p, BPF_NOEXIST)) {
		__sync_fetch_and_add(&mm_filter[p.filter_bucket & (MM_FILTER_BUCKETS - 1)], -1);
		return NULL;
	}
	pp = bpf_map_lookup_elem(&procs, &key);
	if (!pp)
		return NULL;
	bpf_map_update_elem(&pids, &tgid, &key, BPF_ANY);
	n = __sync_fetch_and_add(&w->nr_procs, 1) + 1;
	if (is_new)
		__sync_fetch_and_add(&w->procs_started, 1);
	raise_u32(&w->peak_concurrent, n);
	if (flags & TRACK_PROC_FORKED_IN) {
		/* Its own figures only: they are the outsider's copy. */
		proc_sync_rss(pp, mm, exact);
		proc_set_map_count(pp, NULL, BPF_CORE_READ(mm, map_count));
		return pp;
	}
	workload_add_rss(w, pp, proc_sync_rss(pp, mm, exact));
	proc_set_map_count(pp, w, BPF_CORE_READ(mm, map_count));
	return pp;
}

/* Is the forking process (current: task_newtask runs in the parent) outside
 * workload wid? Then the child's mm is a copy of an outsider's. */
static __always_inline bool forked_from_outside(__u64 wid)
{
	__u32 ptgid = bpf_get_current_pid_tgid() >> 32;
	struct track_proc *pp;
	__u64 *pkey;

	pkey = bpf_map_lookup_elem(&pids, &ptgid);
	if (!pkey)
		return true;
	pp = bpf_map_lookup_elem(&procs, pkey);
	return !pp || pp->pid != ptgid || pp->workload != wid;
}

SEC("tp_btf/task_newtask")
int BPF_PROG(on_newtask, struct task_struct *task, __u64 clone_flags)
{
	struct mm_struct *mm;
	__u64 wid, cgroup;

	/* Threads share the process's entry. A CLONE_VM child (vfork,
	 * posix_spawn) shares its parent's mm until it execs, and is tracked
	 * from sched_process_exec. */
	if (clone_flags & (CLONE_THREAD | CLONE_VM))
		return 0;
	mm = task->mm;
	if (!mm)
		return 0;
	wid = find_workload(task, &cgroup);
	if (wid)
		track_process(task, mm, wid, cgroup, false,
			      forked_from_outside(wid) ? TRACK_PROC_FORKED_IN : 0, true);
	return 0;
}

/* The last user of a tracked mm is gone (exit, or exec replacing it): drop
 * the entry keyed by the mm now, while the address is still this mm's, and
 * keep the figures by tgid for sched_process_exec or sched_process_exit. */
SEC("tp_btf/exit_mmap")
int BPF_PROG(on_exit_mmap, struct mm_struct *mm)
{
	struct track_proc *p;
	__u64 key = (__u64)mm;
	__u32 tgid;

	if (!mm_maybe_tracked(mm))
		return 0;
	p = bpf_map_lookup_elem(&procs, &key);
	if (!p)
		return 0;
	tgid = p->pid;
	bpf_map_update_elem(&ending, &tgid, p, BPF_ANY);
	untrack(key, p, false, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task)
{
	struct track_proc *p, *np;
	struct mm_struct *mm = task->mm;
	__u32 tgid = task->tgid;
	__u64 *oldkey, wid, cgroup, okey;
	bool is_new = false;

	if (!mm)
		return 0;
	p = ending_of(task, tgid);
	if (p) {
		/* exec_mmap released the old mm (exit_mmap moved it here): the
		 * same process goes on in the new one, with fresh figures. */
		wid = p->workload;
		cgroup = p->cgroup;
		bpf_map_delete_elem(&ending, &tgid);
	} else {
		/* The old mm still has users elsewhere, or exit_mmap was missed. */
		oldkey = bpf_map_lookup_elem(&pids, &tgid);
		okey = oldkey ? *oldkey : 0;
		p = oldkey ? bpf_map_lookup_elem(&procs, &okey) : NULL;
		if (p && p->pid == tgid) {
			/* The old mm is gone (exec_mmap released it); carry the
			 * process over to the new one with fresh figures. */
			wid = p->workload;
			cgroup = p->cgroup;
			untrack(okey, p, false, 0);
		} else {
			wid = find_workload(task, &cgroup);
			if (!wid)
				return 0;
			is_new = true;
		}
	}
	/* One call site: each inlined copy of track_process is verified
	 * again, and verification is most of a cold start. */
	np = track_process(task, mm, wid, cgroup, false, 0, is_new);
	if (np)
		emit(TRACK_EV_EXEC, np, bpf_map_lookup_elem(&workloads, &wid), 0);
	return 0;
}

/* 6.1: (mm, member, count); 6.2+: (mm, member). Fires for whichever mm
 * changed, often not current's (reclaim, fork, exit): attribute by mm. */
SEC("tp_btf/rss_stat")
int BPF_PROG(on_rss_stat, struct mm_struct *mm, int member)
{
	struct track_workload *w;
	struct track_proc *p;
	__u64 key = (__u64)mm;
	__s64 v, old, delta;
	__u64 rss;

	if (!mm_maybe_tracked(mm))
		return 0;
	p = bpf_map_lookup_elem(&procs, &key);
	if (!p)
		return 0;
	if (member < 0 || member >= TRACK_NR_MEMBERS)
		return 0;
	v = pages_to_bytes(mm_counter(mm, member, false));
	old = p->member_bytes[member & 3];
	/* 6.2+: the counter's global part moves once per per-CPU batch (32
	 * pages here), so most events end on this load and compare. */
	if (v == old)
		return 0;
	p->member_bytes[member & 3] = v;
	if (member == TRACK_SWAP)
		return 0;
	rss = rss_of(p);
	if (rss > p->peak_rss_bytes)
		p->peak_rss_bytes = rss;
	/* The workload's sum moves by whole quanta of a process's RSS
	 * (rss_bytes is what this process has put in the sum): no workload
	 * lookup, atomic add or threshold lookup in between. */
	delta = (__s64)rss - (__s64)p->rss_bytes;
	if (delta < RSS_QUANTUM && delta > -RSS_QUANTUM)
		return 0;
	p->rss_bytes = rss;
	w = counted_workload(p);
	if (w)
		workload_add_rss(w, p, delta);
	return 0;
}

/* 6.1: (mm, memcg_path, write); 6.18: (mm, write). Every change of the VMA
 * list happens under the write lock, so map_count read at any release is
 * exact; read releases are hooked too (cheap: a hash miss for untracked mms). */
SEC("tp_btf/mmap_lock_released")
int BPF_PROG(on_mmap_unlock, struct mm_struct *mm)
{
	struct track_proc *p;
	__u64 key = (__u64)mm;
	__u32 n;

	if (!mm_maybe_tracked(mm))
		return 0;
	p = bpf_map_lookup_elem(&procs, &key);
	if (!p)
		return 0;
	/* A dying mm (exit_mmap) is not the process's figure any more. */
	if (mm->mm_users.counter == 0)
		return 0;
	n = mm->map_count;
	if (n != p->map_count)
		proc_set_map_count(p, counted_workload(p), n);
	return 0;
}

/* What the process exits with: the group's code (exit_group, a fatal
 * signal), else the last thread's. */
static __always_inline int exit_code_of(struct task_struct *task, struct signal_struct *sig)
{
	int code = BPF_CORE_READ(sig, group_exit_code);
	return code ? code : BPF_CORE_READ(task, exit_code);
}

/* Fires for every exiting thread; the process ends with its last thread
 * (signal->live already decremented: 6.1 and 6.18 both decrement it before
 * the tracepoint). On 6.1 task->mm is already NULL here (exit_mm ran): the
 * entry is found by tgid, in procs if the mm still has other users, else in
 * "ending". */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	struct track_proc *p;
	__u32 tgid = task->tgid;
	__u64 *keyp, key;
	/* Pointers read through BPF_CORE_READ, not task->signal: on 6.18 each
	 * pointer loaded from a trusted one makes the verifier scan all of
	 * vmlinux's BTF by name (btf_nested_type_is_trusted), on every path;
	 * this program took 40 ms to verify, most of a cold start. */
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
	struct mm_struct *mm;

	if (BPF_CORE_READ(sig, live.counter) != 0)
		return 0;
	keyp = bpf_map_lookup_elem(&pids, &tgid);
	if (!keyp) {
		/* 6.1: exit_mm ran before this tracepoint, and exit_mmap took
		 * the entry out of procs. */
		p = ending_of(task, tgid);
		if (!p)
			return 0;
		emit(TRACK_EV_EXIT, p, bpf_map_lookup_elem(&workloads, &p->workload), exit_code_of(task, sig));
		bpf_map_delete_elem(&ending, &tgid);
		return 0;
	}
	key = *keyp;
	p = bpf_map_lookup_elem(&procs, &key);
	if (!p)
		return 0;
	mm = BPF_CORE_READ(task, mm);
	if (mm && BPF_CORE_READ(mm, mm_users.counter) > 0) {
		struct track_workload *w = counted_workload(p);

		/* 6.18: the mm is whole yet. Its last figures, which between
		 * sweeps (the hot programs detached) nothing else has read. */
		if (w)
			workload_add_rss(w, p, proc_sync_rss(p, mm, false));
		else
			proc_sync_rss(p, mm, false);
		proc_set_map_count(p, w, BPF_CORE_READ(mm, map_count));
	}
	untrack(key, p, true, exit_code_of(task, sig));
	return 0;
}

struct stale_ctx {
	__u64 gen;                          /* sweep_gen: staleness */
	__u64 pass;                         /* sum_pass: this pass's sums */
};

static long drop_stale(struct bpf_map *map, __u64 *key, struct track_proc *p, struct stale_ctx *c)
{
	struct sweep_sum *s, fresh = { .gen = c->pass };
	__u64 wid = p->workload;

	/* Not seen by the last two sweeps (two, so that concurrent sweeps do
	 * not drop what the other one has yet to visit), or its workload is
	 * gone. */
	if (p->sweep_gen + 1 < c->gen || !bpf_map_lookup_elem(&workloads, &wid)) {
		untrack(*key, p, false, 0);
		return 0;
	}
	/* What it adds to its workload's sum (a forked-in copy adds nothing). */
	if (p->flags & TRACK_PROC_FORKED_IN)
		return 0;
	s = bpf_map_lookup_elem(&sweep_sums, &wid);
	if (!s || s->gen != c->pass) {
		bpf_map_update_elem(&sweep_sums, &wid, &fresh, BPF_ANY);
		s = bpf_map_lookup_elem(&sweep_sums, &wid);
		if (!s)
			return 0;
	}
	s->sum += p->rss_bytes;
	return 0;
}

/* Self-healing: a workload's sum moves only by its processes' deltas, so an
 * update two CPUs raced on (a sweep and rss_stat re-syncing the same process)
 * would stay wrong. Recompute it from the processes; apply a difference only
 * when two sweeps in a row found the same one (a change in flight while the
 * sweep reads differs from one sweep to the next; a real drift does not). */
static long heal_sum(struct bpf_map *map, __u64 *key, struct track_workload *w, struct stale_ctx *c)
{
	struct sweep_sum *s = bpf_map_lookup_elem(&sweep_sums, key);
	__s64 sum = s && s->gen == c->pass ? s->sum : 0;
	__s64 diff = sum - w->rss_bytes;
	__u64 mag;

	if (!diff || diff != w->sum_pending) {
		w->sum_pending = diff;
		return 0;
	}
	__sync_fetch_and_add(&w->rss_bytes, diff);
	w->sum_pending = 0;
	mag = diff < 0 ? -diff : diff;
	raise_u64(&w->sum_max_correction, mag);
	__sync_fetch_and_add(&w->sum_corrections, 1);
	return 0;
}

/* Run by user space (bpf_iter_create + read) at start and about once a second:
 * tracks processes that were in the cgroup before the probes saw them (or were
 * moved in), re-syncs RSS exactly and map_count, drops stale entries. Prints
 * "gen N" at the end. */
SEC("iter/task")
int sweep(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct track_workload *w;
	struct track_proc *p;
	struct mm_struct *mm;
	__u64 key, wid, cgroup, gen;
	__u32 tgid;

	if (ctx->meta->seq_num == 0 && task)
		__sync_fetch_and_add(&sweep_gen, 1);
	gen = sweep_gen;
	if (!task) {
		struct stale_ctx c = { .gen = gen };

		if (__sync_val_compare_and_swap(&final_busy, 0, 1) == 0) {
			c.pass = __sync_fetch_and_add(&sum_pass, 1) + 1;
			bpf_for_each_map_elem(&procs, drop_stale, &c, 0);
			bpf_for_each_map_elem(&workloads, heal_sum, &c, 0);
			__sync_fetch_and_and(&final_busy, 0);
		}
		BPF_SEQ_PRINTF(seq, "gen %llu\n", gen);
		return 0;
	}
	if (task->flags & PF_KTHREAD)
		return 0;
	tgid = task->tgid;
	mm = task->mm;
	if (!mm || (task->flags & PF_EXITING)) {
		/* Exiting: keep its entry alive until the exit record goes out. */
		__u64 *k = bpf_map_lookup_elem(&pids, &tgid);

		p = k ? bpf_map_lookup_elem(&procs, k) : NULL;
		if (p)
			p->sweep_gen = gen;
		return 0;
	}
	key = (__u64)mm;
	p = bpf_map_lookup_elem(&procs, &key);
	if (p && p->pid != tgid) {
		/* A freed mm's entry, its address now reused: track afresh. */
		untrack(key, p, false, 0);
		p = NULL;
	}
	if (p) {
		if (p->sweep_gen == gen && task->pid != tgid)
			return 0;
		p->sweep_gen = gen;
		if (task->pid == tgid)
			bpf_probe_read_kernel_str(p->comm, sizeof(p->comm), task->comm);
		w = counted_workload(p);
		if (w)
			workload_add_rss(w, p, proc_sync_rss(p, mm, true));
		else
			proc_sync_rss(p, mm, true);
		if (mm->mm_users.counter > 0)
			proc_set_map_count(p, w, mm->map_count);
		return 0;
	}
	/* Read, not walked: see on_exit (the verifier's BTF scan). */
	if (BPF_CORE_READ(task, signal, live.counter) == 0)
		return 0;
	wid = find_workload(task, &cgroup);
	if (wid)
		track_process(task, mm, wid, cgroup, true, 0, true);
	return 0;
}
