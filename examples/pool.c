/* pool: a thread pool that sizes itself from supervise's live advice page.
 *
 *     supervise --name pool --cpus 2 -- build/examples/pool
 *     supervise set pool --cpus 1        # from another shell: the pool shrinks
 *
 * It starts as many workers as the page advises, then sleeps in
 * sv_advice_wait() (a futex: no polling) and grows or shrinks the pool at
 * each update. Every resize prints one line:
 *
 *     pool: generation 7: advised 1 threads, 1 workers running (budget 1.0 GiB, usage 3 MiB)
 *
 * Options: --duration SECONDS (default: until SIGINT/SIGTERM or supervise ends).
 * Without SUPERVISE_ADVICE it runs one worker per CPU and says so.
 *
 * Build: cc pool.c $(pkg-config --cflags --libs supervise-advice) -pthread */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <supervise/advice.h>

#define MAX_WORKERS 256

static atomic_uint target;          /* workers with index >= target stop */
static atomic_uint running;         /* workers running now */
static atomic_ullong work_done;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void *worker(void *arg)
{
	unsigned idx = (unsigned)(uintptr_t)arg;
	volatile double x = 1.0;

	atomic_fetch_add(&running, 1);
	while (idx < atomic_load(&target)) {
		/* About a millisecond of work, then look at the target again. */
		for (int i = 0; i < 200000; i++)
			x = x * 1.0000001 + 1e-9;
		atomic_fetch_add(&work_done, 1);
	}
	atomic_fetch_sub(&running, 1);
	return NULL;
}

struct pool {
	pthread_t t[MAX_WORKERS];
	unsigned n;
};

static void resize(struct pool *p, unsigned want)
{
	if (want > MAX_WORKERS)
		want = MAX_WORKERS;
	if (want < 1)
		want = 1;
	atomic_store(&target, want);
	while (p->n > want)
		pthread_join(p->t[--p->n], NULL);   /* returns within one work chunk */
	while (p->n < want) {
		if (pthread_create(&p->t[p->n], NULL, worker, (void *)(uintptr_t)p->n) != 0)
			break;
		p->n++;
	}
	/* Report what runs, not what was asked: wait for new workers to start. */
	for (int i = 0; i < 1000 && atomic_load(&running) != p->n; i++)
		usleep(1000);
}

static double mib(uint64_t b)
{
	return b / 1048576.0;
}

int main(int argc, char **argv)
{
	double duration = -1;
	struct pool p = { .n = 0 };
	sv_advice_handle *h = NULL;
	struct sv_advice a;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--duration") && i + 1 < argc)
			duration = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: pool [--duration SECONDS]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	int r = sv_advice_open(NULL, &h);
	if (r < 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		fprintf(stderr, "pool: no advice page (%s): running %ld workers, one per CPU\n", strerror(-r), n);
		resize(&p, n > 0 ? (unsigned)n : 1);
		sleep(duration > 0 ? (unsigned)duration : 1);
		atomic_store(&target, 0);
		while (p.n)
			pthread_join(p.t[--p.n], NULL);
		return 0;
	}

	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sv_advice_read(h, &a);
	unsigned advised = 0;
	while (!stop) {
		if (a.threads != advised) {
			advised = a.threads;
			resize(&p, advised);
			printf("pool: generation %llu: advised %u threads, %u workers running (budget %.1f MiB, "
			       "usage %.1f MiB)\n", (unsigned long long)a.generation, a.threads, atomic_load(&running),
			       mib(a.budget_bytes), mib(a.usage_bytes));
		}
		if (a.flags & SV_ADVICE_ENDED)
			break;
		int wait_ms = 1000;
		if (duration > 0) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			double left = duration - ((now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9);
			if (left <= 0)
				break;
			if (left * 1000 < wait_ms)
				wait_ms = (int)(left * 1000) + 1;
		}
		r = sv_advice_wait(h, a.generation, wait_ms);
		if (r < 0) {
			fprintf(stderr, "pool: waiting for advice failed: %s\n", strerror(-r));
			break;
		}
		if (r > 0)
			sv_advice_read(h, &a);
	}
	atomic_store(&target, 0);
	while (p.n)
		pthread_join(p.t[--p.n], NULL);
	printf("pool: done, %llu work units\n", (unsigned long long)atomic_load(&work_done));
	sv_advice_close(h);
	return 0;
}
