/* The procfs backend's parsers (monitor-procfs.c): the text of
 * /proc/PID/status and /proc/PID/maps of a workload process. The workload
 * chooses its Name: line (prctl(PR_SET_NAME), or the name of the file it
 * execs) and the names of its mappings (the files it maps), so both are
 * input supervise does not control.
 *
 * sample_pid() and count_maps() are static and read /proc by path, so this
 * target includes monitor-procfs.c and hands it the input instead of
 * /proc: read_file_at() of ".../status" returns the input up to its first
 * NUL, open() of ".../maps" returns a memfd holding the rest. Nothing in
 * monitor-procfs.c is changed for this. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "util.h"

static const char *fake_status, *fake_maps;
static size_t fake_maps_len;

static int fuzz_read_file_at(int dirfd, const char *path, char *buf, size_t size)
{
	size_t len = strlen(path);
	if (len < 7 || strcmp(path + len - 7, "/status"))
		return read_file_at(dirfd, path, buf, size);
	/* As read_file_at: at most size - 1 bytes, NUL-terminated. */
	size_t n = strlen(fake_status);
	if (n > size - 1)
		n = size - 1;
	memcpy(buf, fake_status, n);
	buf[n] = '\0';
	return (int)n;
}

static int fuzz_open(const char *path, int flags, ...)
{
	size_t len = strlen(path);
	if (len < 5 || strcmp(path + len - 5, "/maps"))
		return openat(AT_FDCWD, path, flags);
	int fd = memfd_create("maps", MFD_CLOEXEC);
	if (fd < 0 || write(fd, fake_maps, fake_maps_len) != (ssize_t)fake_maps_len)
		abort();
	lseek(fd, 0, SEEK_SET);
	return fd;
}

#define read_file_at fuzz_read_file_at
#define open(...) fuzz_open(__VA_ARGS__)
#include "../../supervisor/monitor-procfs.c"
#undef open
#undef read_file_at

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

/* The value of the line that starts with key, as the kernel writes it
 * ("VmRSS:\t    1234 kB": kB counts 1024, no unit counts 1); 0 when there
 * is none. What matters is where it comes from: that line and no other. */
static uint64_t anchored_kb(const char *text, const char *key)
{
	size_t klen = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, key, klen)) {
			char *end;
			uint64_t n = strtoull(l + klen, &end, 10);
			if (end == l + klen)
				return 0;
			end += strspn(end, " \t");
			return strncmp(end, "kB", 2) == 0 ? n * 1024 : n;
		}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct procfs_monitor s;
	struct pentry e;
	const char *rest;
	size_t rest_len;
	char *status = fuzz_split(data, size, &rest, &rest_len);

	if (!s.buf) {
		s.buf_size = 256 * 1024;
		s.buf = malloc(s.buf_size);
	}
	fake_status = status;
	fake_maps = rest;
	fake_maps_len = rest_len;
	/* Our own pid: its /proc/PID/stat is real and readable. */
	if (sample_pid(&s, (uint32_t)getpid(), &e) == 0) {
		FUZZ_CHECK(memchr(e.p.comm, '\0', sizeof(e.p.comm)));
		/* Each figure is the one on its own line: a Name: (or any
		 * other line) that holds "VmRSS:" must not stand in for it
		 * (issue 9 item 8: a process renamed "VmRSS:0" escaped --mem). */
		FUZZ_CHECK(e.p.rss_bytes == anchored_kb(status, "VmRSS:"));
		FUZZ_CHECK(e.p.peak_rss_bytes == anchored_kb(status, "VmHWM:"));
		FUZZ_CHECK(e.p.rss_anon_bytes == anchored_kb(status, "RssAnon:"));
		size_t lines = 0;
		for (size_t i = 0; i < rest_len; i++)
			lines += rest[i] == '\n';
		FUZZ_CHECK(e.p.map_count == lines || e.p.map_count + 1 == lines);
	}
	free(status);
	return 0;
}
