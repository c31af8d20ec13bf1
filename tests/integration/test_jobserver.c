/*
 * The jobserver with real clients: GNU make 4.3 (pipe style), the jstoken helper
 * (both styles), cargo (both styles, offline, path-only crates), a token lost
 * with a SIGKILLed job, and memory-following synthetic jobs under a budget.
 *
 * Jobs log "start NAME T" / "end NAME T" lines; concurrency is counted from
 * them (an end at the same instant as a start counts first). Every test gets
 * its own SUPERVISE_CACHE_DIR so learned footprints never touch the real cache.
 */
#include "harness.h"

/* A probe set of our own (SUPERVISE_BPF_PIN_DIR): a supervise built from another
 * tree with another TRACK_VERSION, running at the same time on this host, would
 * replace the shared set under our feet (thresholds and readings gone). */
static void js_setup(void)
{
	h_setup();
	h_private_pin_dir();
}

static void js_teardown(void)
{
	h_teardown();
	h_remove_pin_dir();
}

TestSuite(jobserver, .init = js_setup, .fini = js_teardown, .timeout = 180);

/* The bpf backend did not load (exit 125, "monitor:"): a skip only where
 * `supervise check` says BPF cannot work on this machine; where it says BPF
 * loads, our own probes failing is the failure this test exists to catch. */
static void bpf_did_not_load(struct h_proc *p)
{
	if (!(h_exited_with(p, 125) && strstr(p->err.data, "monitor:")))
		return;
	struct h_proc c;
	h_run(&c, "check");
	bool works = strstr(c.out.data, "ok   BPF") != NULL;
	H_ASSERT(p, !works, "the bpf backend did not load although 'supervise check' says BPF works:\n%s",
		 c.out.data);
	cr_skip_test("needs the bpf backend, which this machine cannot load ('supervise check': %s)", c.out.data);
}

static void private_cache(void)
{
	char *c = h_strf("%s/cache", H.scratch);
	setenv("SUPERVISE_CACHE_DIR", c, 1);
	free(c);
}

