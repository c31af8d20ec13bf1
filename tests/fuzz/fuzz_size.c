/* SIZE arguments (size.c): --mem, --mem-high, --job-mem, `set --mem` and the
 * mem= line of the control protocol all go through size_parse(). */
#include "fuzz.h"
#include "size.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* References a percentage can meet: nothing, a page, this host's 24 GiB,
	 * and the largest memory.max a cgroup can hold (PAGE_COUNTER_MAX pages,
	 * just under 2^63 bytes). */
	static const uint64_t refs[] = { 0, 4096, 24ull << 30, (1ull << 63) - 4096 };
	char *s = fuzz_str(data, size);
	struct size_arg a = { 0 };
	char buf[32];

	if (size_parse(s, &a) == 0) {
		if (a.is_percent) {
			FUZZ_CHECK(a.percent > 0 && a.percent <= 100);
		} else {
			/* size.c promises below 2^63 so later sums cannot wrap. */
			FUZZ_CHECK(a.bytes >= 1 && a.bytes < (1ull << 63));
		}
		for (size_t i = 0; i < ELEMENTSOF(refs); i++) {
			uint64_t b = size_resolve(&a, refs[i]);
			if (a.is_percent)
				FUZZ_CHECK(b <= refs[i]);
			format_bytes(b, buf, sizeof(buf));
		}
	}
	free(s);
	return 0;
}
