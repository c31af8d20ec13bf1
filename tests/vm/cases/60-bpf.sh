# The BPF monitor on an older kernel: Debian's 6.1 has BTF and every probe the
# design uses (tp_btf task_newtask, sched_process_exec, rss_stat,
# mmap_lock_released, sched_process_exit; iter/task), but a different
# mm->rss_stat layout than the 6.18 host. Loading here proves the CO-RE
# relocations work (MACHINE.md). bpffs is mounted at /sys/fs/bpf by init.

t=bpf-backend
rm -f /tmp/bpf.json
sv /tmp/bpf.out /tmp/bpf.err --summary-json /tmp/bpf.json -- memhog 32 1
backend=$(json_str backend /tmp/bpf.json)
pk=$(json_num peak_rss_bytes /tmp/bpf.json)
msg=$(tr '\n' ' ' </tmp/bpf.err)
figures="rc=$rc backend=${backend:-null} peak_rss_bytes=$pk stderr: $msg"
note "$t: $figures"
if [ $rc -ne 0 ]; then
	fail $t "supervise -- memhog 32 1 exited $rc: $figures"
elif [ -z "$backend" ]; then
	# Every run has a monitor: a null backend is our failure, not the lane's.
	fail $t "the summary names no monitor backend: $figures"
elif [ "$backend" != bpf ]; then
	fail $t "the BPF probes did not load on $(uname -r): $figures"
else
	# memhog touched 32 MiB; RSS from the kernel's counters lags by a few
	# batches, and the binary and libc add their pages.
	case "$pk" in
	'' | *[!0-9]*) fail $t "peak_rss_bytes is not a number: $figures" ;;
	*) if [ "$pk" -ge $((28 * MIB)) ] && [ "$pk" -le $((48 * MIB)) ]; then pass $t; else
		fail $t "want peak_rss_bytes in [28MiB, 48MiB] for memhog 32: $figures"; fi ;;
	esac
fi