static bool have_program(const char *name)
{
	char *cmd = h_strf("command -v %s >/dev/null 2>&1", name);
	int r = system(cmd);
	free(cmd);
	return r == 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

struct conc {
	int max;            /* most jobs at once over the whole log */
	int max_after;      /* most jobs at once from time `after` on */
	int starts;
	double first, last; /* first start, last end */
	double marker;      /* time of a "killed" line, 0 when none */
};

struct ev {
	double t;
	int d;
};

static int cmp_ev(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->d - y->d; /* ends (-1) before starts (+1) */
}

/* Count concurrency from a start/end log; after: only count from then (0: all). */
static struct conc concurrency(const char *log, double after)
{
	struct conc c = {};
	FILE *f = fopen(log, "r");
	cr_assert(f, "no job log %s: %s", log, strerror(errno));
	static struct ev ev[8192];
	size_t n = 0;
	char kind[32], name[64];
	double t;
	while (n < 8192 && fscanf(f, "%31s %63s %lf", kind, name, &t) == 3) {
		if (!strcmp(kind, "killed")) {
			c.marker = t;
			continue;
		}
		ev[n++] = (struct ev){ t, !strcmp(kind, "start") ? 1 : -1 };
	}
	fclose(f);
	qsort(ev, n, sizeof(ev[0]), cmp_ev);
	int cur = 0;
	bool crossed = false;
	for (size_t i = 0; i < n; i++) {
		/* Jobs already running at `after` count too. */
		if (after && !crossed && ev[i].t >= after) {
			crossed = true;
			c.max_after = cur;
		}
		cur += ev[i].d;
		if (ev[i].d > 0) {
			c.starts++;
			if (!c.first)
				c.first = ev[i].t;
		} else {
			c.last = ev[i].t;
		}
		if (cur > c.max)
			c.max = cur;
		if (after && ev[i].t >= after && cur > c.max_after)
			c.max_after = cur;
	}
	return c;
}

static struct json_object *summary(const char *path, const struct h_proc *p)
{
	struct json_object *o = json_object_from_file(path);
	H_ASSERT(p, o, "summary %s missing or not JSON", path);
	return o;
}

static int64_t jint(struct json_object *o, const char *obj, const char *key)
{
	struct json_object *a, *v;
	cr_assert(json_object_object_get_ex(o, obj, &a) && json_object_object_get_ex(a, key, &v),
		  "summary has no %s.%s", obj, key);
	return json_object_get_int64(v);
}

static const char *jstr(struct json_object *o, const char *obj, const char *key)
{
	struct json_object *a, *v;
	cr_assert(json_object_object_get_ex(o, obj, &a) && json_object_object_get_ex(a, key, &v),
		  "summary has no %s.%s", obj, key);
	return json_object_get_string(v);
}

/* make's own complaints about a jobserver it cannot use or that it mistrusts. */
static void assert_no_make_jobserver_warnings(const struct h_proc *p)
{
	static const char *const bad[] = { "jobserver unavailable", "INTERNAL: Exiting with", "forced in submake",
					   "resetting jobserver mode", "jobserver tokens", NULL };
	for (size_t i = 0; bad[i]; i++)
		H_ASSERT(p, !strstr(p->err.data, bad[i]) && !strstr(p->out.data, bad[i]),
			 "make printed a jobserver warning (\"%s\")", bad[i]);
}

/* A Makefile of n jobs that each log start/end around `sleep secs`. */
static char *make_jobs_makefile(int n, const char *secs, const char *extra_first)
{
	char *mk = h_strf("%s/Makefile", H.scratch);
	char *log = h_strf("%s/log", H.scratch);
	char *text = h_strf("LOG := %s\n"
			    "JOBS := $(addprefix j,$(shell seq 1 %d))\n"
			    "all: %s $(JOBS)\n"
			    "j%%:\n"
			    "\t@echo start $@ $$(date +%%s.%%N) >> $(LOG); sleep %s; echo end $@ $$(date +%%s.%%N) >> $(LOG)\n"
			    "%s",
			    log, n, extra_first ? "steal" : "", secs, extra_first ? extra_first : "");
	write_text(mk, text);
	free(text);
	free(log);
	return mk;
}

Test(jobserver, make_40_jobs_never_exceed_the_job_count)
{
	if (!have_program("make"))
		cr_skip_test("GNU make is not installed");
	private_cache();
	char *mk = make_jobs_makefile(40, "0.15", NULL);
	char *log = h_strf("%s/log", H.scratch);
	char *sum = h_strf("%s/s.json", H.scratch);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--summary-json", sum, "--jobs", "4", "--", "make", "-f", mk);
	h_finish(&p, 120);
	H_ASSERT_EXIT(&p, 0);
	assert_no_make_jobserver_warnings(&p);
	struct conc c = concurrency(log, 0);
	H_ASSERT(&p, c.starts == 40, "40 jobs should have run, the log has %d", c.starts);
	/* --jobs 4 is make -j4: 3 tokens in the pipe + make's implicit one. */
	H_ASSERT(&p, c.max <= 4, "at most 4 jobs at once with --jobs 4, saw %d", c.max);
	H_ASSERT(&p, c.max >= 3, "the jobserver should let make run jobs in parallel, at most %d ran at once", c.max);
	struct json_object *o = summary(sum, &p);
	H_ASSERT(&p, !strcmp(jstr(o, "jobs", "style"), "pipe"), "jobs.style %s", jstr(o, "jobs", "style"));
	H_ASSERT(&p, jint(o, "jobs", "tokens_max") == 4 && jint(o, "jobs", "tokens_min") == 4,
		 "tokens_min/max should be 4/4: %" PRId64 "/%" PRId64, jint(o, "jobs", "tokens_min"),
		 jint(o, "jobs", "tokens_max"));
	json_object_put(o);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
}

Test(jobserver, make_dash_j_is_warned_with_the_fix)
{
	if (!have_program("make"))
		cr_skip_test("GNU make is not installed");
	private_cache();
	char *mk = make_jobs_makefile(2, "0", NULL);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--jobs", "2", "--", "make", "-j3", "-f", mk);
	h_finish(&p, 60);
	H_ASSERT_EXIT(&p, 0);
	H_ASSERT(&p, strstr(p.err.data, "drop '-j3'"), "supervise should warn about make -j3 and say to drop it");
	h_proc_free(&p);
}

Test(jobserver, fifo_style_clients_share_the_tokens)
{
	private_cache();
	char *log = h_strf("%s/log", H.scratch);
	/* 12 clients at once, each needing a token: --jobs 3 puts 2 in the fifo. */
	char *script = h_strf("for i in $(seq 1 12); do %s run %s sleep 0.2 & done; wait", h_helper("jstoken"), log);
	char *sum = h_strf("%s/s.json", H.scratch);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--summary-json", sum, "--jobs", "3", "--jobserver-style", "fifo", "--",
		"sh", "-c", script);
	h_finish(&p, 60);
	H_ASSERT_EXIT(&p, 0);
	struct conc c = concurrency(log, 0);
	H_ASSERT(&p, c.starts == 12, "12 clients should have run, the log has %d", c.starts);
	H_ASSERT(&p, c.max == 2, "2 tokens in the fifo: exactly 2 clients at once expected, saw %d", c.max);
	struct json_object *o = summary(sum, &p);
	H_ASSERT(&p, !strcmp(jstr(o, "jobs", "style"), "fifo"), "jobs.style %s", jstr(o, "jobs", "style"));
	json_object_put(o);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
}

