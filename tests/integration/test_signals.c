/*
 * Signal forwarding: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH
 * sent to supervise reach the workload's main process, which here catches them,
 * reports which one it got and exits 100+N.
 */
#include "harness.h"

TestSuite(signals, .init = h_setup, .fini = h_teardown, .timeout = 120);

static void expect_forwarded(int sig)
{
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--", h_helper("sigecho"));
	char *ready = h_wait_line(&p, "ready ", H_TIMEOUT_S);
	H_ASSERT(&p, ready, "the workload never printed its ready line");
	int wpid = 0;
	sscanf(ready, "ready %d", &wpid);
	H_ASSERT(&p, wpid > 0 && wpid != p.pid, "ready line names the workload's pid: %s", ready);

	H_ASSERT(&p, kill(p.pid, sig) == 0, "kill(%d, %d): %s", (int)p.pid, sig, strerror(errno));
	h_finish(&p, H_TIMEOUT_S);

	char *got = h_strf("got %d\n", sig);
	H_ASSERT(&p, strstr(p.out.data, got), "the workload should report signal %d (%s)", sig,
		 strsignal(sig));
	H_ASSERT_EXIT(&p, 100 + sig);
	H_ASSERT_CLEAN(&p);
	free(got);
	free(ready);
	h_proc_free(&p);
}

Test(signals, sigint) { expect_forwarded(SIGINT); }
Test(signals, sigterm) { expect_forwarded(SIGTERM); }
Test(signals, sighup) { expect_forwarded(SIGHUP); }
Test(signals, sigquit) { expect_forwarded(SIGQUIT); }
Test(signals, sigusr1) { expect_forwarded(SIGUSR1); }
Test(signals, sigusr2) { expect_forwarded(SIGUSR2); }
Test(signals, sigwinch) { expect_forwarded(SIGWINCH); }

/* SIGWINCH to a workload that leaves it at its default (ignore) does not end the run. */
Test(signals, sigwinch_default_does_not_end_the_run)
{
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--", h_helper("sigecho"), "--default");
	char *ready = h_wait_line(&p, "ready ", H_TIMEOUT_S);
	H_ASSERT(&p, ready, "the workload never printed its ready line");
	int wpid = 0;
	sscanf(ready, "ready %d", &wpid);

	H_ASSERT(&p, kill(p.pid, SIGWINCH) == 0, "kill: %s", strerror(errno));
	h_sleep_ms(300);
	H_ASSERT(&p, !h_poll_exit(&p), "supervise ended on SIGWINCH");
	H_ASSERT(&p, wpid > 0 && !h_pid_gone(wpid), "the workload %d ended on SIGWINCH", wpid);

	kill(p.pid, SIGTERM);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 128 + SIGTERM);
	free(ready);
	h_proc_free(&p);
}

/* Several signals in a row all arrive, and supervise keeps running meanwhile. */
Test(signals, several_in_a_row)
{
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--", "sh", "-c",
		"trap 'echo got-usr1' USR1; trap 'echo got-hup' HUP; trap 'echo got-term; exit 9' TERM;"
		" echo ready; while :; do sleep 0.05; done");
	char *ready = h_wait_line(&p, "ready", H_TIMEOUT_S);
	H_ASSERT(&p, ready, "the workload never printed its ready line");

	kill(p.pid, SIGUSR1);
	char *l1 = h_wait_line(&p, "got-usr1", 5);
	H_ASSERT(&p, l1, "SIGUSR1 did not reach the workload");
	kill(p.pid, SIGHUP);
	char *l2 = h_wait_line(&p, "got-hup", 5);
	H_ASSERT(&p, l2, "SIGHUP did not reach the workload");
	H_ASSERT(&p, !h_poll_exit(&p), "supervise should still run");
	kill(p.pid, SIGTERM);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT(&p, strstr(p.out.data, "got-term"), "SIGTERM did not reach the workload");
	H_ASSERT_EXIT(&p, 9);
	H_ASSERT_CLEAN(&p);
	free(ready);
	free(l1);
	free(l2);
	h_proc_free(&p);
}

/*
 * The workload starts with no blocked and no ignored signals, whatever supervise
 * does with its own signals (signalfd, SIGPIPE…): otherwise a forwarded signal
 * or a broken pipe would not end it.
 */
Test(signals, workload_starts_with_clean_signal_state)
{
	struct h_proc p;
	h_run(&p, "--cgroup-base", H.base, "--", "grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.out.data, "SigBlk:\t0000000000000000\n"), "the workload starts with blocked signals");
	H_ASSERT(&p, strstr(p.out.data, "SigIgn:\t0000000000000000\n"), "the workload starts with ignored signals");
	h_proc_free(&p);
}

/* One signal sent to supervise is delivered to the workload once. */
Test(signals, delivered_once)
{
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--", h_helper("sigecho"), "--count");
	char *ready = h_wait_line(&p, "ready ", H_TIMEOUT_S);
	H_ASSERT(&p, ready, "the workload never printed its ready line");
	kill(p.pid, SIGINT);
	h_finish(&p, H_TIMEOUT_S);
	H_ASSERT_EXIT(&p, 0);
	char *want = h_strf("count 1 %d\n", SIGINT);
	H_ASSERT(&p, strstr(p.out.data, want), "one SIGINT to supervise should reach the workload once");
	free(want);
	free(ready);
	h_proc_free(&p);
}

/*
 * ^C typed in the terminal supervise runs in: the workload gets one SIGINT, not
 * one from the terminal and a second one forwarded by supervise (tools that take
 * a second ^C as "quit now" would quit at once). Two deliveries close together
 * can merge into one pending signal, so a bug may hide in one round: three rounds.
 */
Test(signals, ctrl_c_in_a_terminal_arrives_once)
{
	for (int round = 0; round < 3; round++) {
		struct h_proc p;
		struct h_opts o = { .tty = true };
		h_startv(&p, &o, (const char *const[]){ "--cgroup-base", H.base, "--", h_helper("sigecho"), "--count", NULL });
		char *ready = h_wait_line(&p, "ready ", H_TIMEOUT_S);
		H_ASSERT(&p, ready, "the workload never printed its ready line");
		H_ASSERT(&p, write(p.tty_fd, "\x03", 1) == 1, "typing ^C: %s", strerror(errno));
		h_finish(&p, H_TIMEOUT_S);
		H_ASSERT_EXIT(&p, 0);
		char *want = h_strf("count 1 %d\n", SIGINT);
		H_ASSERT(&p, strstr(p.out.data, want), "round %d: one ^C should reach the workload as one SIGINT", round + 1);
		free(want);
		free(ready);
		h_proc_free(&p);
	}
}
