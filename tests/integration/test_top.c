/*
 * supervise top on a real terminal (tmux, on a private server socket): both
 * workloads' names and plausible RSS on the screen, s shows one workload's
 * processes, a resize to 80x24 keeps the screen, q exits 0 and restores the
 * terminal; -b frames are plain text; --json frames parse.
 */
#include "operators.h"

static char tmux_sock[64];

/* Our own tmux server goes too, also when an assertion ended the test. */
static void top_teardown(void)
{
	if (*tmux_sock) {
		char *cmd = h_strf("tmux -L %s kill-server >/dev/null 2>&1", tmux_sock);
		(void)!system(cmd);
		free(cmd);
		*tmux_sock = '\0';
	}
	op_teardown();
}

TestSuite(top, .init = op_setup, .fini = top_teardown, .timeout = 120);

static char *tmux(const char *fmt, const char *arg)
{
	char *sub = h_strf(fmt, arg);
	char *cmd = h_strf("tmux -L %s %s 2>&1", tmux_sock, sub);
	char *out = op_sh(cmd, NULL);
	free(sub);
	free(cmd);
	return out;
}

static char *capture(void)
{
	return tmux("capture-pane -p -t top%s", "");
}

/* Wait until the pane shows every one of needles (NULL-terminated). */
static char *wait_screen(const char *const *needles, double timeout_s)
{
	char *s = NULL;
	for (double end = h_now() + timeout_s;; h_sleep_ms(200)) {
		free(s);
		s = capture();
		bool all = true;
		for (size_t i = 0; needles[i]; i++)
			all = all && strstr(s, needles[i]);
		if (all || h_now() > end)
			return s;
	}
}

/* "64.9MiB" in a row that starts with name: bytes, or -1. */
static double row_rss(const char *screen, const char *name)
{
	for (const char *l = screen; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, name, strlen(name)) || l[strlen(name)] != ' ')
			continue;
		char n[64], backend[16], rss[32];
		if (sscanf(l, "%63s %15s %31s", n, backend, rss) != 3)
			return -1;
		char *unit;
		double v = strtod(rss, &unit);
		double mul = !strncmp(unit, "GiB", 3) ? 1 << 30 : !strncmp(unit, "MiB", 3) ? 1 << 20
			   : !strncmp(unit, "KiB", 3) ? 1 << 10 : 1;
		return v * mul;
	}
	return -1;
}