Test(jobserver, token_lost_with_a_killed_job_is_reminted)
{
	if (!have_program("make"))
		cr_skip_test("GNU make is not installed");
	private_cache();
	char *log = h_strf("%s/log", H.scratch);
	/* "steal" runs first: a recursive recipe ('+': it inherits the jobserver)
	 * whose jstoken takes a token and SIGKILLs itself, as a submake killed
	 * while holding one would. */
	char *steal = h_strf("steal:\n\t+@sh -c '%s take-and-die; true'; echo killed steal $$(date +%%s.%%N) >> $(LOG)\n",
			     h_helper("jstoken"));
	char *mk = make_jobs_makefile(64, "0.25", steal);
	char *sum = h_strf("%s/s.json", H.scratch);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--summary-json", sum, "--jobs", "4", "--", "make", "-f", mk);
	h_finish(&p, 120);
	H_ASSERT_EXIT(&p, 0);
	assert_no_make_jobserver_warnings(&p);
	struct conc c0 = concurrency(log, 0);
	H_ASSERT(&p, c0.marker > 0, "the token thief did not run");
	/* Three audits 0.5 s apart agree on the loss; from 2 s after it, full width again. */
	struct conc c = concurrency(log, c0.marker + 2.0);
	H_ASSERT(&p, c.starts == 64, "64 jobs should have run, the log has %d", c.starts);
	H_ASSERT(&p, c.max <= 4, "re-minting must not exceed --jobs 4: saw %d at once", c.max);
	H_ASSERT(&p, c.last > c0.marker + 2.5, "the build ended too soon after the loss to see the width again");
	H_ASSERT(&p, c.max_after == 4, "after re-minting the build should run 4 jobs at once again, saw %d",
		 c.max_after);
	struct json_object *o = summary(sum, &p);
	H_ASSERT(&p, jint(o, "jobs", "reminted") == 1, "jobs.reminted should be 1, is %" PRId64,
		 jint(o, "jobs", "reminted"));
	json_object_put(o);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
}

