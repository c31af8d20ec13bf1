/* The footprint cache (footprint.c): "COMM EWMA_BYTES MAX_BYTES COUNT" lines
 * in a file under $SUPERVISE_CACHE_DIR or ~/.cache, which another user or an
 * old version may have written. The table is loaded, then used as a build
 * uses it: each command's expected peak is asked for and new exit peaks are
 * learned (the largest the file claims, and 1 byte), then it is saved and
 * loaded again. */
#include "footprint.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct footprints t, back;
	static char text[FOOTPRINT_MAX * 80 + 128];
	char *s = fuzz_str(data, size);

	footprint_parse(&t, s);
	free(s);
	FUZZ_CHECK(t.n <= FOOTPRINT_MAX);
	size_t n = t.n;
	for (size_t i = 0; i < n; i++) {
		char comm[FOOTPRINT_COMM_LEN];
		memcpy(comm, t.e[i].comm, sizeof(comm));
		FUZZ_CHECK(memchr(comm, '\0', sizeof(comm)));
		uint64_t before = footprint_expected(&t, comm), max = t.e[i].max_bytes;
		FUZZ_CHECK(before >= t.e[i].ewma_bytes / 2 && before <= max);
		footprint_learn(&t, comm, max);
		footprint_learn(&t, comm, 1);
		FUZZ_CHECK(t.e[i].ewma_bytes >= 1 && t.e[i].max_bytes >= t.e[i].ewma_bytes);
	}
	FUZZ_CHECK(t.n == n);

	/* What is saved loads back whole: no entry is lost on the way. */
	int len = footprint_format(&t, text, sizeof(text));
	FUZZ_CHECK(len > 0);
	footprint_parse(&back, text);
	FUZZ_CHECK(back.n == t.n);
	return 0;
}
