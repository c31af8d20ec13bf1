/* The footprint cache (footprint.c): "COMM MEAN MAX COUNT BUCKET:N..." and
 * "=ID PEAK RAMP_MS COUNT COMM [DUR_MS]" lines (and the first format's
 * "COMM EWMA MAX COUNT") in a file under $SUPERVISE_CACHE_DIR or ~/.cache,
 * which another user or an old version may have written. The table is
 * loaded, then used as a build uses it: each command's expected peak is asked
 * for and new exit peaks are learned (the largest the file claims, and 1
 * byte), then it is saved and loaded again. */
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
	static char text[1 << 21];
	char *s = fuzz_str(data, size);

	footprint_parse(&t, s);
	free(s);
	FUZZ_CHECK(t.nr_cmd <= FOOTPRINT_MAX_CMDS && t.nr_ids <= FOOTPRINT_MAX_IDS);
	size_t n = t.nr_cmd;
	for (size_t i = 0; i < n; i++) {
		char comm[FOOTPRINT_COMM_LEN];
		memcpy(comm, t.cmd[i].comm, sizeof(comm));
		FUZZ_CHECK(memchr(comm, '\0', sizeof(comm)));
		/* Clamped on load: no figure a sum could wrap on. */
		uint64_t before = footprint_expected(&t, comm), max = t.cmd[i].max_bytes;
		FUZZ_CHECK(max <= FOOTPRINT_MAX_BYTES && before <= max && t.cmd[i].count <= FOOTPRINT_HIST_CAP);
		footprint_learn(&t, comm, max);
		footprint_learn(&t, comm, 1);
		FUZZ_CHECK(t.cmd[i].mean_bytes >= 1 && t.cmd[i].max_bytes >= t.cmd[i].mean_bytes &&
			   t.cmd[i].count <= FOOTPRINT_HIST_CAP);
	}
	FUZZ_CHECK(t.nr_cmd == n);
	for (size_t i = 0; i < t.nr_ids; i++)
		FUZZ_CHECK(t.ids[i].peak_bytes <= FOOTPRINT_MAX_BYTES && t.ids[i].id);

	/* What is saved loads back whole: no entry is lost on the way. */
	int len = footprint_format(&t, text, sizeof(text));
	FUZZ_CHECK(len > 0);
	footprint_parse(&back, text);
	FUZZ_CHECK(back.nr_cmd == t.nr_cmd && back.nr_ids == t.nr_ids);
	return 0;
}