Test(jobserver, memory_following_jobs_stay_within_the_budget)
{
	if (!have_program("make"))
		cr_skip_test("GNU make is not installed");
	private_cache();
	/* cc1 and lto1 are memhog under the names of a light compile and a heavy
	 * link: footprints are learned per command name. */
	char *cc1 = h_strf("%s/cc1", H.scratch), *lto1 = h_strf("%s/lto1", H.scratch);
	cr_assert(symlink(h_helper("memhog"), cc1) == 0 && symlink(h_helper("memhog"), lto1) == 0, "symlink: %s",
		  strerror(errno));
	char *log = h_strf("%s/log", H.scratch);
	char *mk = h_strf("%s/Makefile", H.scratch);
	char *text = h_strf("LOG := %s\n"
			    "LIGHT := $(addprefix l,$(shell seq 1 20))\n"
			    "all: $(LIGHT) h1 h2\n"
			    "l%%:\n\t@echo start $@ $$(date +%%s.%%N) >> $(LOG); %s $$(( 40 + ($* * 37) %% 80 )) 1 4; "
			    "echo end $@ $$(date +%%s.%%N) >> $(LOG)\n"
			    "h%%:\n\t@echo start $@ $$(date +%%s.%%N) >> $(LOG); %s 600 1 8; "
			    "echo end $@ $$(date +%%s.%%N) >> $(LOG)\n",
			    log, cc1, lto1);
	write_text(mk, text);
	char *sum = h_strf("%s/s.json", H.scratch);
	struct h_proc p;
	/* The bpf backend: woken within a millisecond of a crossing. The procfs
	 * poller (100 ms) can be overrun by jobs that touch 600 MiB that fast
	 * (docs/jobserver.md). */
	h_start(&p, "--cgroup-base", H.base, "--summary-json", sum, "--backend", "bpf", "--mem", "1GiB", "--jobs",
		"1-8", "--", "make", "-f", mk);
	h_finish(&p, 150);
	bpf_did_not_load(&p);
	H_ASSERT_EXIT(&p, 0);
	struct json_object *o = summary(sum, &p);
	int64_t peak = jint(o, "memory", "peak_rss_bytes");
	H_ASSERT(&p, peak <= (1ll << 30), "summed RSS peaked at %" PRId64 " MiB, above the 1024 MiB budget", peak >> 20);
	H_ASSERT(&p, peak >= 600ll << 20, "a 600 MiB job ran: the peak %" PRId64 " MiB cannot be right", peak >> 20);
	struct conc c = concurrency(log, 0);
	H_ASSERT(&p, c.starts == 22, "22 jobs should have run, the log has %d", c.starts);
	/* Light jobs (40-120 MiB) run several at once under the 1 GiB budget. */
	H_ASSERT(&p, c.max >= 3, "light jobs should run at least 3 at once, at most %d did", c.max);
	H_ASSERT(&p, jint(o, "jobs", "tokens_min") < jint(o, "jobs", "tokens_max"),
		 "the token target should have moved with memory: %" PRId64 "..%" PRId64,
		 jint(o, "jobs", "tokens_min"), jint(o, "jobs", "tokens_max"));
	H_ASSERT(&p, !strcmp(jstr(o, "memory", "enforced_by"), h_base_has_controller("memory") ? "kernel" : "supervise"),
		 "memory.enforced_by %s", jstr(o, "memory", "enforced_by"));
	json_object_put(o);
	/* The second run starts from what the first learned. */
	char *fp = h_strf("%s/cache/footprints", H.scratch);
	char buf[8192];
	H_ASSERT(&p, h_read_file(fp, buf, sizeof(buf)) > 0 && strstr(buf, "\nlto1 ") && strstr(buf, "\ncc1 "),
		 "learned footprints of cc1 and lto1 should be in %s:\n%s", fp, buf);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
}

/* ---- cargo ------------------------------------------------------------------ */

static void cargo_workspace(const char *dir)
{
	char *p = h_strf("%s/Cargo.toml", dir);
	write_text(p, "[workspace]\nmembers = [\"c1\",\"c2\",\"c3\",\"c4\",\"c5\",\"c6\"]\nresolver = \"2\"\n");
	free(p);
	for (int i = 1; i <= 6; i++) {
		char *d = h_strf("%s/c%d/src", dir, i);
		char *cmd = h_strf("mkdir -p %s", d);
		cr_assert(system(cmd) == 0);
		char *toml = h_strf("%s/c%d/Cargo.toml", dir, i);
		char *t = h_strf("[package]\nname = \"c%d\"\nversion = \"0.1.0\"\nedition = \"2021\"\n", i);
		write_text(toml, t);
		char *lib = h_strf("%s/lib.rs", d);
		char *l = h_strf("pub fn f() -> u32 { %d }\n", i);
		write_text(lib, l);
		free(d), free(cmd), free(toml), free(t), free(lib), free(l);
	}
	/* A rustc wrapper that logs each compilation (not cargo's -vV and
	 * "--crate-name ___" target probes) and
	 * makes it last 0.4 s, so overlapping compilations are visible. */
	char *w = h_strf("%s/wrap.sh", dir);
	write_text(w, "#!/bin/sh\n"
		      "case \" $* \" in *\" --crate-name ___ \"*) exec \"$@\";; *\" --crate-name \"*) ;; *) exec \"$@\";; esac\n"
		      "echo \"start $$ $(date +%s.%N)\" >> \"$JLOG\"; sleep 0.4; \"$@\"; rc=$?\n"
		      "echo \"end $$ $(date +%s.%N)\" >> \"$JLOG\"; exit $rc\n");
	chmod(w, 0755);
	free(w);
}

