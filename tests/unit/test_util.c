/* util: escaping text for a terminal, writing files whole. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

Test(escape, controls_backslash_and_bad_utf8_are_escaped)
{
	char buf[ESCAPED_SIZE(32)];
	cr_expect_str_eq(escape_text("\033[2Jx\a", buf, sizeof(buf)), "\\e[2Jx\\x07");
	cr_expect_str_eq(escape_text("a\\b\n\t\x7f", buf, sizeof(buf)), "a\\\\b\\n\\t\\x7f");
	/* A lone 8-bit CSI, and the C1 CSI U+009B spelled in UTF-8. */
	cr_expect_str_eq(escape_text("\x9b" "1m", buf, sizeof(buf)), "\\x9b1m");
	cr_expect_str_eq(escape_text("\xc2\x9b" "1m", buf, sizeof(buf)), "\\xc2\\x9b1m");
	/* Overlong and truncated sequences. */
	cr_expect_str_eq(escape_text("\xc0\xaf", buf, sizeof(buf)), "\\xc0\\xaf");
	cr_expect_str_eq(escape_text("\xe2\x82", buf, sizeof(buf)), "\\xe2\\x82");
	cr_expect_str_eq(escape_text(NULL, buf, sizeof(buf)), "");
}

Test(escape, printable_utf8_passes)
{
	char buf[ESCAPED_SIZE(32)];
	cr_expect_str_eq(escape_text("café-€-𝄞 ok", buf, sizeof(buf)), "café-€-𝄞 ok");
}

Test(escape, a_cut_ends_in_dots_never_inside_an_escape)
{
	char buf[10];
	/* Fits exactly: 9 characters and the NUL. */
	cr_expect_str_eq(escape_text("abcdefghi", buf, sizeof(buf)), "abcdefghi");
	cr_expect_str_eq(escape_text("abcdefghij", buf, sizeof(buf)), "abcdef...");
	/* "ab" then \x01 (4) would end at 6, then \x02 does not fit. */
	cr_expect_str_eq(escape_text("ab\x01\x02\x03", buf, sizeof(buf)), "ab\\x01...");
	char small[3];
	cr_expect_str_eq(escape_text("abcdef", small, sizeof(small)), "");
	/* Every 16-byte comm fits its ESCAPED_SIZE buffer whole. */
	char comm[ESCAPED_SIZE(16)], raw[17];
	memset(raw, 0x1b, 16);
	raw[16] = '\0';
	escape_text(raw, comm, sizeof(comm));
	cr_expect_eq(strlen(comm), 32, "16 x \\e: %s", comm);
}

Test(write_file_atomic, replaces_a_symlink_never_follows_it)
{
	char dir[] = "/tmp/test_util-XXXXXX";
	cr_assert(mkdtemp(dir));
	char victim[64], path[64], buf[64] = "";
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(path, sizeof(path), "%s/out", dir);
	cr_assert_eq(write_file_atomic(victim, "precious", 8, 0600), 0);
	cr_assert_eq(symlink(victim, path), 0);
	cr_assert_eq(write_file_atomic(path, "new", 3, 0640), 0);
	struct stat st;
	cr_expect(lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0640);
	cr_expect_eq(read_file_at(AT_FDCWD, victim, buf, sizeof(buf)), 8);
	cr_expect_str_eq(buf, "precious");
	cr_expect_eq(read_file_at(AT_FDCWD, path, buf, sizeof(buf)), 3);
	char missing[80];
	snprintf(missing, sizeof(missing), "%s/no/such", dir);
	cr_expect_eq(write_file_atomic(missing, "x", 1, 0600), -ENOENT);
	unlink(path), unlink(victim), rmdir(dir);
}

Test(write_all, enospc_stays_enospc)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	cr_expect_eq(write_all(fd, "x", 1), -ENOSPC, "not EIO: the user must see that the disk is full");
	close(fd);
}

/* Whatever the input, the output holds no byte a terminal acts on: no C0
 * control, no DEL, and only valid UTF-8 without C1 controls. Random inputs
 * from a fixed seed, every size of buffer. */
Test(escape, random_bytes_never_leave_a_control)
{
	unsigned seed = 12345;
	for (int round = 0; round < 20000; round++) {
		unsigned char in[24];
		size_t len = (size_t)(rand_r(&seed) % (sizeof(in) - 1));
		for (size_t i = 0; i < len; i++)
			in[i] = (unsigned char)(rand_r(&seed) % 255 + 1);
		in[len] = '\0';
		char out[ESCAPED_SIZE(sizeof(in))];
		size_t size = 1 + (size_t)(rand_r(&seed) % sizeof(out));
		escape_text((const char *)in, out, size);
		size_t olen = strlen(out);
		cr_assert_lt(olen, size, "round %d: wrote past the buffer", round);
		for (const unsigned char *p = (const unsigned char *)out; *p;) {
			cr_assert(*p >= 0x20 && *p != 0x7f, "round %d: control byte 0x%02x left", round, *p);
			if (*p < 0x80) {
				p++;
				continue;
			}
			/* A multi-byte sequence: valid, and not U+0080..U+009F. */
			cr_assert(p[0] >= 0xc2 && p[0] <= 0xf4, "round %d: bad lead byte 0x%02x", round, p[0]);
			cr_assert(!(p[0] == 0xc2 && p[1] < 0xa0), "round %d: a C1 control left", round);
			size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
			for (size_t i = 1; i < n; i++)
				cr_assert((p[i] & 0xc0) == 0x80, "round %d: a cut sequence", round);
			p += n;
		}
	}
}
