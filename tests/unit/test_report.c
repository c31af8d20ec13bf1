/* report_render on logs written by hand: the page's charts hold drawn paths,
 * a hostile process name is escaped, lines that are not events are counted
 * and left out, and a file with no event at all is refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static char *render(const char *log, int *ret)
{
	FILE *in = fmemopen((void *)log, strlen(log), "r");
	char *page = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&page, &len);
	cr_assert(in && out);
	*ret = report_render(in, "test.jsonl", out);
	fclose(in);
	fclose(out);
	return page;
}

#define START "{\"event\":\"start\",\"version\":1,\"mono\":100.0,\"wall\":1.7e9,\"name\":\"b<1>\",\"command\":[\"make\"],\"backend\":\"bpf\"}\n"
#define SAMPLE(t, rss, comm) \
	"{\"event\":\"sample\",\"version\":1,\"mono\":" t ",\"wall\":1.7e9,\"rss_bytes\":" rss ",\"budget_bytes\":1073741824," \
	"\"tokens\":{\"target\":3,\"in_use\":2,\"available\":1},\"top\":[{\"pid\":7,\"comm\":\"" comm "\",\"rss_bytes\":1,\"map_count\":40}]}\n"

Test(report, charts_and_escaping)
{
	int r;
	char *page = render(START SAMPLE("101.0", "1000000", "cc1")
			    "{\"event\":\"pause\",\"version\":1,\"mono\":102.0,\"wall\":1.7e9,\"count\":1,\"rss_bytes\":9000000}\n"
			    "not json at all\n"
			    SAMPLE("104.0", "5000000", "<script>alert(1)</script>")
			    "{\"event\":\"exit\",\"version\":1,\"mono\":105.0,\"wall\":1.7e9,\"exit_status\":0,\"summary\":{\"top\":"
			    "[{\"pid\":7,\"comm\":\"a&b\",\"peak_rss_bytes\":1048576,\"peak_map_count\":40}]}}\n", &r);
	cr_assert_eq(r, 0);
	cr_expect(strstr(page, "<title>supervise report: b&lt;1&gt;</title>"), "%s", page);
	cr_expect(!strstr(page, "<script>"), "a process name reached the page unescaped");
	cr_expect(strstr(page, "&lt;script&gt;"), "%s", page);
	cr_expect(strstr(page, "a&amp;b"), "%s", page);
	cr_expect(strstr(page, "1 line could not be read"), "%s", page);
	cr_expect(strstr(page, "class=\"mark pause\""), "the pause is marked: %s", page);
	/* memory, tokens, maps: each with a drawn series. */
	int charts = 0, drawn = 0;
	for (const char *p = page; (p = strstr(p, "<svg")); p++)
		charts++;
	for (const char *p = page; (p = strstr(p, "class=\"series\"")); p++)
		drawn += strncmp(strstr(p, " d=\"") + 4, "M", 1) == 0;
	cr_expect_eq(charts, 3, "%s", page);
	cr_expect_geq(drawn, 4, "%s", page);
	free(page);
}

Test(report, refuses_a_file_without_events)
{
	int r;
	char *page = render("hello\n{\"a\":1}\n", &r);
	cr_expect_eq(r, -EBADMSG);
	free(page);
}