static void cargo_run(const char *style, const char *jobs, int want_max)
{
	if (!have_program("cargo"))
		cr_skip_test("cargo is not installed");
	private_cache();
	char *ws = h_strf("%s/ws", H.scratch);
	cr_assert(mkdir(ws, 0755) == 0);
	cargo_workspace(ws);
	char *log = h_strf("%s/log", H.scratch);
	char *wrap = h_strf("%s/wrap.sh", ws);
	char *manifest = h_strf("%s/Cargo.toml", ws);
	char *target = h_strf("%s/target", ws);
	setenv("JLOG", log, 1);
	setenv("RUSTC_WRAPPER", wrap, 1);
	setenv("CARGO_TARGET_DIR", target, 1);
	char *sum = h_strf("%s/s.json", H.scratch);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--summary-json", sum, "--jobs", jobs, "--jobserver-style", style, "--",
		"cargo", "build", "--offline", "--manifest-path", manifest);
	h_finish(&p, 150);
	unsetenv("RUSTC_WRAPPER");
	unsetenv("JLOG");
	unsetenv("CARGO_TARGET_DIR");
	H_ASSERT_EXIT(&p, 0);
	struct conc c = concurrency(log, 0);
	H_ASSERT(&p, c.starts == 6, "6 crates should have been compiled, the log has %d", c.starts);
	H_ASSERT(&p, c.max == want_max, "--jobs %s: expected exactly %d rustc at once (cargo alone runs one per CPU), saw %d",
		 jobs, want_max, c.max);
	struct json_object *o = summary(sum, &p);
	H_ASSERT(&p, !strcmp(jstr(o, "jobs", "style"), style), "jobs.style %s", jstr(o, "jobs", "style"));
	json_object_put(o);
	h_proc_free(&p);
}

/* cargo alone runs one rustc per CPU; through the jobserver --jobs 1 serialises
 * them and --jobs 3 runs 3 (more than this host's CPUs when it has 2). */
Test(jobserver, cargo_pipe_style_one_job) { cargo_run("pipe", "1", 1); }
Test(jobserver, cargo_fifo_style_three_jobs) { cargo_run("fifo", "3", 3); }

/* Where the kernel does not enforce memory (hybrid hosts), supervise kills at
 * the budget when nothing is left to pause: exit 137, and a message naming
 * the budget, the peak and the largest process. */
Test(jobserver, kill_at_the_budget_when_nothing_can_be_paused)
{
	if (h_base_has_controller("memory"))
		cr_skip_test("the kernel enforces memory.max below %s: it OOM-kills, not supervise", H.base);
	private_cache();
	char *sum = h_strf("%s/s.json", H.scratch);
	struct h_proc p;
	h_start(&p, "--cgroup-base", H.base, "--summary-json", sum, "--backend", "bpf", "--mem", "256MiB", "--jobs", "2",
		"--", h_helper("memhog"), "600", "10");
	h_finish(&p, 60);
	bpf_did_not_load(&p);
	H_ASSERT_EXIT(&p, 137);
	H_ASSERT(&p, strstr(p.err.data, "budget 256MiB") && strstr(p.err.data, "peak") && strstr(p.err.data, "memhog"),
		 "the message should name the budget, the peak and the process");
	/* Killed as it crossed: well before it touched 600 MiB. */
	struct json_object *o = summary(sum, &p);
	int64_t peak = jint(o, "memory", "peak_rss_bytes");
	H_ASSERT(&p, peak >= 256ll << 20 && peak < 320ll << 20, "peak %" PRId64 " MiB: want in [256, 320) MiB",
		 peak >> 20);
	H_ASSERT(&p, !strcmp(jstr(o, "memory", "enforced_by"), "supervise"), "enforced_by %s",
		 jstr(o, "memory", "enforced_by"));
	json_object_put(o);
	H_ASSERT_CLEAN(&p);
	h_proc_free(&p);
}