Test(top, screen_under_tmux)
{
	if (!op_have("tmux"))
		cr_skip_test("tmux is not installed: scripts/setup.sh installs it");
	snprintf(tmux_sock, sizeof(tmux_sock), "sv-test-top-%d", (int)getpid());
	struct h_proc a, b;
	op_start_workload(&a, "top-hog", (const char *const[]){ h_helper("memhog"), "64", "120", NULL });
	op_start_workload(&b, "top-idle", (const char *const[]){ "sleep", "120", NULL });
	char *leaf = op_leaf("top-hog");
	H_ASSERT(&a, op_wait_rss(leaf, 64ull << 20, H_TIMEOUT_S), "memhog never reached 64 MiB");

	char *shell = h_strf("env SUPERVISE_RUNTIME_DIR=%s SUPERVISE_BPF_PIN_DIR=%s TERM=screen %s top --delay 0.5; "
			     "echo TOP-EXIT=$?; sleep 120",
			     H.runtime_dir, h_pin_dir, H.bin);
	char *quoted = h_strf("'%s'", shell);
	char *out = tmux("new-session -d -s top -x 100 -y 30 %s", quoted);
	cr_assert(!*out, "tmux new-session: %s", out);

	char *s = wait_screen((const char *const[]){ "top-hog", "top-idle", "supervise top", NULL }, 15);
	cr_assert(strstr(s, "top-hog") && strstr(s, "top-idle"), "both workloads on the screen:\n%s", s);
	cr_assert(strstr(s, "vm.max_map_count 65530") || strstr(s, "vm.max_map_count "), "the host header:\n%s", s);
	double rss = row_rss(s, "top-hog");
	uint64_t proc = op_proc_rss(leaf);
	cr_assert(rss > 0 && fabs(rss - proc) / proc < 0.10, "top-hog's RSS on screen %.0f vs /proc %" PRIu64 ":\n%s",
		  rss, proc, s);
	cr_assert(strchr(s, '\x1b') == NULL, "escape codes leaked into the text:\n%s", s);

	/* s: the selected workload (the heaviest, first by RSS) and its processes. */
	free(tmux("send-keys -t top s%s", ""));
	s = wait_screen((const char *const[]){ "PID", "COMM", "memhog", NULL }, 10);
	cr_assert(strstr(s, "PID") && strstr(s, "memhog") && !strstr(s, "top-idle "),
		  "after s: top-hog's processes:\n%s", s);
	/* Enter: back to the list. */
	free(tmux("send-keys -t top Enter%s", ""));
	s = wait_screen((const char *const[]){ "top-idle", "NAME", NULL }, 10);
	cr_assert(strstr(s, "top-idle") && strstr(s, "NAME"), "after Enter: the list again:\n%s", s);

	/* An ssh-sized terminal: the screen is redrawn to fit. */
	free(tmux("resize-window -t top -x 80 -y 24%s", ""));
	h_sleep_ms(1200);
	s = capture();
	cr_assert(strstr(s, "top-hog") && strstr(s, "q quit"), "after a resize to 80x24:\n%s", s);
	for (const char *l = s; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
		cr_assert(strcspn(l, "\n") <= 80, "a line wider than 80 columns:\n%s", s);

	free(tmux("send-keys -t top q%s", ""));
	s = wait_screen((const char *const[]){ "TOP-EXIT=", NULL }, 10);
	cr_assert(strstr(s, "TOP-EXIT=0"), "q should exit 0:\n%s", s);
	/* The terminal is restored: top's screen is gone, the shell's is back. */
	cr_assert(!strstr(s, "supervise top -") && !strstr(s, "top-hog"), "top's screen was left behind:\n%s", s);
	free(tmux("kill-server%s", ""));
	kill(a.pid, SIGTERM);
	kill(b.pid, SIGTERM);
	h_finish(&a, H_TIMEOUT_S);
	h_finish(&b, H_TIMEOUT_S);
}

Test(top, batch_frames_are_plain_text)
{
	struct h_proc w, p;
	op_start_workload(&w, "top-b", (const char *const[]){ "sleep", "60", NULL });
	h_run(&p, "top", "-b", "-n", "2", "--delay", "0.2");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, h_count(p.out.data, "supervise top - ") == 2, "2 frames");
	H_ASSERT(&p, h_count(p.out.data, "\ntop-b ") == 2, "the workload's row in each frame");
	H_ASSERT(&p, h_count(p.out.data, "sleep") >= 2, "its process in each frame");
	H_ASSERT(&p, !strchr(p.out.data, '\x1b'), "no escape codes in -b output");
	h_proc_free(&p);
	h_run(&p, "top", "--json", "-n", "2", "--delay", "0.2");
	H_ASSERT_EXIT(&p, 0);
	int frames = 0;
	for (char *l = p.out.data, *nl; (nl = strchr(l, '\n')); l = nl + 1) {
		*nl = '\0';
		struct json_object *o = json_tokener_parse(l), *ws;
		H_ASSERT(&p, o && json_object_object_get_ex(o, "workloads", &ws) && json_object_array_length(ws) == 1,
			 "frame %d is not a JSON document with one workload: %s", frames + 1, l);
		struct json_object *e = json_object_array_get_idx(ws, 0), *v;
		H_ASSERT(&p, json_object_object_get_ex(e, "name", &v) && !strcmp(json_object_get_string(v), "top-b"),
			 "name: %s", l);
		H_ASSERT(&p, json_object_object_get_ex(e, "rss_bytes", &v) && json_object_get_int64(v) > 0, "rss: %s", l);
		json_object_put(o);
		frames++;
	}
	H_ASSERT(&p, frames == 2, "2 JSON frames, got %d", frames);
	kill(w.pid, SIGTERM);
	h_finish(&w, H_TIMEOUT_S);
	H_ASSERT_EXIT(&w, 143);
}

Test(top, says_when_no_workload_runs)
{
	struct h_proc p;
	h_run(&p, "top", "-b", "-n", "1");
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.out.data, "No workloads are running under supervise"), "the empty screen");
	h_proc_free(&p);
	h_run(&p, "top", "--listen", "x");
	H_ASSERT_EXIT(&p, 125);
	H_ASSERT(&p, strstr(p.err.data, "options of 'supervise exporter'"), "a clear error");
}