/* Jobs started so far, from the job log (0 before it exists). */
static int count_starts(const char *log)
{
	FILE *f = fopen(log, "r");
	char line[256];
	int n = 0;
	while (f && fgets(line, sizeof(line), f))
		n += !strncmp(line, "start ", 6);
	if (f)
		fclose(f);
	return n;
}

/* `supervise set NAME --jobs MIN-MAX` narrows a running build: from 6 jobs at
 * once to at most 2. Tokens are never taken from a client: each comes home
 * when its job ends (0.2 s here) and supervise keeps it if make does not take
 * it back first (a busy make 4.3 writes a token back and reads one again
 * within microseconds, docs/jobserver.md). When make keeps winning that race,
 * supervise pauses the newest jobs beyond the new maximum 2 s after the set
 * (NARROW_AFTER_NS in jobctl.c) and they stay paused until others end. So the
 * bound is 2.5 s after `set` returned: that 2 s and a tick of the loop
 * (usually met at 0.3-0.5 s by tokens coming home; the sanitizer pass once
 * saw 3 jobs at 1.5 s, before the pause was due). */
Test(jobserver, set_jobs_narrows_a_running_build)
{
	if (!have_program("make"))
		cr_skip_test("GNU make is not installed");
	private_cache();
	char *log = h_strf("%s/log", H.scratch);
	char *sum = h_strf("%s/s.json", H.scratch);
	char *mk = make_jobs_makefile(80, "0.2", NULL);
	struct h_proc p, s;
	h_start(&p, "--cgroup-base", H.base, "--summary-json", sum, "--name", "setjobs", "--jobs", "6", "--", "make",
		"-f", mk);
	/* The set needs the control socket, and the build must be wide first. */
	char *control = h_strf("%s/setjobs/control", H.runtime_dir);
	H_ASSERT(&p, h_wait_exists(control, H_TIMEOUT_S), "no control socket %s", control);
	for (double end = h_now() + H_TIMEOUT_S; h_now() < end && count_starts(log) < 8; h_sleep_ms(20))
		;
	h_start(&s, "set", "setjobs", "--jobs", "2-2");
	h_finish(&s, 20);
	H_ASSERT_EXIT(&s, 0);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);   /* the job log's clock (date +%s.%N) */
	double narrowed_by = now.tv_sec + now.tv_nsec / 1e9 + 2.5;
	h_finish(&p, 60);
	H_ASSERT_EXIT(&p, 0);
	struct conc c = concurrency(log, narrowed_by);
	H_ASSERT(&p, c.starts == 80, "80 jobs should have run, the log has %d", c.starts);
	H_ASSERT(&p, c.max >= 5 && c.max <= 6, "--jobs 6 before the set: 5 or 6 at once expected, saw %d", c.max);
	H_ASSERT(&p, c.last > narrowed_by + 1, "the build ended %.2f s after the deadline: too short to tell",
		 c.last - narrowed_by);
	H_ASSERT(&p, c.max_after <= 2, "set --jobs 2-2: at most 2 jobs at once from 2.5 s after, saw %d",
		 c.max_after);
	struct json_object *o = summary(sum, &p);
	H_ASSERT(&p, jint(o, "jobs", "tokens_max") == 6 && jint(o, "jobs", "tokens_min") == 2,
		 "the target should have gone from 6 to 2: %" PRId64 "..%" PRId64, jint(o, "jobs", "tokens_min"),
		 jint(o, "jobs", "tokens_max"));
	json_object_put(o);
	free(control);
	h_proc_free(&s);
	h_proc_free(&p);
}
